package diag

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

func TestADiagnosticShowsPositionSourceAndWhatToDo(t *testing.T) {
	src := Sources{"app/parigot.hcl": []byte("program \"hello\" {\n  requires = [service.greting]\n}\n")}
	d := Errorf(hcl.Range{Filename: "app/parigot.hcl",
		Start: hcl.Pos{Line: 2, Column: 15}, End: hcl.Pos{Line: 2, Column: 30}},
		"Reference to undeclared service", "No service named \"greting\" is declared. Did you mean service.greeting?")
	var out bytes.Buffer
	if err := Write(&out, hcl.Diagnostics{d}, src, 0, false); err != nil {
		t.Fatal(err)
	}
	want := `Error: Reference to undeclared service

  on app/parigot.hcl:2:15
  2:   requires = [service.greting]
                   ^^^^^^^^^^^^^^^

No service named "greting" is declared. Did you mean service.greeting?
`
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestADiagnosticWithoutSourceStillSaysWhere(t *testing.T) {
	d := Errorf(hcl.Range{Filename: "x.proto", Start: hcl.Pos{Line: 3, Column: 1}, End: hcl.Pos{Line: 3, Column: 2}}, "Bad", "")
	var out bytes.Buffer
	Write(&out, hcl.Diagnostics{d}, nil, 0, false)
	if want := "Error: Bad\n\n  on x.proto:3:1\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestWriteShowsTheFirstDiagnosticsAndCountsTheRest(t *testing.T) {
	at := hcl.Range{Filename: "p.hcl", Start: hcl.Pos{Line: 1, Column: 1}, End: hcl.Pos{Line: 1, Column: 2}}
	errs := func(n int) hcl.Diagnostics {
		var ds hcl.Diagnostics
		for range n {
			ds = append(ds, Errorf(at, "Bad", ""))
		}
		return ds
	}
	warning := &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Odd", Subject: &at}
	for _, c := range []struct {
		name  string
		diags hcl.Diagnostics
		last  string // the last line written
	}{
		{"exactly MaxShown errors are all shown", errs(MaxShown), "  on p.hcl:1:1"},
		{"one error more than MaxShown is counted in the singular", errs(MaxShown + 1),
			"...and 1 more error, not shown; fix the ones above first."},
		{"a hundred thousand errors are counted, not shown", errs(100_000),
			"...and 99980 more errors, not shown; fix the ones above first."},
		{"errors and warnings left out are counted apart", append(errs(MaxShown+2), warning, warning),
			"...and 2 more errors and 2 more warnings, not shown; fix the ones above first."},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := Write(&out, c.diags, nil, 0, false); err != nil {
				t.Fatal(err)
			}
			text := out.String()
			if n := strings.Count(text, "Error: Bad\n"); n != min(len(c.diags), MaxShown) {
				t.Errorf("%d diagnostics shown, want %d", n, min(len(c.diags), MaxShown))
			}
			if !strings.HasSuffix(text, "\n"+c.last+"\n") {
				t.Errorf("output ends with\n%s\nwant it to end with\n%s", text[max(0, len(text)-200):], c.last)
			}
		})
	}
}

