package apptest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	bankv1 "parigot.dev/parigot/examples/bank/gen/bank/v1"
	greetingv1 "parigot.dev/parigot/examples/helloworld/gen/greeting/v1"
	"parigot.dev/parigot/runtime/apptest"
	"parigot.dev/parigot/runtime/guest"
	"parigot.dev/parigot/runtime/host"
)

// Start runs an app for a topology test: it builds the app if anything is
// stale, starts its services and stops them when the test ends. The app is
// a guest.Caller, so the native client that parigot build generates for a
// proto service calls it, and a failed call returns the *guest.Error a
// guest's future would carry.
//
// testGreeting is the body of func TestGreeting(t *testing.T) in a _test.go
// file beside the app's parigot.hcl, such as examples/helloworld's. It is
// only compiled here: running it builds and runs wasm.
func ExampleStart() {
	testGreeting := func(t *testing.T) {
		app := apptest.Start(t, ".", apptest.Default)
		greeting := greetingv1.NewGreetingNativeClient(app)

		resp, err := greeting.FetchGreeting(t.Context(), &greetingv1.FetchGreetingRequest{Name: "Ada"})
		if err != nil || resp.GetGreeting() != "Hello, Ada!" {
			t.Errorf("FetchGreeting(Ada) = %q, %v; want Hello, Ada!", resp.GetGreeting(), err)
		}

		_, err = greeting.FetchGreeting(t.Context(), &greetingv1.FetchGreetingRequest{})
		if guest.CodeOf(err) != guest.CodeInvalidArgument {
			t.Errorf("FetchGreeting without a name: err = %v, want the service's own error", err)
		}
	}
	_ = testGreeting
}

// RunProgram runs one of the app's programs against the services Start
// started, and returns what it printed and its exit code.
//
// testHello is the body of func TestHello(t *testing.T), beside the app's
// parigot.hcl; it is only compiled here.
func ExampleApp_RunProgram() {
	testHello := func(t *testing.T) {
		app := apptest.Start(t, ".", apptest.Default)
		res := app.RunProgram(t, "hello")
		if res.ExitCode != 0 || len(res.Failures) > 0 {
			t.Fatalf("hello: exit code %d, failures %v; stderr:\n%s", res.ExitCode, res.Failures, res.Stderr)
		}
		if res.Stdout != "Hello, world!\n" {
			t.Errorf("hello printed %q, want %q", res.Stdout, "Hello, world!\n")
		}
	}
	_ = testHello
}

// Gateway starts one of the app's gateways on a free port and returns its
// URL, for calls over HTTP as a client outside the app makes them: REST
// paths of google.api.http annotations, Connect, gRPC, gRPC-Web.
//
// testBooks is the body of func TestBooks(t *testing.T) beside
// examples/bookstore's parigot.hcl; it is only compiled here.
func ExampleApp_Gateway() {
	testBooks := func(t *testing.T) {
		app := apptest.Start(t, ".", apptest.Default)
		url := app.Gateway(t, "public")

		resp, err := http.Get(url + "/v1/books/1")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"title":"The Go Programming Language"`) {
			t.Errorf("GET /v1/books/1: %d %s", resp.StatusCode, body)
		}
	}
	_ = testBooks
}

// ExpectFailure lets a test make a service fail on purpose, to check what
// its callers see: the failure it expects does not fail the test, and the
// test fails if the service does not fail that way.
//
// testShopDown is the body of func TestShopDown(t *testing.T) beside the
// parigot.hcl of testdata/shop, whose shop service panics on "boom"; it is
// only compiled here.
func ExampleApp_ExpectFailure() {
	testShopDown := func(t *testing.T) {
		app := apptest.Start(t, ".", apptest.Default)
		app.ExpectFailure(t, "shop", host.CausePanicked)
		err := app.Call(t.Context(), "test.Shop", "Greet", wrapperspb.String("boom"), new(wrapperspb.StringValue))
		if !errors.Is(err, guest.ErrUnavailable) {
			t.Errorf("Greet(boom): err = %v, want unavailable: shop panicked", err)
		}
		res := app.RunProgram(t, "hello") // calls shop, which is down for good
		if res.ExitCode != 1 {
			t.Errorf("hello: exit code %d, want 1", res.ExitCode)
		}
	}
	_ = testShopDown
}

// Store is a handle on one of the app's stores: a test seeds it before a
// call, and reads what a call wrote, as the app's guests would.
//
// testBalance is the body of func TestBalance(t *testing.T) beside
// examples/bank's parigot.hcl, whose accounts service keeps each balance
// in the store accounts; it is only compiled here.
func ExampleApp_Store() {
	testBalance := func(t *testing.T) {
		app := apptest.Start(t, ".", apptest.Default)
		accounts := app.Store(t, "accounts")
		bank := bankv1.NewAccountsNativeClient(app)

		if err := accounts.Put(t.Context(), "acct.alice", &bankv1.Account{Balance: 500}); err != nil {
			t.Fatal(err)
		}
		b, err := bank.Balance(t.Context(), &bankv1.BalanceRequest{Account: "alice"})
		if err != nil || b.GetBalance() != 500 {
			t.Errorf("Balance(alice) = %v, %v; want 500, as the test stored it", b, err)
		}
	}
	_ = testBalance
}

// Topic is a handle on one of the app's topics: a test reads what the
// services published, and publishes as a service would, to the topic's
// subscribers. Next waits for a message until its ctx ends.
//
// testTransfers is the body of func TestTransfers(t *testing.T) beside
// examples/bank's parigot.hcl, whose accounts service publishes each
// transfer on the topic transfers; it is only compiled here.
func ExampleApp_Topic() {
	testTransfers := func(t *testing.T) {
		app := apptest.Start(t, ".", apptest.Default)
		transfers := app.Topic(t, "transfers")
		bank := bankv1.NewAccountsNativeClient(app)
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()

		sent := &bankv1.Transfer{Id: "t1", From: "alice", To: "bob", Amount: 10}
		if _, err := bank.Transfer(ctx, &bankv1.TransferRequest{Transfer: sent}); err != nil {
			t.Fatal(err)
		}
		var published bankv1.Transfer
		if err := transfers.Next(ctx, &published); err != nil || published.GetId() != "t1" {
			t.Errorf("transfers carries %v (err %v), want transfer t1", &published, err)
		}
	}
	_ = testTransfers
}
