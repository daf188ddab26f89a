package gateway

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/native"
)

// grpcClient is grpc-go's client of srv, over HTTP/2 without TLS.
func grpcClient(t *testing.T, srv *Server) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(strings.TrimPrefix(srv.URL(), "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// say calls method of test.v1.Echo with grpc-go; the request and the reply
// are StringValues (field 1, a string, as in SayRequest and SayResponse).
func say(ctx context.Context, conn *grpc.ClientConn, method, name string, opts ...grpc.CallOption) (string, error) {
	out := new(wrapperspb.StringValue)
	err := conn.Invoke(ctx, "/test.v1.Echo/"+method, wrapperspb.String(name), out, opts...)
	return out.GetValue(), err
}

// TestGRPCClientsAreServedByGRPCGo: a connection whose first request is
// gRPC with protobuf is served by grpc-go's server, others by net/http's,
// which writes a Date header on every response (grpc-go's transport writes
// none).
func TestGRPCClientsAreServedByGRPCGo(t *testing.T) {
	srv, _ := startTest(t)
	conn := grpcClient(t, srv)
	var header metadata.MD
	got, err := say(t.Context(), conn, "Say", "grpc-go", grpc.Header(&header))
	if err != nil || got != "Hello, grpc-go!" {
		t.Fatalf("%q, %v", got, err)
	}
	if d := header.Get("date"); len(d) != 0 {
		t.Errorf("the gRPC call was answered by net/http (Date %v), want grpc-go's server", d)
	}
	// Connect and gRPC-Web over h2c prior knowledge, beside the open gRPC
	// connection: each on a connection of its own, served by net/http.
	for name, opt := range map[string]connect.ClientOption{"connect": nil, "grpc-web": connect.WithGRPCWeb()} {
		t.Run(name+" over h2c still reaches the method, through net/http", func(t *testing.T) {
			var opts []connect.ClientOption
			if opt != nil {
				opts = append(opts, opt)
			}
			client := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](h2cClient(), srv.URL()+"/test.v1.Echo/Say", opts...)
			for i := range 3 { // several calls on the one connection
				resp, err := client.CallUnary(t.Context(), connect.NewRequest(wrapperspb.String(name)))
				if err != nil || resp.Msg.GetValue() != "Hello, "+name+"!" {
					t.Fatalf("call %d: %v, %v", i, resp, err)
				}
				if resp.Header().Get("Date") == "" {
					t.Errorf("call %d was not answered by net/http", i)
				}
			}
		})
	}
	t.Run("and the gRPC connection serves on", func(t *testing.T) {
		if got, err := say(t.Context(), conn, "Say", "again"); err != nil || got != "Hello, again!" {
			t.Errorf("%q, %v", got, err)
		}
	})
}

// TestTheGRPCPathAnswersAsTheConnectPath: the same failures give the same
// codes, messages and details through grpc-go's server as through
// connect-go's handlers.
func TestTheGRPCPathAnswersAsTheConnectPath(t *testing.T) {
	srv, fake := startTest(t)
	conn := grpcClient(t, srv)
	connectClient := func(method string) *connect.Client[wrapperspb.StringValue, wrapperspb.StringValue] {
		return connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](http.DefaultClient, srv.URL()+"/test.v1.Echo/"+method)
	}

	t.Run("an error reply keeps its code, message and typed details", func(t *testing.T) {
		_, err := say(t.Context(), conn, "Fail", "x")
		st := status.Convert(err)
		_, cerr := connectClient("Fail").CallUnary(t.Context(), connect.NewRequest(wrapperspb.String("x")))
		ce := asConnect(cerr)
		if st.Code() != codes.NotFound || st.Message() != "no such thing" {
			t.Errorf("grpc-go: %v", err)
		}
		if int(st.Code()) != int(ce.Code()) || st.Message() != ce.Message() {
			t.Errorf("grpc-go: %v; connect: %v", err, cerr)
		}
		details := st.Details()
		if len(details) != 1 || len(ce.Details()) != 1 {
			t.Fatalf("details: grpc-go %v, connect %v", details, ce.Details())
		}
		cv, _ := ce.Details()[0].Value()
		if d, ok := details[0].(*wrapperspb.StringValue); !ok || d.GetValue() != "why" || !proto.Equal(d, cv) {
			t.Errorf("detail: grpc-go %v, connect %v", details[0], cv)
		}
	})
	t.Run("the client's deadline bounds the call", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond) // the service's budget is 2s
		defer cancel()
		if _, err := say(ctx, conn, "Slow", "x"); status.Code(err) != codes.DeadlineExceeded {
			t.Errorf("%v, want DeadlineExceeded", err)
		}
	})
	t.Run("the service's budget bounds the call, with the connect path's message", func(t *testing.T) {
		// Both calls at once: each waits for the service's 2s budget.
		var cerr error
		var both sync.WaitGroup
		both.Go(func() {
			_, cerr = connectClient("Slow").CallUnary(t.Context(), connect.NewRequest(wrapperspb.String("x")))
		})
		_, err := say(t.Context(), conn, "Slow", "x")
		both.Wait()
		st, ce := status.Convert(err), asConnect(cerr)
		if st.Code() != codes.DeadlineExceeded || ce.Code() != connect.CodeDeadlineExceeded || st.Message() != ce.Message() {
			t.Errorf("grpc-go: %v; connect: %v", err, cerr)
		}
	})
	t.Run("a request over abi.MaxPayload is refused, and nothing reaches the service", func(t *testing.T) {
		fake.mu.Lock()
		before := fake.calls
		fake.mu.Unlock()
		big := strings.Repeat("a", abi.MaxPayload+1)
		_, err := say(t.Context(), conn, "Say", big)
		if status.Code(err) != codes.ResourceExhausted {
			t.Errorf("%.200v, want ResourceExhausted", err)
		}
		fake.mu.Lock()
		defer fake.mu.Unlock()
		if fake.calls != before {
			t.Error("the request reached the service")
		}
	})
	const served = "test.v1.Echo (each method at POST /SERVICE/METHOD, and the REST routes of the methods' google.api.http annotations)"
	for _, c := range []struct{ why, method, want string }{
		{"an unknown method", "/test.v1.Echo/Nope", "test.v1.Echo has no method Nope; its methods are Say, Fail, Slow, Boom"},
		{"a misspelt method", "/test.v1.Echo/Sya", "test.v1.Echo has no method Sya (did you mean Say?); its methods are Say, Fail, Slow, Boom"},
		{"a service the gateway does not list", "/test.v1.Hidden/Say", "this gateway serves no service test.v1.Hidden; it serves " + served},
		{"a service of another file of the app", "/other.v1.Vault/Open", "this gateway serves no service other.v1.Vault; it serves " + served},
		{"a streaming method", "/test.v1.Echo/Stream", "/test.v1.Echo/Stream streams, and the gateway serves unary methods only"},
	} {
		t.Run(c.why+" is unimplemented, as through connect-go", func(t *testing.T) {
			err := conn.Invoke(t.Context(), c.method, wrapperspb.String("x"), new(wrapperspb.StringValue))
			if st := status.Convert(err); st.Code() != codes.Unimplemented || st.Message() != c.want {
				t.Errorf("%v, want Unimplemented: %s", err, c.want)
			}
			client := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](http.DefaultClient, srv.URL()+c.method, connect.WithGRPCWeb())
			_, cerr := client.CallUnary(t.Context(), connect.NewRequest(wrapperspb.String("x")))
			if connect.CodeOf(cerr) != connect.CodeUnimplemented || asConnect(cerr).Message() != c.want {
				t.Errorf("the connect path: %v, want unimplemented: %s", cerr, c.want)
			}
		})
	}
	t.Run("a call that panics fails alone, and the connection serves on", func(t *testing.T) {
		_, err := say(t.Context(), conn, "Boom", "x")
		if st := status.Convert(err); st.Code() != codes.Internal || st.Message() != "the gateway failed while calling test.v1.Echo/Boom" {
			t.Errorf("%v, want Internal", err)
		}
		if got, err := say(t.Context(), conn, "Say", "after"); err != nil || got != "Hello, after!" {
			t.Errorf("after the panic: %q, %v", got, err)
		}
	})
	t.Run("a client's traceparent is the call's parent", func(t *testing.T) {
		const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
		ctx := metadata.AppendToOutgoingContext(t.Context(), "traceparent", parent)
		if _, err := say(ctx, conn, "Say", "x"); err != nil {
			t.Fatal(err)
		}
		fake.mu.Lock()
		defer fake.mu.Unlock()
		if fake.trace.Traceparent() != parent {
			t.Errorf("the call's parent is %s, want %s", fake.trace.Traceparent(), parent)
		}
	})
}

