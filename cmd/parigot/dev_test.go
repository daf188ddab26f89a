package main

import (
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestDevReloadsWhatASaveChanges runs parigot dev on a new app the way a
// user edits one: change the service's greeting and see the program print
// the new one; save a mistake and see it while the app runs on; fix it;
// change parigot.hcl and see the app restart; then stop with Ctrl-C.
func TestDevReloadsWhatASaveChanges(t *testing.T) {
	app, env := newShop(t)
	service := filepath.Join(app, "shop", "main.go")
	// The gateway init writes commented out, on a free port (--listen
	// overrides its listen = "127.0.0.1:8080"): it serves throughout, and
	// reaches the new versions.
	manifestFile := filepath.Join(app, "parigot.hcl")
	withGateway(t, manifestFile)
	editFile := func(file, old, new string) {
		t.Helper()
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(src), old) {
			t.Fatalf("%s does not hold %q", file, old)
		}
		if err := os.WriteFile(file, []byte(strings.Replace(string(src), old, new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edit := func(old, new string) { t.Helper(); editFile(service, old, new) }

	p := startParigot(t, app, env, "dev", "--listen", "127.0.0.1:0")
	stdout := func(text string, n int) {
		t.Helper()
		p.waitFor(t, &p.stdout, regexp.MustCompile(regexp.QuoteMeta(text)), n)
	}
	stderr := func(text string, n int) []string {
		t.Helper()
		return p.waitFor(t, &p.stderr, regexp.MustCompile(text), n)
	}

	stdout("hello | Hello, world, from shop!", 1)
	url := stderr(`parigot dev: gateway public serves (http://\S+)`, 1)[1]
	if strings.HasSuffix(url, ":8080") {
		t.Errorf("the gateway serves %s, not on the free port --listen asked for", url)
	}
	greet := func() string {
		resp, err := http.Post(url+"/shop.v1.Shop/Greet", "application/json", strings.NewReader(`{"name":"world"}`))
		if err != nil {
			t.Fatalf("calling Greet through the gateway: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := greet(); !strings.Contains(got, "Hello, world, from shop!") {
		t.Errorf("Greet through the gateway: %s", got)
	}

	edit(`"Hello, "`, `"Howdy, "`)
	// The seconds the new build takes to compile to native code are said
	// before they pass, not only in the line that ends them.
	compiling := `parigot dev: compiling shop to native code, to swap into the running app`
	stderr(compiling, 1)
	// The watcher may report the save's last writes after the build began
	// (on a busy machine its events come late): a change for a file the
	// build read as it still is, is not built again (below, no "no guest's
	// build changed" but the proto's).
	sameAgain(t, service)
	stderr(`parigot dev: reloaded shop`, 1)
	if said := p.stderr.String(); strings.Index(said, compiling) > strings.Index(said, "parigot dev: reloaded shop") {
		t.Errorf("the reload said it compiles after it was done:\n%s", p.said())
	}
	stdout("hello | Howdy, world, from shop!", 1)
	if got := greet(); !strings.Contains(got, "Howdy, world, from shop!") {
		t.Errorf("Greet through the gateway after the reload: %s", got)
	}

	edit(`"Howdy, "`, `"Howdy, " + notDeclared + `)
	stderr(`undefined: notDeclared`, 1)
	stderr(`parigot dev: the app runs on as it was; save a fix to try again`, 1)

	edit(`"Howdy, " + notDeclared + `, `"Hi, "`)
	stdout("hello | Hi, world, from shop!", 1)
	if n := strings.Count(p.stdout.String(), "hello | Hello, world"); n != 1 {
		t.Errorf("the first version ran %d times, want once:\n%s", n, p.said())
	}

	// A save of a proto is one build, though it changes the generated Go
	// code: what the build writes there is its own doing, not a save to
	// build again for. The watcher reports a batch 50 ms after its last
	// write, so a second build would have begun well within a second of
	// the first one's end; a machine too busy for that lets the test pass,
	// never fail.
	count := func(text string) int { return strings.Count(p.stderr.String(), text) }
	before, built := count("parigot: generated Go code:"), count("parigot: built shop")
	editFile(filepath.Join(app, "proto", "shop", "v1", "shop.proto"),
		"// Greet returns a greeting for the given name.", "// Greet returns a greeting for the name it is given.")
	stderr(`parigot: generated Go code: \d+ files, 1 changed`, 1)
	stderr(`parigot: built shop`, built+1)
	time.Sleep(time.Second)
	if n := count("parigot: generated Go code:") - before; n != 1 {
		t.Errorf("a save of the proto: %d builds, want 1:\n%s", n, p.said())
	}
	// Its comment is in no guest's build: the save is said to have been
	// taken, and nothing reloaded.
	stderr(`parigot dev: no guest's build changed \(build [0-9.]+m?s\): no guest to reload`, 1)
	// The late report of the first save (sameAgain, above) built nothing:
	// this line, the proto's, is the first of its kind (dev works through
	// its batches in order).
	if n := count("no guest's build changed"); n != 1 {
		t.Errorf("%d saves changed no guest's build, want the proto's only: a late report of a save its build had read was built again:\n%s", n, p.said())
	}

	// A field added to a reply reaches the gateway's clients: the gateway
	// serves from the new protos (the app restarts for them), and the
	// service's next version fills the field. The gateway keeps its
	// address, the free port too, and a client calling while the app
	// restarts is served, by the old app or, once it is up, the new one:
	// not refused.
	protoFile := filepath.Join(app, "proto", "shop", "v1", "shop.proto")
	editFile(protoFile, "  string greeting = 1;\n}", "  string greeting = 1;\n  int32 count = 2;\n}")
	stderr(`parigot dev: the protos changed: restarting the app, whose gateways serve from them`, 1)
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := fresh.Post(url+"/shop.v1.Shop/Greet", "application/json", strings.NewReader(`{"name":"world"}`)); err != nil {
		t.Errorf("calling Greet while the app restarts: %v, want the call to wait for it", err)
	} else {
		resp.Body.Close()
	}
	if again := stderr(`parigot dev: gateway public serves (http://\S+)`, 2)[1]; again != url {
		t.Errorf("after the restart the gateway serves %s, where it served %s: its clients lost it", again, url)
	}
	reloaded := count("parigot dev: reloaded shop")
	edit(`GreetResponse{Greeting:`, `GreetResponse{Count: 7, Greeting:`)
	stderr(`parigot dev: reloaded shop`, reloaded+1)
	if got := greet(); !strings.Contains(got, `"count":7`) {
		t.Errorf("Greet through the gateway after a field was added: %s", got)
	}

	// A change to parigot.hcl that does not build is shown, and the app
	// runs on as it was; one that builds restarts the whole app.
	hcl, err := os.ReadFile(manifestFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifestFile, append(hcl, "\nservice \"stock\" {\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr(`parigot.hcl:\d+:\d+`, 1)
	stderr(`parigot dev: the app runs on as it was; save a fix to try again`, 2)
	if got := greet(); !strings.Contains(got, "Hi, world, from shop!") {
		t.Errorf("Greet through the gateway, with a parigot.hcl that does not build: %s", got)
	}
	// The clients' connections outlive the restart: a POST on a kept-alive
	// connection, and a grpc-go call, sent as the app restarts or once it
	// has, are served, not failed.
	kept := keptClient(t, url)
	kept.greet("before the restart")
	if err := os.WriteFile(manifestFile, append(hcl, "\n# edited\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	ran := strings.Count(p.stdout.String(), "hello | Hi, world, from shop!")
	stderr(`parigot dev: parigot.hcl changed: restarting the app`, 1)
	restarting := kept.greet("as the app restarts")
	stdout("hello | Hi, world, from shop!", ran+1)
	if after := kept.greet("after the restart"); !restarting || !after {
		t.Errorf("whether the POSTs during and after the restart went on the connection the client kept alive: %v, %v; want true, true (the gateway keeps it across a restart)", restarting, after)
	}

	// A change to parigot.hcl whose build fails for want of a new guest's
	// source restarts the app at the save that brings the source, though
	// that save is not parigot.hcl's.
	edited, err := os.ReadFile(manifestFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifestFile, append(edited, "\nprogram \"extra\" {\n  source = \"./extra\"\n}\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr(`Source directory not found`, 1)
	failed := count("parigot dev: the app runs on as it was; save a fix to try again")
	if failed < 3 {
		stderr(`parigot dev: the app runs on as it was; save a fix to try again`, 3)
	}
	if err := os.MkdirAll(filepath.Join(app, "extra"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "extra", "main.go"), []byte("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"extra ran\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr(`parigot dev: parigot.hcl changed: restarting the app`, 2)
	stdout("extra | extra ran", 1)

	p.signal(syscall.SIGINT)
	err = p.wait(t)
	p.wantInterrupted(t, err)
	if strings.Contains(p.said(), "panic") {
		t.Errorf("something panicked:\n%s", p.said())
	}
}

// sameAgain writes file again with what it holds, and its time of
// modification: the events of a write whose result a build has read. The
// copy is made aside and renamed over file, so that the watcher's report
// finds it whole.
func sameAgain(t *testing.T, file string) {
	t.Helper()
	info, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	aside := file + ".tmp" // no source: the watcher leaves it out
	if err := os.WriteFile(aside, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(aside, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(aside, file); err != nil {
		t.Fatal(err)
	}
}

// TestDevWaitsForAManifestThatBuilds: parigot dev started on an app whose
// parigot.hcl has a mistake shows it and watches on, and starts the app at
// the save that fixes it.
func TestDevWaitsForAManifestThatBuilds(t *testing.T) {
	app, env := newShop(t)
	manifestFile := filepath.Join(app, "parigot.hcl")
	good, err := os.ReadFile(manifestFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifestFile, append(good, "\nservice \"stock\" {\n"...), 0o644); err != nil {
		t.Fatal(err)
	}

	p := startParigot(t, app, env, "dev")
	p.waitFor(t, &p.stderr, regexp.MustCompile(`Error: Unclosed configuration block`), 1)
	p.waitFor(t, &p.stderr, regexp.MustCompile(`parigot dev: the app is not running; save a fix to start it`), 1)
	if err := os.WriteFile(manifestFile, good, 0o644); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, &p.stdout, regexp.MustCompile(regexp.QuoteMeta("hello | Hello, world, from shop!")), 1)
	p.stop(t)
}

// A gateway removed from parigot.hcl under parigot dev --listen: the app
// restarts without it, and its address refuses connections; the --listen
// of the command line is no mistake of the app's that would stop it.
func TestDevRunsOnWhenTheGatewayGoes(t *testing.T) {
	app, env := newShop(t)
	manifestFile := filepath.Join(app, "parigot.hcl")
	initial := withGateway(t, manifestFile)
	p := startParigot(t, app, env, "dev", "--listen", "127.0.0.1:0")
	url := p.waitFor(t, &p.stderr, regexp.MustCompile(`parigot dev: gateway public serves (http://\S+)`), 1)[1]
	p.waitFor(t, &p.stdout, regexp.MustCompile(regexp.QuoteMeta("hello | Hello, world, from shop!")), 1)

	if err := os.WriteFile(manifestFile, initial, 0o644); err != nil { // the gateway block commented out again
		t.Fatal(err)
	}
	p.waitFor(t, &p.stderr, regexp.MustCompile(`parigot dev: --listen 127\.0\.0\.1:0 is the address of the app's gateway, and parigot.hcl declares none now: the app runs without one`), 1)
	p.waitFor(t, &p.stdout, regexp.MustCompile(regexp.QuoteMeta("hello | Hello, world, from shop!")), 2)
	if resp, err := http.Get(url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("the removed gateway's address %s still answers (%s)", url, resp.Status)
	}
	if said := p.said(); strings.Contains(said, "parigot --help") || strings.Contains(said, "not running") {
		t.Errorf("the app stopped:\n%s", said)
	}
	p.stop(t)
}

// withGateway uncomments the gateway block parigot init writes into the
// manifest file, and returns the manifest as it was.
func withGateway(t *testing.T, manifestFile string) (initial []byte) {
	t.Helper()
	initial, err := os.ReadFile(manifestFile)
	if err != nil {
		t.Fatal(err)
	}
	uncommented := regexp.MustCompile(`(?m)^# (gateway|  listen|  services|})`).ReplaceAllString(string(initial), "$1")
	if err := os.WriteFile(manifestFile, []byte(uncommented), 0o644); err != nil {
		t.Fatal(err)
	}
	return initial
}

// newShop makes the app parigot init shop makes, in a directory of the
// test's, and returns it with the environment parigot runs in there (see
// goEnvironment). It skips the test in -short mode, which builds nothing.
func newShop(t *testing.T) (app string, env []string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	work := t.TempDir()
	for k, v := range goEnvironment(t) {
		env = append(env, k+"="+v)
	}
	if initApp := startParigot(t, work, env, "init", "shop"); initApp.wait(t) != nil {
		t.Fatalf("parigot init failed:\n%s", initApp.said())
	}
	return filepath.Join(work, "shop"), env
}

// kept is a client of the shop's gateway that keeps its connections: a
// net/http client with keep-alive, and grpc-go's.
type kept struct {
	t    *testing.T
	url  string
	http *http.Client
	grpc *grpc.ClientConn
}

func keptClient(t *testing.T, url string) *kept {
	conn, err := grpc.NewClient(strings.TrimPrefix(url, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	k := &kept{t: t, url: url, http: &http.Client{Transport: &http.Transport{}}, grpc: conn}
	t.Cleanup(func() { conn.Close(); k.http.CloseIdleConnections() })
	return k
}

// greet calls Greet with a POST and with grpc-go, which must both be
// answered; it says whether the POST went on a connection the client had.
func (k *kept) greet(when string) (reused bool) {
	k.t.Helper()
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(k.t.Context(), trace), http.MethodPost,
		k.url+"/shop.v1.Shop/Greet", strings.NewReader(`{"name":"world"}`))
	if err != nil {
		k.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if resp, err := k.http.Do(req); err != nil {
		k.t.Errorf("a POST on a kept-alive connection %s: %v, want its answer", when, err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), "world, from shop!") {
			k.t.Errorf("a POST on a kept-alive connection %s: %d %s", when, resp.StatusCode, b)
		}
	}
	// GreetRequest and GreetResponse have one string field, 1, as a
	// StringValue does.
	out := new(wrapperspb.StringValue)
	if err := k.grpc.Invoke(k.t.Context(), "/shop.v1.Shop/Greet", wrapperspb.String("world"), out); err != nil {
		k.t.Errorf("a grpc-go call %s: %v, want its answer", when, err)
	} else if !strings.Contains(out.GetValue(), "world, from shop!") {
		k.t.Errorf("a grpc-go call %s: answered %q", when, out.GetValue())
	}
	return reused
}
