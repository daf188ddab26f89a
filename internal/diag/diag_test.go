package diag

import (
	"bytes"
	"strings"
	"testing"

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