func TestReflectionOverGRPCGoShowsOnlyWhatTheGatewayServes(t *testing.T) {
	srv, _ := startTest(t)
	conn := grpcClient(t, srv)
	t.Run("v1", func(t *testing.T) {
		stream, err := reflectionv1.NewServerReflectionClient(conn).ServerReflectionInfo(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		ask := func(req *reflectionv1.ServerReflectionRequest) *reflectionv1.ServerReflectionResponse {
			if err := stream.Send(req); err != nil {
				t.Fatal(err)
			}
			resp, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			return resp
		}
		var names []string
		for _, s := range ask(&reflectionv1.ServerReflectionRequest{MessageRequest: &reflectionv1.ServerReflectionRequest_ListServices{}}).GetListServicesResponse().GetService() {
			names = append(names, s.GetName())
		}
		if fmt.Sprint(names) != "[test.v1.Echo grpc.health.v1.Health]" {
			t.Errorf("services listed: %v", names)
		}
		if resp := ask(&reflectionv1.ServerReflectionRequest{MessageRequest: &reflectionv1.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "test.v1.Echo"}}); resp.GetFileDescriptorResponse() == nil {
			t.Errorf("describing the served service: %v", resp.GetErrorResponse())
		}
		for _, unserved := range []string{"other.v1.Vault", "test.v1.Hidden"} {
			resp := ask(&reflectionv1.ServerReflectionRequest{MessageRequest: &reflectionv1.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: unserved}})
			if resp.GetErrorResponse() == nil || codes.Code(resp.GetErrorResponse().GetErrorCode()) != codes.NotFound {
				t.Errorf("reflection describes %s, a service of the app that the gateway does not serve", unserved)
			}
		}
	})
	t.Run("v1alpha", func(t *testing.T) {
		if names := listV1alpha(t, conn); fmt.Sprint(names) != "[test.v1.Echo grpc.health.v1.Health]" {
			t.Errorf("services listed: %v", names)
		}
	})
}

