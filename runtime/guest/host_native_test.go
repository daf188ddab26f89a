//go:build !wasip1

package guest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"parigot.dev/parigot/runtime/internal/abi"
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

// envOldHostChild makes the test binary a native guest that opens the
// store kv: TestAGuestOpensAStoreOnAHostFromBeforeValueTypes runs it so.
const envOldHostChild = "PARIGOT_TEST_OLD_HOST_CHILD"

// A host from before abi.OpenWithValue refuses the flagged kind as an
// unknown one: the guest opens the store again without it, and checks no
// type, which that host cannot say.
func TestAGuestOpensAStoreOnAHostFromBeforeValueTypes(t *testing.T) {
	if os.Getenv(envOldHostChild) != "" {
		s, err := OpenStore("kv")
		if err != nil {
			fmt.Println("open kv:", err)
			return
		}
		fmt.Printf("handle %d, value %q\n", s.handle, s.value)
		return
	}
	sock := filepath.Join(t.TempDir(), "host.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	kinds := make(chan uint64, 4)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		for {
			req, err := hostlink.ReadRequest(r)
			if err != nil || req.Op != hostlink.OpOpen {
				return
			}
			kinds <- req.A
			resp := hostlink.Response{Status: abi.StatusBadArgument}
			if uint32(req.A) == abi.OpenStore { // all the kinds it knew
				resp = hostlink.Response{Status: abi.StatusOK, Value: 5}
			}
			if hostlink.WriteResponse(conn, resp) != nil {
				return
			}
		}
	}()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAGuestOpensAStoreOnAHostFromBeforeValueTypes$")
	cmd.Env = append(os.Environ(), envOldHostChild+"=1", hostlink.EnvSocket+"="+sock)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the guest: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `handle 5, value ""`) {
		t.Errorf("the guest says:\n%s\nwant handle 5 and no value", out)
	}
	close(kinds)
	var got []uint64
	for k := range kinds {
		got = append(got, k)
	}
	if want := []uint64{uint64(abi.OpenStore | abi.OpenWithValue), uint64(abi.OpenStore)}; !slices.Equal(got, want) {
		t.Errorf("the host was asked kinds %#x, want %#x", got, want)
	}
}
