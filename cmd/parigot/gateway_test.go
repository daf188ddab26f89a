package main

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats-server/v2/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// TestAGatewayServesUntilInterrupted runs an app with a gateway and a
// program that ends at once: parigot prints the gateway's URL, serves on
// after the program's end, and stops on SIGTERM, exiting 130.
func TestAGatewayServesUntilInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	for _, mode := range []string{"single", "split"} {
		t.Run(mode, func(t *testing.T) {
			p := startParigot(t, "", nil, "run", "--mode="+mode, "testdata/apps/served")
			url := p.waitURL(t)
			// The program's prefix is padded to the service's longer
			// name, as in any run, though a gateway's services and
			// programs run apart.
			p.waitFor(t, &p.stdout, regexp.MustCompile(`^once {4}\| ran$`), 1)
			// The program has ended; the gateway still serves.
			callHi(t, url, p)
			p.stop(t)
			if _, err := http.Get(url + "/"); err == nil {
				t.Errorf("the gateway still answers after parigot exited")
			}
		})
	}
}

// TestAGatewayServesOnWhenItsOnlyServiceIsDown: the app's one service
// panics; parigot says at once that it is down, and the gateway answers
// on (unavailable) until the app is stopped, in both modes, where single
// mode used to end the app with its service.
func TestAGatewayServesOnWhenItsOnlyServiceIsDown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	for _, mode := range []string{"single", "split"} {
		t.Run(mode, func(t *testing.T) {
			p := startParigot(t, "", nil, "run", "--mode="+mode, "testdata/apps/served")
			url := p.waitURL(t)
			resp, err := http.Post(url+"/test.Greeter/Crash", "application/json", strings.NewReader("{}"))
			if err != nil {
				t.Fatalf("Crash: %v\n%s", err, p.said())
			}
			resp.Body.Close()
			p.waitFor(t, &p.stderr, regexp.MustCompile(`^parigot: service greeter panicked.*; it is down for the rest of the run, and calls to it fail with unavailable$`), 1)
			resp, err = http.Post(url+"/test.Greeter/Hi", "application/json", strings.NewReader("{}"))
			if err != nil {
				t.Fatalf("the gateway stopped with its service: %v\n%s", err, p.said())
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "unavailable") {
				t.Errorf("Hi with the service down: %d %s, want 503 unavailable", resp.StatusCode, body)
			}
			p.stop(t)
			if n := strings.Count(p.stderr.String(), "service greeter panicked"); n != 1 {
				t.Errorf("the failure was said %d times, want once:\n%s", n, p.said())
			}
		})
	}
}

