//go:build !wasip1

package bookstore_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"parigot.dev/parigot/internal/testtool"
	"parigot.dev/parigot/runtime/apptest"
)

// TestGatewayDocRuns runs every call docs/GATEWAY.md shows (the fenced
// blocks whose first line is "$ curl", "$ grpcurl" or "$ buf"), in the
// doc's order, against a freshly started bookstore, and checks that each
// prints exactly what the doc says. The doc's address, 127.0.0.1:8080, is
// the test gateway's.
func TestGatewayDocRuns(t *testing.T) {
	doc, err := os.ReadFile("../../docs/GATEWAY.md")
	if err != nil {
		t.Fatal(err)
	}
	type example struct{ command, output string }
	var examples []example
	for _, block := range strings.Split(string(doc), "```\n")[1:] {
		cmd, out, _ := strings.Cut(block, "\n")
		for _, client := range []string{"$ curl ", "$ grpcurl ", "$ buf "} {
			if strings.HasPrefix(cmd, client) {
				examples = append(examples, example{strings.TrimPrefix(cmd, "$ "), out})
			}
		}
	}
	if len(examples) < 8 {
		t.Fatalf("docs/GATEWAY.md shows %d calls; the test expects curl, grpcurl and buf curl examples", len(examples))
	}
	testtool.Find(t, "curl", "apt-get install curl")
	testtool.Find(t, "grpcurl", testtool.Grpcurl)
	testtool.Find(t, "buf", testtool.Buf)

	app := apptest.Start(t, ".", apptest.Single)
	addr := strings.TrimPrefix(app.Gateway(t, "public"), "http://")
	for _, ex := range examples {
		command := strings.ReplaceAll(ex.command, "127.0.0.1:8080", addr)
		cmd := exec.CommandContext(t.Context(), "sh", "-c", command)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		got, err := cmd.Output()
		if err != nil {
			t.Errorf("%s: %v\n%s", ex.command, err, stderr.String())
			continue
		}
		if !sameOutput(string(got), ex.output) {
			t.Errorf("docs/GATEWAY.md shows\n$ %s\n%s\nbut it prints\n%s", ex.command, ex.output, got)
		}
	}
}

// sameOutput reports whether a command printed what the doc shows: the same
// text, or, for a line of JSON, the same JSON. protojson, which writes the
// gateway's JSON, varies its spacing from one build to the next on purpose
// (so that no one compares its bytes); the doc shows it compact.
func sameOutput(got, want string) bool {
	got, want = strings.TrimSuffix(got, "\n"), strings.TrimSuffix(want, "\n")
	if got == want {
		return true
	}
	var g, w bytes.Buffer
	return json.Compact(&g, []byte(got)) == nil && json.Compact(&w, []byte(want)) == nil && g.String() == w.String()
}
