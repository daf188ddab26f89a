package split

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/nats-io/nats.go"

	"parigot.dev/parigot/runtime/internal/abi"
)

// TestACallsHeaderCrossesProcessesBothWays: the header of a call (the
// request headers a gateway passes on) reaches the service as it was
// sent, over a direct connection and over NATS; a call without one
// arrives without one.
func TestACallsHeaderCrossesProcessesBothWays(t *testing.T) {
	header := abi.AppendHeader(abi.AppendHeader(nil, "authorization", "Bearer abc"), "x-request-id", "r-1")
	for _, overNATS := range []bool{false, true} {
		name := "over a direct connection"
		if overNATS {
			name = "over NATS"
		}
		t.Run(name, func(t *testing.T) {
			srv := startIdentityServer(t)
			f := serveSeen(t, srv, overNATS)
			caller := callerAs(t, srv, "ticker")
			got := make(replies, 2)
			with := call(1, "with")
			with.SetHeader(header)
			caller.Service("test.Echo").Deliver(with, got)
			caller.Service("test.Echo").Deliver(call(2, "without"), got)
			for range 2 {
				if ev := got.next(t); ev.Code != abi.CodeOK {
					t.Fatalf("call %d failed: %q", ev.CallID, ev.Payload)
				}
			}
			for range 2 {
				ev := <-f.got
				switch string(ev.Payload) {
				case "with":
					if !bytes.Equal(ev.Header(), header) {
						t.Errorf("the call with a header arrived with %q, want %q", ev.Header(), header)
					}
				case "without":
					if ev.Header() != nil {
						t.Errorf("the call without a header arrived with %q, want none", ev.Header())
					}
				}
			}
			if sent := caller.client.sent.Load(); overNATS && sent != 0 || !overNATS && sent != 2 {
				t.Errorf("%d calls went over the direct connection (over NATS: %v)", sent, overNATS)
			}
		})
	}
}

// TestACallOverNATSWithAMalformedHeaderIsRefused: a call whose
// Parigot-Header is not base64, or not a header, is answered invalid
// argument, and never reaches the service.
func TestACallOverNATSWithAMalformedHeaderIsRefused(t *testing.T) {
	srv := startIdentityServer(t)
	f := serveSeen(t, srv, true)
	caller := callerAs(t, srv, "ticker")
	for name, value := range map[string]string{
		"not base64":          "!!",
		"a pair cut short":    "BWF1dGg", // "\x05auth"
		"an uppercase name":   b64(abi.AppendHeader(nil, "Authorization", "x")),
		"a value with a NUL":  b64(abi.AppendHeader(nil, "x-a", "v\x00")),
		"more than MaxHeader": b64(abi.AppendHeader(nil, "x-a", string(bytes.Repeat([]byte("v"), abi.MaxHeader)))),
	} {
		t.Run(name, func(t *testing.T) {
			m := nats.NewMsg(caller.subj.call("test.Echo"))
			got := make(replies, 1)
			prefix, err := caller.inbox(got, "echo")
			if err != nil {
				t.Fatal(err)
			}
			m.Reply = prefix + ".echo.7"
			m.Header.Set(headerMethod, "test.Echo/Echo")
			m.Header.Set(headerCall, value)
			m.Data = []byte("x")
			if err := caller.nc.PublishMsg(m); err != nil {
				t.Fatal(err)
			}
			ev := got.next(t)
			code, msg, _, _ := abi.DecodeError(ev.Payload)
			if ev.Code != abi.CodeInvalidArgument || code != abi.CodeInvalidArgument || !bytes.HasPrefix([]byte(msg), []byte("malformed call: malformed call header")) {
				t.Errorf("got %v %q, want invalid argument: malformed call: malformed call header...", ev.Code, msg)
			}
		})
	}
	select {
	case ev := <-f.got:
		t.Errorf("a malformed call reached the service: %+v", ev)
	default:
	}
}

// serveSeen serves test.Echo from a fake whose got channel holds the
// calls that reach it, as a replica of echo that takes its calls over
// NATS only when natsOnly.
func serveSeen(t *testing.T, srv *Server, natsOnly bool) *fakeService {
	t.Helper()
	replica := NewNetwork(connectAs(t, srv, "echo"), "test", identityGuests(), "echo")
	replica.natsOnly = natsOnly
	f := &fakeService{name: "echo", got: make(chan abi.Event, 8)}
	serveOn(t, replica, f)
	return f
}

func b64(b []byte) string { return base64.RawStdEncoding.EncodeToString(b) }
