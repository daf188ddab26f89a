package main

import (
	"bufio"
	"bytes"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"parigot.dev/parigot/internal/compcache"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"parigot": func() { os.Exit(parigot(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI scripts in testdata/script: the commands a user
// types and what they must see.
func TestScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	goEnv := goEnvironment(t)
	// The directory of the parigot command alone: a PATH without the go
	// command, as on a machine that runs apps built elsewhere.
	self, err := exec.LookPath("parigot")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("REPO", repo)
			env.Setenv("PARIGOT_BIN", filepath.Dir(self))
			for k, v := range goEnv {
				env.Setenv(k, v)
			}
			return writeAppModule(env.WorkDir, repo)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){"apiserver": apiServer},
	})
}

// apiServer starts, for the rest of the script, an external HTTP API on
// loopback for the apps' http endpoints to call, and sets API_URL to its
// base URL (with /v1, under which its endpoints are):
//
//   - POST /v1/charges answers 200 "charged <amount> with <authorization>"
//     (the form's amount, the Authorization header);
//   - GET /v1/slow never answers: its caller gives up at its deadline;
//   - GET /v1/big answers a body over the limit a response may have;
//   - anything else is 404.
//
// With -tls it serves https, with a certificate of its own that no machine
// trusts, whose PEM it writes to $WORK/api-ca.pem and names in API_CA: what
// an endpoint's ca_file (or the variable of its ca_file_env) takes.
func apiServer(ts *testscript.TestScript, neg bool, args []string) {
	useTLS := len(args) == 1 && args[0] == "-tls"
	if neg || len(args) > 1 || len(args) == 1 && !useTLS {
		ts.Fatalf("usage: apiserver [-tls]")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/charges", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		fmt.Fprintf(w, "charged %s with %s", r.PostForm.Get("amount"), r.Header.Get("Authorization"))
	})
	mux.HandleFunc("GET /v1/slow", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	mux.HandleFunc("GET /v1/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(5<<20))
		w.Write(make([]byte, 5<<20))
	})
	srv := httptest.NewUnstartedServer(mux)
	if useTLS {
		srv.StartTLS()
		ca := ts.MkAbs("api-ca.pem")
		ts.Check(os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
		ts.Setenv("API_CA", ca)
	} else {
		srv.Start()
	}
	ts.Defer(srv.Close)
	ts.Setenv("API_URL", srv.URL+"/v1")
}

// goEnvironment is what the go command inside a script needs to find its
// caches (scripts run with HOME unset) and to resolve modules offline.
func goEnvironment(t *testing.T) map[string]string {
	out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	vals := strings.Split(strings.TrimSpace(string(out)), "\n")
	env := map[string]string{
		"GOCACHE": vals[0], "GOMODCACHE": vals[1], "GOPATH": vals[2], "GOPROXY": vals[3],
		"GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local",
		"PATH": filepath.Join(vals[4], "bin") + string(os.PathListSeparator) + os.Getenv("PATH"),
	}
	// Scripts run with HOME unset: give them the cache this user's runs use.
	env[compcache.EnvDir] = compcache.Root()
	// The scripts test the CLI, not the method budget, and share a small
	// machine with the load tests: give every app's methods room.
	env["PARIGOT_TIMEOUT_SCALE"] = "10"
	return env
}

// writeAppModule gives the script's work directory a go.mod for test apps
// (module example.com/app) that uses this checkout of parigot and the same
// dependency versions, so that guests build offline from the module cache.
func writeAppModule(dir, repo string) error {
	mod, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		return err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "module example.com/app\n\ngo 1.26\n\nrequire parigot.dev/parigot v0.0.0\n\nreplace parigot.dev/parigot => %s\n", repo)
	inRequire := false
	sc := bufio.NewScanner(bytes.NewReader(mod))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "require ("):
			inRequire = true
			b.WriteString("\n" + line + "\n")
		case inRequire:
			b.WriteString(line + "\n")
			if line == ")" {
				inRequire = false
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), b.Bytes(), 0o644); err != nil {
		return err
	}
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644)
}
