package diag

import (
	"bytes"
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