func TestHealthOverGRPCGoFollowsTheService(t *testing.T) {
	srv, be := startProbed(t)
	health := healthpb.NewHealthClient(grpcClient(t, srv))
	check := func(service string) string {
		resp, err := health.Check(t.Context(), &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			st := status.Convert(err)
			return st.Code().String() + ": " + st.Message()
		}
		return resp.GetStatus().String()
	}
	for _, up := range []bool{true, false, true} {
		be.up.Store(up)
		want := map[bool]string{true: "SERVING", false: "NOT_SERVING"}[up]
		if got := check("test.v1.Echo"); got != want {
			t.Errorf("service up=%v: test.v1.Echo is %s, want %s", up, got, want)
		}
		if got := check(""); got != want {
			t.Errorf("service up=%v: the gateway is %s, want %s", up, got, want)
		}
	}
	if got := check("test.v1.Hidden"); got != "NotFound: this gateway serves no service test.v1.Hidden" {
		t.Errorf("a service the gateway does not serve: %s", got)
	}
	stream, err := health.Watch(t.Context(), &healthpb.HealthCheckRequest{})
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("Watch: %v, want Unimplemented, as through connect-go", err)
	}
}

// TestSilentAndGarbageConnectionsBlockNoOne: connections that send nothing,
// half a preface, a preface and then nothing, or garbage, delay no gRPC
// call on another connection, and are closed once the gateway's limit
// (shortened here) has passed.
func TestSilentAndGarbageConnectionsBlockNoOne(t *testing.T) {
	srv := startWithLimits(t, clientLimits{readHeader: 300 * time.Millisecond, read: 500 * time.Millisecond})
	addr := strings.TrimPrefix(srv.URL(), "http://")
	var conns []net.Conn
	for _, sent := range []string{
		"",                                     // nothing
		"PRI * HTTP/2.0\r\n",                   // half the preface
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",     // the preface, then nothing
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00", // the preface, then part of a frame
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 garbage, as if TLS",
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte(sent)); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	t.Run("a gRPC call on another connection is answered", func(t *testing.T) {
		// The test's limits hold this client to 300 ms for its own
		// preface and headers: on a starved machine it may be cut off
		// too, and then connects again rather than fail the call.
		if got, err := say(t.Context(), grpcClient(t, srv), "Say", "meanwhile", grpc.WaitForReady(true)); err != nil || got != "Hello, meanwhile!" {
			t.Errorf("%q, %v", got, err)
		}
	})
	t.Run("each is closed", func(t *testing.T) {
		for i, c := range conns {
			// 20s is only the test's bound.
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, err := io.ReadAll(c)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("connection %d was kept for 20s", i)
			}
		}
		srv.sniff.mu.Lock()
		defer srv.sniff.mu.Unlock()
		if n := len(srv.sniff.matching); n != 0 {
			t.Errorf("the sniffer still holds %d connections", n)
		}
	})
}

