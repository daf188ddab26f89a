// Package testtool finds the outside clients that tests drive (curl,
// grpcurl, buf): on PATH, or the test is skipped saying how to install
// it. CI installs every one of them (.ci/run) and sets
// PARIGOT_REQUIRE_TOOLS, under which a missing one fails the test instead.
// It is for tests only.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// How to install the clients whose versions the tests expect.
const (
	Grpcurl = "go install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.3"
	Buf     = "go install github.com/bufbuild/buf/cmd/buf@v1.75.0"
)

// Find is the path of the client name, or skips t (fails it under
// PARIGOT_REQUIRE_TOOLS) saying install, how to install it.
func Find(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("PARIGOT_REQUIRE_TOOLS") != "" {
			t.Fatalf("%s is not on PATH, and PARIGOT_REQUIRE_TOOLS is set: %s", name, install)
		}
		t.Skipf("%s is not on PATH: %s", name, install)
	}
	return p
}
