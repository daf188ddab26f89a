//go:build !wasip1

package guest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"parigot.dev/parigot/runtime/internal/hostlink"
)

// envExportChild makes the test binary a native guest that exports a
// service and serves it: TestExportWithoutAHost runs it so.
const envExportChild = "PARIGOT_TEST_EXPORT_CHILD"

// TestExportWithoutAHost runs a native service guest as parigot's
// debugger support would, and as a unit test would: a guest whose host
// went away (parigot run --debug interrupted while the guest waited in
// Delve, which let it run on) ends without a word, while one that never
// ran under a host is told so.
func TestExportWithoutAHost(t *testing.T) {
	if os.Getenv(envExportChild) != "" {
		Export("stock.v1.Stock", nil, nil)
		Run()
		return
	}
	gone := filepath.Join(t.TempDir(), "host.sock") // the host removed it as it ended
	tests := []struct {
		name   string
		env    []string
		code   int
		stderr string
	}{
		{"a guest whose host went away ends quietly", []string{hostlink.EnvSocket + "=" + gone}, 0, ""},
		{"a guest never run by a host is told so", []string{hostlink.EnvSocket + "="}, 1,
			"parigot: cannot export stock.v1.Stock: not running under a parigot host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestExportWithoutAHost$")
			cmd.Env = append(append(os.Environ(), envExportChild+"=1"), tt.env...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			if tt.stderr == "" && stderr.Len() != 0 {
				t.Errorf("stderr says:\n%s\nwant nothing", stderr.String())
			}
			if tt.stderr != "" && !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr says:\n%s\nwant %q", stderr.String(), tt.stderr)
			}
		})
	}
}