// TestOneH2CConnectionIsRoutedByItsFirstRequest: the limitation docs/GATEWAY.md
// states. On a cleartext HTTP/2 connection that began with gRPC in
// protobuf, a Connect request gets HTTP 415 and a gRPC request in JSON
// Unimplemented; a gRPC request on a connection that began with Connect
// is served (by net/http).
func TestOneH2CConnectionIsRoutedByItsFirstRequest(t *testing.T) {
	srv, _ := startTest(t)
	client := h2cClient()
	defer client.CloseIdleConnections()
	grpcCall := func(contentType string, body []byte) *http.Response {
		r, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL()+"/test.v1.Echo/Say",
			bytes.NewReader(append(binary.BigEndian.AppendUint32([]byte{0}, uint32(len(body))), body...)))
		r.Header.Set("Content-Type", contentType)
		r.Header.Set("TE", "trailers")
		resp, err := client.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	status := func(resp *http.Response) string {
		return resp.Trailer.Get("Grpc-Status") + resp.Header.Get("Grpc-Status")
	}
	b, _ := proto.Marshal(wrapperspb.String("x"))
	if resp := grpcCall("application/grpc", b); status(resp) != "0" {
		t.Fatalf("the first gRPC call: %s %v %v", resp.Status, resp.Header, resp.Trailer)
	}
	if resp := grpcCall("application/grpc+json", []byte(`{"name":"x"}`)); status(resp) != "12" {
		t.Errorf("gRPC in JSON after it: %s %v %v, want Unimplemented", resp.Status, resp.Header, resp.Trailer)
	}
	connectClient := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](client, srv.URL()+"/test.v1.Echo/Say")
	_, err := connectClient.CallUnary(t.Context(), connect.NewRequest(wrapperspb.String("x")))
	if ce := asConnect(err); err == nil || !strings.Contains(ce.Message(), "415") {
		t.Errorf("Connect after it: %v, want HTTP 415", err)
	}

	other := h2cClient()
	defer other.CloseIdleConnections()
	first := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](other, srv.URL()+"/test.v1.Echo/Say")
	if _, err := first.CallUnary(t.Context(), connect.NewRequest(wrapperspb.String("x"))); err != nil {
		t.Fatal(err)
	}
	then := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](other, srv.URL()+"/test.v1.Echo/Say", connect.WithGRPC())
	if resp, err := then.CallUnary(t.Context(), connect.NewRequest(wrapperspb.String("y"))); err != nil || resp.Msg.GetValue() != "Hello, y!" {
		t.Errorf("gRPC on a connection that began with Connect: %v, %v", resp, err)
	}
}

