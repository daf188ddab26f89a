package host

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// trapModule is a guest whose _start executes the wasm instruction
// unreachable: a trap, as a miscompiled or hostile guest could cause.
var trapModule = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
	0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: func() -> ()
	0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
	0x07, 0x0a, 0x01, 0x06, '_', 's', 't', 'a', 'r', 't', 0x00, 0x00, // export "_start"
	0x0a, 0x05, 0x01, 0x03, 0x00, 0x00, 0x0b, // code: unreachable, end
}

// runProgramOf runs wasm as the one program of an app, named name, and
// returns what Run does and what the run printed.
func runProgramOf(t *testing.T, name string, wasm []byte) (Result, string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".wasm")
	if err := os.WriteFile(path, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res, err := Run(context.Background(), Config{
		Guests: []*GuestSpec{{Name: name, Kind: Program, Wasm: path}},
		Stdout: &out, Stderr: &out, CacheDir: t.TempDir(),
	})
	return res, out.String(), err
}

func TestATrappingGuestIsNamedWithItsWasmStack(t *testing.T) {
	res, out, err := runProgramOf(t, "trapper", trapModule)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.ExitCode == 0 {
		t.Errorf("a trapped program ended with exit code 0")
	}
	if len(res.Failures) != 1 || !strings.Contains(res.Failures[0].String(), "program trapper trapped in function _start: wasm error: unreachable") {
		t.Errorf("failures = %q, want the trap named with the guest", res.Failures)
	}
	if !strings.Contains(out, "trapper | wasm stack trace:") {
		t.Errorf("the guest's wasm stack is not shown:\n%s", out)
	}
}

func TestAMalformedGuestIsRefusedAndTheHostGoesOn(t *testing.T) {
	for _, c := range []struct {
		name string
		wasm []byte
		want string
	}{
		// A function whose type does not exist: wazero v1.12's compiler
		// panics on it.
		{"a function of a type that does not exist", []byte{
			0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x03,
			0x02, 0x00, 0x05, 0x0a, 0x09, 0x02, 0x04, 0x00, 0x10, 0x01, 0x0b, 0x02, 0x00, 0x0b,
		}, "program broken"},
		// A data section claiming 2^31 segments in a few bytes: an engine
		// would try to make room for them all.
		{"a vector far longer than its bytes", []byte{
			0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x0b, 0x05, 0x80, 0x80, 0x80, 0x80, 0x08,
		}, "is not a valid wasm module"},
		{"not wasm at all", []byte("#!/bin/sh\necho hi\n"), "is not a valid wasm module"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "broken.wasm")
			if err := os.WriteFile(path, c.wasm, 0o644); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			_, err := Run(context.Background(), Config{
				Guests: []*GuestSpec{{Name: "broken", Kind: Program, Wasm: path}},
				Stdout: &out, Stderr: &out, CacheDir: t.TempDir(),
			})
			var se *StartError
			if !errors.As(err, &se) || se.Problem != NotLoaded || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Run: %v, want a start error saying %q", err, c.want)
			}
		})
	}
}

func TestCompilingAGuestToNativeCodeShowsItsProgress(t *testing.T) {
	var out, progress bytes.Buffer
	_, err := Run(context.Background(), Config{
		Guests: []*GuestSpec{{Name: "evil", Kind: Program, Wasm: wasm(t, "evil")}},
		Stdout: &out, Stderr: &out, Progress: &progress,
		CacheDir: t.TempDir(), // nothing cached: a compile of seconds
	})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^parigot: compiled program evil to native code \([0-9.]+m?s\)$`).MatchString(progress.String()) {
		t.Errorf("progress = %q, want a line naming the guest and how long it took", progress.String())
	}
}

// newerLibraryModule is a guest that imports a host function of module
// "parigot" that no host exports, as a guest built against a newer parigot
// library imports one that an older host lacks.
var newerLibraryModule = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
	0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: func() -> ()
	0x02, 0x12, 0x01, 0x07, 'p', 'a', 'r', 'i', 'g', 'o', 't', 0x06, 'n', 'o', 's', 'u', 'c', 'h', 0x00, 0x00, // import parigot.nosuch
	0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
	0x07, 0x0a, 0x01, 0x06, '_', 's', 't', 'a', 'r', 't', 0x00, 0x01, // export "_start": function 1
	0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b, // code: end
}

func TestAGuestOfANewerLibraryIsRefusedWithWhatToInstall(t *testing.T) {
	_, _, err := runProgramOf(t, "hello", newerLibraryModule)
	var se *StartError
	if !errors.As(err, &se) || se.Problem != NotLoaded {
		t.Fatalf("Run: %v, want a start error of a guest not loaded", err)
	}
	for _, want := range []string{
		`program hello: it calls parigot's host function "nosuch", which this parigot does not have`,
		"built against a newer parigot library",
		"go install ./cmd/parigot",
		"go mod edit -replace parigot.dev/parigot=DIR",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Run: %v\nwant it to say %q", err, want)
		}
	}
	var nl *NewerLibraryError
	if !errors.As(err, &nl) || nl.Function != "nosuch" {
		t.Errorf("Run: %v, want a *NewerLibraryError naming nosuch", err)
	}
}

// earlierLibraryModule is a program of a parigot library from before the
// host function exiting: it imports others of parigot's (ready, here) but
// not exiting, and ends with code 0 as its ExitSelf(0) did.
var earlierLibraryModule = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
	0x01, 0x08, 0x02, 0x60, 0x00, 0x00, 0x60, 0x00, 0x01, 0x7f, // types: func() -> (), func() -> i32
	0x02, 0x11, 0x01, 0x07, 'p', 'a', 'r', 'i', 'g', 'o', 't', 0x05, 'r', 'e', 'a', 'd', 'y', 0x00, 0x01, // import parigot.ready
	0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
	0x07, 0x0a, 0x01, 0x06, '_', 's', 't', 'a', 'r', 't', 0x00, 0x01, // export "_start": function 1
	0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b, // code: end
}

func TestAProgramOfAnEarlierLibraryIsNotToldItForgotExitSelf(t *testing.T) {
	res, out, err := runProgramOf(t, "hello", earlierLibraryModule)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run: %v, exit %d, want 0:\n%s", err, res.ExitCode, out)
	}
	if strings.Contains(out, "ended without guest.ExitSelf") {
		t.Errorf("a program that could not say it called ExitSelf is told it did not:\n%s", out)
	}
}
