package guestbuild

import (
	"context"
	"go/version"
	"os/exec"
	"strings"
	"sync"

	"parigot.dev/parigot/internal/child"
)

// fastAlloc is the experiment that gives each small size of allocation a
// malloc of its own. Go 1.27 turns it on by default; Go 1.26 has it as an
// experiment, which guests built with Go 1.26 get too: inside wasm an
// allocation costs several times what it does natively, and a call between
// two guests makes a few of them (docs/BENCHMARKS.md, "The allocator Go
// 1.27 makes the default"). Go 1.28 is to remove the experiment's name, so
// it is given to Go 1.26 only.
const fastAlloc = "sizespecializedmalloc"

// toolchains holds what envFor found for each go command and directory.
var toolchains sync.Map // toolchainKey -> []string

type toolchainKey struct{ goCmd, dir string }

// envFor is what the go command's environment adds for a guest built with
// goCmd in dir: Env, and with Go 1.26 the experiment fastAlloc, unless the
// user's GOEXPERIMENT names it (on or off). The go command is asked once
// per process for its version (go.mod's toolchain line or GOTOOLCHAIN may
// pick another Go than the one on the PATH) and for GOEXPERIMENT (which
// `go env -w` may set); when it cannot answer, the guest gets Env alone
// and the build that follows says what is wrong.
func envFor(ctx context.Context, goCmd, dir string) []string {
	key := toolchainKey{goCmd, dir}
	if env, ok := toolchains.Load(key); ok {
		return env.([]string)
	}
	cmd := exec.CommandContext(ctx, goCmd, "env", "GOVERSION", "GOEXPERIMENT")
	cmd.Dir = dir
	cmd.Env = environ(Env...)
	child.StopPolitely(cmd, nil)
	out, err := cmd.Output()
	if err != nil {
		return Env // not kept: ctx may have ended it
	}
	goVersion, experiments, _ := strings.Cut(strings.TrimRight(string(out), "\n"), "\n")
	env := guestEnv(goVersion, experiments)
	toolchains.Store(key, env)
	return env
}

// guestEnv is envFor's answer for a go command of goVersion whose
// GOEXPERIMENT is experiments.
func guestEnv(goVersion, experiments string) []string {
	if version.Lang(goVersion) != "go1.26" {
		return Env
	}
	for e := range strings.SplitSeq(experiments, ",") {
		if strings.TrimPrefix(strings.TrimSpace(e), "no") == fastAlloc {
			return Env // the user's choice
		}
	}
	if experiments != "" {
		experiments += ","
	}
	return append(append([]string{}, Env...), "GOEXPERIMENT="+experiments+fastAlloc)
}