// TestStopFinishesTheGRPCCallsInFlight: Stop lets a gRPC call in flight
// finish, then refuses new connections; a deliberate stop is no failure
// to watch.
func TestStopFinishesTheGRPCCallsInFlight(t *testing.T) {
	srv, fake := startTest(t)
	fake.later = make(chan struct{})
	failed := make(chan error, 1)
	watched := make(chan struct{})
	go func() { srv.watch(failed); close(watched) }()
	conn := grpcClient(t, srv)
	result := make(chan error, 1)
	go func() {
		_, err := say(context.Background(), conn, "Fail", "x")
		result <- err
	}()
	for {
		fake.mu.Lock()
		n := fake.calls
		fake.mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	var stopping sync.WaitGroup
	stopping.Go(srv.Stop)
	time.Sleep(50 * time.Millisecond) // Stop is waiting for the call
	close(fake.later)
	if err := <-result; err != nil {
		t.Errorf("the call in flight got %v, want its reply", err)
	}
	stopping.Wait()
	<-watched
	select {
	case err := <-failed:
		t.Errorf("watch reported a deliberate stop: %v", err)
	default:
	}
	if _, err := net.Dial("tcp", strings.TrimPrefix(srv.URL(), "http://")); err == nil {
		t.Error("the gateway still accepts after Stop")
	}
}

// TestAGRPCRequestThatNeverArrivesIsCutOff: a gRPC client that sends a
// call's headers and never its message holds its stream no longer than
// the gateway's read limit, as an HTTP client's request does, and is told
// why; a call beside it, on the same connection, is answered.
func TestAGRPCRequestThatNeverArrivesIsCutOff(t *testing.T) {
	srv := startWithLimits(t, clientLimits{readHeader: 5 * time.Second, read: 300 * time.Millisecond})
	conn := grpcClient(t, srv)
	// No deadline (a client's deadline ends its call with the same code):
	// the test's own bound, far past the gateway's, cancels the call, so a
	// gateway that never cut it off fails with Canceled instead.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(20*time.Second, cancel)
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, "/test.v1.Echo/Say")
	if err != nil {
		t.Fatal(err)
	}
	// Its headers are sent; its message never is.
	if got, err := say(ctx, conn, "Say", "beside it"); err != nil || got == "" {
		t.Errorf("a call beside the waiting one: %q, %v", got, err)
	}
	err = stream.RecvMsg(new(wrapperspb.StringValue))
	if st := status.Convert(err); st.Code() != codes.DeadlineExceeded || st.Message() != "context deadline exceeded" {
		t.Errorf("the call whose request never came ended with %v, want DeadlineExceeded: context deadline exceeded", err)
	}
}

// startWithLimits starts a gateway of test.v1.Echo, both servers, whose
// clients have limits; it is stopped when the test ends.
func startWithLimits(t *testing.T, limits clientLimits) *Server {
	t.Helper()
	return startServing(t, &fakeService{tame: true}, limits)
}

