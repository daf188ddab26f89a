package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"

	"parigot.dev/parigot/builder"
	"parigot.dev/parigot/internal/diag"
)

// bufFinding is one line of buf's --error-format=json: a lint rule or a
// breaking-change rule a .proto file does not keep.
type bufFinding struct {
	Path        string `json:"path"`
	StartLine   int    `json:"start_line"`
	StartColumn int    `json:"start_column"`
	EndLine     int    `json:"end_line"`
	EndColumn   int    `json:"end_column"`
	Type        string `json:"type"`
	Message     string `json:"message"`
}

// bufDiagnostics reads buf's findings (out, one JSON object a line) as
// diagnostics of the app's files, so that parigot check shows them as
// every other mistake in a .proto is shown: file:line:col, the line, the
// rule and what to do. dir is where buf ran, relative to the app (its
// paths are relative to it); appDir the app's directory, which the source
// lines are read from; detail says what to do about a rule. Lines that
// are not findings (none are expected) are returned as they came.
func bufDiagnostics(out []byte, dir, appDir string, detail func(rule string) string) (hcl.Diagnostics, diag.Sources, []byte) {
	var diags hcl.Diagnostics
	src := diag.Sources{}
	var rest bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var f bufFinding
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil || f.Message == "" {
			rest.Write(sc.Bytes())
			rest.WriteByte('\n')
			continue
		}
		d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: f.Message, Detail: detail(f.Type)}
		if f.Path != "" && f.StartLine > 0 {
			name := filepath.ToSlash(filepath.Join(dir, filepath.FromSlash(f.Path)))
			if _, ok := src[name]; !ok {
				if b, err := os.ReadFile(filepath.Join(appDir, filepath.FromSlash(name))); err == nil {
					src.Add(name, b)
				}
			}
			end := hcl.Pos{Line: max(f.EndLine, f.StartLine), Column: max(f.EndColumn, f.StartColumn)}
			d.Subject = &hcl.Range{Filename: name, Start: hcl.Pos{Line: f.StartLine, Column: max(f.StartColumn, 1)}, End: end}
		}
		diags = append(diags, d)
	}
	return diags, src, rest.Bytes()
}

// notCompiled is what to do about a .proto buf cannot compile: a finding
// of no rule, or of buf's COMPILE, which is not a rule a buf.yaml can
// leave out.
const notCompiled = "buf cannot compile the .proto here; fix it at the marked place (parigot build says the same)."

// compileFailure says whether a finding of rule is buf failing to compile.
func compileFailure(rule string) bool { return rule == "" || rule == "COMPILE" }

// lintDetail is what to do about a buf lint rule.
func lintDetail(ws workspace) func(string) string {
	return func(rule string) string {
		if compileFailure(rule) {
			return notCompiled
		}
		where := `give the proto block a buf.yaml (buf = "buf.yaml") whose lint section leaves it out`
		if ws.buf != "" {
			where = "leave it out in " + filepath.ToSlash(filepath.Join(ws.buf, "buf.yaml"))
		}
		return fmt.Sprintf("buf lint's rule %s (https://buf.build/docs/lint/rules). Change the .proto to follow it, or %s (lint: except: [%s]).", rule, where, rule)
	}
}

// breakingDetail is what to do about a buf breaking rule, against ref.
func breakingDetail(ref string) func(string) string {
	return func(rule string) string {
		if compileFailure(rule) {
			return notCompiled
		}
		return fmt.Sprintf("buf breaking's rule %s (https://buf.build/docs/breaking/rules): callers built from %s would misread this. Keep the old definition and add a new one beside it (a new field number, a new method), or make the change in a new package version.", rule, ref)
	}
}

// writeBufFindings renders buf's JSON findings out to stderr as
// diagnostics; anything else buf wrote to its stdout goes to stdout.
func writeBufFindings(out []byte, ws workspace, appDir string, detail func(string) string, stdout, stderr io.Writer) {
	diags, src, rest := bufDiagnostics(out, ws.buf, appDir, detail)
	if len(diags) > 0 {
		report(&builder.DiagnosticsError{Diags: diags, Sources: src}, stderr)
	}
	stdout.Write(rest)
}