func TestALongSourceLineIsCutAroundTheRange(t *testing.T) {
	long := strings.Repeat("x", 300) + `"bad"` + strings.Repeat("y", 300)
	src := Sources{"p.hcl": []byte("a = 1\n" + long + "\n")}
	at := hcl.Range{Filename: "p.hcl", Start: hcl.Pos{Line: 2, Column: 301}, End: hcl.Pos{Line: 2, Column: 306}}
	var out bytes.Buffer
	Write(&out, hcl.Diagnostics{Errorf(at, "Bad", "")}, src, 0, false)
	want := "Error: Bad\n\n  on p.hcl:2:301\n" +
		"  2: ..." + strings.Repeat("x", 40) + `"bad"` + strings.Repeat("y", 115) + "...\n" +
		"     " + strings.Repeat(" ", 43) + "^^^^^\n"
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

// The underline is placed by the range's byte offsets, and as wide as what
// the terminal shows: wide characters take two cells, combining marks none,
// a tab stays a tab.
func TestTheUnderlineLinesUpUnderAnyText(t *testing.T) {
	for _, c := range []struct {
		name, line, mark string
		want             string // the underline, after the line's prefix
	}{
		{"accented letters before the range", `requires = ["ééééé", service.x]`, "service.x", strings.Repeat(" ", 21) + "^^^^^^^^^"},
		{"a tab after accented letters", "requires = [\"ééééé\",\tservice.x]", "service.x", strings.Repeat(" ", 20) + "\t^^^^^^^^^"},
		{"a combining mark", "name = \"e\u0301\" bad", "bad", strings.Repeat(" ", 11) + "^^^"},
		{"wide characters", `name = "日本" bad`, "bad", strings.Repeat(" ", 14) + "^^^"},
		{"wide characters marked", `name = "日本" bad`, "日本", strings.Repeat(" ", 8) + "^^^^"},
		// An emoji with a skin tone, and a family joined of three (ZWJ),
		// each shown in the two cells of one emoji.
		{"an emoji with a modifier", "name = \"\U0001F44D\U0001F3FD\" bad", "bad", strings.Repeat(" ", 12) + "^^^"},
		{"emoji joined into one", "name = \"\U0001F468\u200D\U0001F469\u200D\U0001F467\" bad", "bad", strings.Repeat(" ", 12) + "^^^"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := "x = 1\n" + c.line + "\n"
			off := strings.Index(src, c.mark)
			at := hcl.Range{Filename: "p.hcl",
				Start: hcl.Pos{Line: 2, Column: 99, Byte: off}, // a column that bytes must override
				End:   hcl.Pos{Line: 2, Column: 99, Byte: off + len(c.mark)}}
			var out bytes.Buffer
			Write(&out, hcl.Diagnostics{Errorf(at, "Bad", "")}, Sources{"p.hcl": []byte(src)}, 0, false)
			lines := strings.Split(out.String(), "\n")
			if len(lines) < 5 || lines[3] != "  2: "+c.line || lines[4] != "     "+c.want {
				t.Errorf("got:\n%s\nwant the line, then:\n     %s", out.String(), c.want)
			}
		})
	}
}

func TestALongLineWithWideTextIsCutAroundTheRange(t *testing.T) {
	long := "requires = [" + strings.Repeat(`"é",`, 100) + " service.x]"
	off := strings.Index(long, "service.x")
	at := hcl.Range{Filename: "p.hcl", Start: hcl.Pos{Line: 1, Column: 1, Byte: off}, End: hcl.Pos{Line: 1, Column: 1, Byte: off + 9}}
	var out bytes.Buffer
	Write(&out, hcl.Diagnostics{Errorf(at, "Bad", "")}, Sources{"p.hcl": []byte(long)}, 0, false)
	lines := strings.Split(out.String(), "\n")
	shown, under := lines[3], lines[4]
	i := strings.Index(shown, "service.x")
	if i < 0 {
		t.Fatalf("the marked text is not shown:\n%s", out.String())
	}
	if got, want := len(under)-9, utf8.RuneCountInString(shown[:i]); !strings.HasSuffix(under, "^^^^^^^^^") || got != want {
		t.Errorf("underline starts at cell %d, want %d:\n%s", got, want, out.String())
	}
}

// Control characters in a source line are not written to the terminal,
// where they could move the cursor or change colours.
func TestControlCharactersInASourceLineAreNotWritten(t *testing.T) {
	src := Sources{"p.hcl": []byte("a = \"\x1b[2J\x00\" bad\n")}
	at := hcl.Range{Filename: "p.hcl", Start: hcl.Pos{Line: 1, Column: 13, Byte: 12}, End: hcl.Pos{Line: 1, Column: 16, Byte: 15}}
	var out bytes.Buffer
	Write(&out, hcl.Diagnostics{Errorf(at, "Bad", "")}, src, 0, false)
	if strings.ContainsAny(out.String(), "\x1b\x00") {
		t.Errorf("control characters written: %q", out.String())
	}
	if !strings.Contains(out.String(), "\ufffd[2J\ufffd\" bad\n") || !strings.Contains(out.String(), "       ^^^\n") {
		t.Errorf("got %q", out.String())
	}
}

func TestAnIndentedLineOfTheDetailIsShownAsItIs(t *testing.T) {
	d := Errorf(hcl.Range{Filename: "a.proto", Start: hcl.Pos{Line: 1, Column: 1}}, "Bad",
		"Write\n    option go_package = \"example.com/app/gen/a/v1;av1\";\nor remove the option.")
	var out bytes.Buffer
	Write(&out, hcl.Diagnostics{d}, nil, 0, false)
	if want := "\nWrite\n    option go_package = \"example.com/app/gen/a/v1;av1\";\nor remove the option.\n"; !strings.HasSuffix(out.String(), want) {
		t.Errorf("got:\n%s\nwant it to end with:\n%s", out.String(), want)
	}
}