// startServing starts a gateway of test.v1.Echo, which svc answers, with
// the limits given.
func startServing(t *testing.T, svc *fakeService, limits clientLimits) *Server {
	t.Helper()
	schema, err := ParseSchema(testSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	be := backend{find: services{svc}, caller: native.NewCaller(NativeIdentity), log: slog.Default()}
	h, err := newHandler(schema, []string{"test.v1.Echo"}, nil, be, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	g, err := newGRPC(schema, []string{"test.v1.Echo"}, nil, be, slog.Default(), limits)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := listen("test", "127.0.0.1:0", h, g, slog.New(slog.NewTextHandler(io.Discard, nil)), limits)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

// rawGRPC opens a connection to srv and starts a gRPC call of
// test.v1.Echo/Say on it, frame by frame, with the extra headers given: the
// gateway's server sees what a client's bytes say, and nothing in this
// process decides for it (a gRPC codec registered here would be the
// server's too).
func rawGRPC(t *testing.T, srv *Server, extra ...string) *http2.Framer {
	t.Helper()
	host := strings.TrimPrefix(srv.URL(), "http://")
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(time.Minute)) // a hang fails, not a bound on the test's time
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.WriteSettings()
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	fields := append([]string{":method", "POST", ":scheme", "http", ":path", "/test.v1.Echo/Say", ":authority", host,
		"content-type", "application/grpc", "te", "trailers"}, extra...)
	for i := 0; i+1 < len(fields); i += 2 {
		enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndHeaders: true})
	return fr
}

// A gRPC client that compresses its calls (grpc.UseCompressor(gzip)) is
// answered, as net/http's side of the gateway answers one.
func TestACompressedGRPCCallIsServed(t *testing.T) {
	srv, _ := startTest(t)
	fr := rawGRPC(t, srv, "grpc-encoding", "gzip")
	req, _ := proto.Marshal(wrapperspb.String("gz"))
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(req)
	zw.Close()
	msg := append([]byte{1}, binary.BigEndian.AppendUint32(nil, uint32(z.Len()))...) // compressed, its length
	fr.WriteData(1, true, append(msg, z.Bytes()...))
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no trailers: %v", err)
		}
		if h, ok := f.(*http2.MetaHeadersFrame); ok && h.StreamEnded() {
			if hasField(h.Fields, "grpc-status", "0") {
				return
			}
			t.Fatalf("the call failed: %v", h.Fields)
		}
	}
}

// hasField reports whether fields hold name with value.
func hasField(fields []hpack.HeaderField, name, value string) bool {
	for _, f := range fields {
		if f.Name == name && f.Value == value {
			return true
		}
	}
	return false
}

// A gRPC connection says how many calls it may have open at once, so that
// a client opening streams it never sends a message on cannot hold the
// gateway's memory without bound.
func TestAGRPCConnectionMayOpenABoundedNumberOfCalls(t *testing.T) {
	srv, _ := startTest(t)
	fr := rawGRPC(t, srv)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no SETTINGS from the server: %v", err)
		}
		// The gateway's sniffer sends an empty SETTINGS frame first; grpc-go's
		// server then sends its own.
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			if v, ok := sf.Value(http2.SettingMaxConcurrentStreams); ok {
				if v != maxStreams {
					t.Errorf("SETTINGS_MAX_CONCURRENT_STREAMS %d, want %d", v, maxStreams)
				}
				return
			}
		}
		if _, ok := f.(*http2.MetaHeadersFrame); ok {
			t.Fatal("the server answered without saying how many calls the connection may open")
		}
	}
}