// TestAGatewayRefusesASubscriptionTarget: a method that a topic's
// subscription delivers to is refused to the gateway's clients, whatever
// their protocol, in both modes; the service's other methods are served.
func TestAGatewayRefusesASubscriptionTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	const why = `test.Counter/Heard receives the messages of topic "said" (a subscribe block of service counter in parigot.hcl), so the gateway does not serve it to callers from outside the app; for outside callers, declare a separate rpc in the proto`
	for _, mode := range []string{"single", "split"} {
		t.Run(mode, func(t *testing.T) {
			p := startParigot(t, "", nil, "run", "--mode="+mode, "--ephemeral", "testdata/apps/subscribed")
			url := p.waitURL(t)
			for _, c := range []struct{ name, path, want string }{
				{"Connect", "/test.Counter/Heard", `{"code":"permission_denied","message":` + strconv.Quote(why) + `}`},
				{"REST", "/v1/heard", `{"code":7,"message":` + strconv.Quote(why) + `,"details":[]}`},
			} {
				resp, err := http.Post(url+c.path, "application/json", strings.NewReader("{}"))
				if err != nil {
					t.Fatalf("%s: %v\n%s", c.name, err, p.said())
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusForbidden || strings.TrimSpace(string(body)) != c.want {
					t.Errorf("%s: %d %s\nwant 403 %s", c.name, resp.StatusCode, body, c.want)
				}
			}
			conn, err := grpc.NewClient(strings.TrimPrefix(url, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			err = conn.Invoke(t.Context(), "/test.Counter/Heard", &emptypb.Empty{}, &emptypb.Empty{})
			if s := status.Convert(err); s.Code() != codes.PermissionDenied || s.Message() != why {
				t.Errorf("gRPC: %v\nwant PermissionDenied, saying %s", err, why)
			}
			if err := conn.Invoke(t.Context(), "/test.Counter/Count", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
				t.Errorf("Count over gRPC: %v", err)
			}
			p.stop(t)
		})
	}
}

// TestTheExplorerCallsATopicsMethodAsASimulatedDelivery: the method the
// gateway refuses, in the same app run with --dashboard, is listed by the
// explorer with its topic, marked on the page as simulating a delivery,
// and called from there.
func TestTheExplorerCallsATopicsMethodAsASimulatedDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	url := runWithDashboard(t, "testdata/apps/subscribed", "--ephemeral")
	if methods := get(t, url+"api/explorer/methods"); !strings.Contains(methods, `"method":"Heard","guest":"counter","request":"google.protobuf.Empty","template":{},"topics":["said"]}`) {
		t.Errorf("the explorer's methods: %s; want Heard with its topic", methods)
	}
	ctx, text := openExplorer(t, url)
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#explorer-method"), "1")); err != nil { // Count, Heard
		t.Fatalf("choosing Heard: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("#explorer-method").dispatchEvent(new Event("change"))`)); err != nil {
		t.Fatal(err)
	}
	option, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#explorer-method").selectedOptions[0].textContent`))
	if err != nil {
		t.Fatal(err)
	}
	if want := `test.Counter/Heard (counter) · simulates a delivery of topic "said"`; option != want {
		t.Errorf("the explorer offers %q, want %q", option, want)
	}
	if status := text("#explorer-status"); !strings.HasPrefix(status, `A call simulates a delivery of topic "said": a gateway does not serve this method to its clients`) {
		t.Errorf("with Heard chosen the explorer says %q, want that a call simulates a delivery", status)
	}
	if err := chromedp.Do(ctx,
		pressCall,
		chromedp.WaitVisible(chromedp.CSS(`body[data-called="1"]`)),
	); err != nil {
		t.Fatalf("calling Heard: %v", err)
	}
	if status, reply := text("#explorer-status"), text("#explorer-reply"); status != "ok · test.Counter/Heard" || reply != "{}" {
		t.Errorf("after the call the explorer shows %q and %q, want ok and the empty reply", status, reply)
	}
}

// TestAMachineCanServeJustTheGateway runs the app over one NATS server as
// two machines would: one parigot hosts the service (--only=greeter), and
// says when it is ready, the other just the gateway (--only=public), which
// calls the service over NATS.
func TestAMachineCanServeJustTheGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	ns := startSharedNATS(t)
	gw := startParigot(t, "", nil, "run", "--mode=split", "--nats="+ns.ClientURL(), "--only=public", "testdata/apps/served")
	svc := startParigot(t, "", nil, "run", "--mode=split", "--nats="+ns.ClientURL(), "--only=greeter", "testdata/apps/served")
	url := gw.waitURL(t) // once the service it serves is ready, wherever it runs
	svc.waitFor(t, &svc.stderr, regexp.MustCompile(`^parigot: service greeter ready here \(--only\), serving until stopped \(Ctrl-C or SIGTERM\)$`), 1)
	callHi(t, url, gw)
	gw.stop(t)
	svc.stop(t)
}

// startSharedNATS starts a NATS server on loopback, as the one an
// operator runs for the machines of an app (--nats), until t ends.
func startSharedNATS(t *testing.T) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true, MaxPayload: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("the NATS server did not start")
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

// served is the line that says where the gateway public serves.
var served = regexp.MustCompile(`^parigot: gateway public serves (http://127\.0\.0\.1:\d+) \(Ctrl-C stops the app\)$`)

// waitURL waits until parigot says where the gateway serves.
func (p *parigotProcess) waitURL(t *testing.T) string {
	t.Helper()
	return p.waitFor(t, &p.stderr, served, 1)[1]
}

// callHi calls test.Greeter/Hi through the gateway at url.
func callHi(t *testing.T, url string, p *parigotProcess) {
	t.Helper()
	resp, err := http.Post(url+"/test.Greeter/Hi", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("calling the gateway: %v\n%s", err, p.said())
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != "{}" {
		t.Errorf("Hi through the gateway: %d %s\n%s", resp.StatusCode, body, p.said())
	}
}