// A gRPC client that stops reading its connection (a stuck process, or one
// that asks for replies it never takes) loses it once it has sent nothing
// for the gateway's write limit and not answered a PING within that limit
// more, and with it the replies grpc-go's transport held for it: they
// were kept for good, as large as the calls had asked for, and each
// connection may hold 250 calls. A client beside it is served throughout.
func TestAGRPCClientThatStopsReadingIsCutOff(t *testing.T) {
	srv := startWithLimits(t, clientLimits{readHeader: 5 * time.Second, read: 5 * time.Second, write: time.Second})
	host := strings.TrimPrefix(srv.URL(), "http://")
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	fr.WriteSettings()
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", "/test.v1.Echo/Say"}, {":authority", host},
		{"content-type", "application/grpc"}, {"te", "trailers"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	req, _ := proto.Marshal(wrapperspb.String("a megabyte"))
	msg := append(binary.BigEndian.AppendUint32([]byte{0}, uint32(len(req))), req...)
	for id := uint32(1); id <= 15; id += 2 { // 8 calls, each for a megabyte: never read
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block.Bytes(), EndHeaders: true})
		fr.WriteData(id, true, msg)
	}
	if got, err := say(t.Context(), grpcClient(t, srv), "Say", "beside it"); err != nil || got != "Hello, beside it!" {
		t.Errorf("a call on another connection: %q, %v", got, err)
	}
	// After the limit twice over (the time to be asked, the time to
	// answer), the gateway has closed the connection: what it sent is
	// there to read, then its end. 20s is only the test's bound.
	time.Sleep(3 * time.Second)
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	got, err := io.ReadAll(c)
	if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("the connection is still open after %d bytes, holding its replies", len(got))
	}
}

// A connection that begins as HTTP/2 and does not send its first
// request's headers whole in time (they go on in CONTINUATION frames that
// never end) is closed at the gateway's limit, as one that sends nothing
// is; so is one whose later request's headers never end, once it has not
// answered a PING in time. Handed to net/http, whose HTTP/2 server bounds
// no header block, such a connection was kept until its idle timeout,
// minutes later, holding the headers it had sent so far (up to 1 MiB,
// twice over): five hundred of them held 1.4 GB of the gateway's memory.
func TestAnHTTP2RequestWhoseHeadersNeverEndIsCutOff(t *testing.T) {
	srv := startWithLimits(t, clientLimits{readHeader: 300 * time.Millisecond, read: 500 * time.Millisecond, write: 300 * time.Millisecond})
	host := strings.TrimPrefix(srv.URL(), "http://")
	for _, c := range []struct {
		ct    string
		first bool // a whole request, answered, comes first
	}{{"application/grpc", false}, {"application/json", false}, {"application/json", true}} {
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.Write([]byte(http2.ClientPreface))
		fr := http2.NewFramer(conn, conn)
		fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
		fr.WriteSettings()
		var block bytes.Buffer
		enc := hpack.NewEncoder(&block)
		for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", "/test.v1.Echo/Say"}, {":authority", host}, {"content-type", c.ct}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		id := uint32(1)
		if c.first {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block.Bytes(), EndHeaders: true})
			fr.WriteData(id, true, []byte(`{"name":"first"}`))
			for answered := false; !answered; {
				f, err := fr.ReadFrame()
				if err != nil {
					t.Fatalf("%s: no answer to the first request: %v", c.ct, err)
				}
				switch f := f.(type) {
				case *http2.SettingsFrame:
					if !f.IsAck() {
						fr.WriteSettingsAck()
					}
				case *http2.DataFrame:
					answered = f.StreamEnded()
				}
			}
			id = 3
		}
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block.Bytes()}) // no END_HEADERS
		block.Reset()
		enc.WriteField(hpack.HeaderField{Name: "x-padding", Value: strings.Repeat("p", 10000)})
		for range 10 {
			fr.WriteContinuation(id, false, block.Bytes())
		}
		// 20s is only the test's bound; the connection is closed after
		// 300ms, or 600ms, however long the machine takes.
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, err = io.ReadAll(conn)
		if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("%s (after a first request: %v): a request whose headers never end kept its connection for 20s", c.ct, c.first)
		}
	}
	if got, err := say(t.Context(), grpcClient(t, srv), "Say", "after"); err != nil || got != "Hello, after!" {
		t.Errorf("a call after them: %q, %v", got, err)
	}
	srv.sniff.mu.Lock()
	defer srv.sniff.mu.Unlock()
	if n := len(srv.sniff.matching); n != 0 {
		t.Errorf("the sniffer still holds %d connections", n)
	}
}
