package gateway

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	neturl "net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"
	"github.com/bufbuild/protocompile"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/native"
	"parigot.dev/parigot/runtime/internal/route"
)

// testProto is the app of these tests: Echo is served, Hidden is not.
const testProto = `syntax = "proto3";
package test.v1;
import "google/api/annotations.proto";
message SayRequest { string name = 1; bytes data = 2; string user_name = 3; }
message SayResponse { string greeting = 1; bytes data = 2; string user_name = 3; }
service Echo {
  rpc Say(SayRequest) returns (SayResponse) {
    option (google.api.http) = {
      post: "/v1/say/{name}" body: "*"
      additional_bindings { get: "/v1/greet/{name}" }
      additional_bindings { put: "/v1/greet/{name}/data" body: "data" }
      additional_bindings { get: "/v1/users/{user_name}" }
      additional_bindings { patch: "/v1/greet/{name}" body: "user_name" }
    };
    option idempotency_level = NO_SIDE_EFFECTS; // Connect clients may GET it
  }
  rpc Fail(SayRequest) returns (SayResponse);
  rpc Slow(SayRequest) returns (SayResponse);
  rpc Boom(SayRequest) returns (SayResponse);
  rpc Stream(SayRequest) returns (stream SayResponse);
}
service Hidden {
  rpc Say(SayRequest) returns (SayResponse);
}
`

// otherProto is a file of the app that the gateway does not serve.
const otherProto = `syntax = "proto3";
package other.v1;
message Secret { string key = 1; }
service Vault {
  rpc Open(Secret) returns (Secret);
}
`

// testSchema compiles testProto into the descriptors parigot build writes.
func testSchema(t testing.TB) []byte {
	t.Helper()
	return compileSchema(t, map[string]string{"test/v1/test.proto": testProto, "other/v1/other.proto": otherProto}, "test/v1/test.proto", "other/v1/other.proto")
}

// compileSchema compiles the files of sources named by paths (with the
// files they import, google.api's too) into the descriptors parigot
// build writes.
func compileSchema(t testing.TB, sources map[string]string, paths ...string) []byte {
	t.Helper()
	comp := protocompile.Compiler{Resolver: protocompile.WithStandardImports(protocompile.CompositeResolver{
		&protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(sources)},
		protocompile.ResolverFunc(func(p string) (protocompile.SearchResult, error) {
			switch p {
			case "google/api/annotations.proto":
				return protocompile.SearchResult{Desc: annotations.File_google_api_annotations_proto}, nil
			case "google/api/http.proto":
				return protocompile.SearchResult{Desc: annotations.File_google_api_http_proto}, nil
			}
			return protocompile.SearchResult{}, fs.ErrNotExist
		}),
	})}
	files, err := comp.Compile(context.Background(), paths...)
	if err != nil {
		t.Fatal(err)
	}
	set := &descriptorpb.FileDescriptorSet{}
	seen := map[string]bool{}
	var add func(f protoreflect.FileDescriptor)
	add = func(f protoreflect.FileDescriptor) {
		if seen[f.Path()] {
			return
		}
		seen[f.Path()] = true
		for i := 0; i < f.Imports().Len(); i++ {
			add(f.Imports().Get(i).FileDescriptor)
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(f))
	}
	for _, f := range files {
		add(f)
	}
	b, err := proto.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeService answers calls as a guest would, from another goroutine.
type fakeService struct {
	mu    sync.Mutex
	calls int
	tame  bool // answers every call at once, and never panics (fuzzing)
	// later, when set, holds the answer to Fail until it is closed.
	later chan struct{}
	trace abi.TraceContext // the last call's parent span
	// header is the last call's header (the request headers passed on).
	header []byte
}

func (f *fakeService) GuestName() string            { return "echo" }
func (f *fakeService) MethodTimeout() time.Duration { return 2 * time.Second }

func (f *fakeService) Deliver(ev abi.Event, from route.Endpoint) route.Refusal {
	f.mu.Lock()
	f.calls++
	f.trace = ev.Trace
	f.header = ev.Header()
	f.mu.Unlock()
	switch {
	case f.tame:
	case ev.Method == "test.v1.Echo/Boom":
		panic("the fake service's Boom")
	case ev.Method == "test.v1.Echo/Slow":
		return route.Accepted // never answers
	case ev.Method == "test.v1.Echo/Fail" && f.later != nil:
		go func() { // answers once told to
			<-f.later
			from.Deliver(abi.Event{Kind: abi.KindReply, CallID: ev.CallID, Payload: nil}, nil)
		}()
		return route.Accepted
	}
	go func() {
		reply := abi.Event{Kind: abi.KindReply, CallID: ev.CallID}
		switch ev.Method {
		case "test.v1.Echo/Say":
			req := &wrapperspb.StringValue{} // field 1 is a string in both
			proto.Unmarshal(ev.Payload, req)
			if req.GetValue() == "unknown" { // a method's own failure of code unknown
				reply = abi.ErrorEvent(ev.CallID, abi.CodeUnknown, "the method does not know")
				break
			}
			if req.GetValue() == "garbage" { // bytes of the guest's own, not a message
				reply.Payload = []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02, 0x03}
				break
			}
			if req.GetValue() == "a megabyte" { // a large reply to a small request
				reply.Payload, _ = proto.Marshal(wrapperspb.String(strings.Repeat("m", 1<<20)))
				break
			}
			resp, _ := proto.Marshal(wrapperspb.String("Hello, " + req.GetValue() + "!"))
			reply.Payload = append(append(resp, fieldsNumbered(ev.Payload, 2)...), fieldsNumbered(ev.Payload, 3)...) // data and user_name, as they came
		case "test.v1.Echo/Fail":
			detail, _ := anypb.New(wrapperspb.String("why"))
			db, _ := proto.Marshal(detail)
			reply = abi.Event{Kind: abi.KindReply, CallID: ev.CallID, Code: abi.CodeNotFound, Payload: abi.EncodeError(abi.CodeNotFound, "no such thing", db)}
		default:
			reply = abi.ErrorEvent(ev.CallID, abi.CodeUnimplemented, "no method "+ev.Method)
		}
		from.Deliver(reply, nil)
	}()
	return route.Accepted
}

// services finds the fake for every service.
type services struct{ ep route.Endpoint }

func (s services) Service(name string) route.Endpoint { return s.ep }

// startTest serves the Echo service of testProto on a free port.
func startTest(t testing.TB) (*Server, *fakeService) {
	t.Helper()
	schema, err := ParseSchema(testSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeService{}
	srv, err := Start(Spec{Name: "test", Listen: "127.0.0.1:0", Services: []string{"test.v1.Echo"}}, schema,
		services{fake}, native.NewCaller(NativeIdentity), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv, fake
}

// fieldsNumbered is the encoded fields of msg numbered n, as they are.
func fieldsNumbered(msg []byte, n protowire.Number) []byte {
	var out []byte
	for len(msg) > 0 {
		num, typ, tl := protowire.ConsumeTag(msg)
		if tl < 0 {
			break
		}
		vl := protowire.ConsumeFieldValue(num, typ, msg[tl:])
		if vl < 0 {
			break
		}
		if num == n {
			out = append(out, msg[:tl+vl]...)
		}
		msg = msg[tl+vl:]
	}
	return out
}

func post(t *testing.T, url, contentType, body string, header ...string) (*http.Response, string) {
	t.Helper()
	return send(t, http.MethodPost, url, contentType, body, header...)
}

// send makes an HTTP request of the given method and returns its answer
// and body.
func send(t *testing.T, method, url, contentType, body string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1]) // a name may come twice
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestGatewayOverHTTP(t *testing.T) {
	srv, fake := startTest(t)
	url := srv.URL()

	t.Run("Connect's unary JSON, as curl sends it, reaches the method", func(t *testing.T) {
		resp, body := post(t, url+"/test.v1.Echo/Say", "application/json", `{"name":"x"}`)
		if resp.StatusCode != 200 || !strings.Contains(body, `"greeting":"Hello, x!"`) {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("a malformed timeout or an encoding the gateway does not read is refused in the call's protocol", func(t *testing.T) {
		for _, c := range []struct {
			name        string
			contentType string
			header      []string
			status      int
			want        []string // in the body, or for gRPC in Grpc-Status and Grpc-Message
		}{
			{"Connect, a timeout not a number", "application/json", []string{"Connect-Timeout-Ms", "abc"}, 400,
				[]string{`"code":"invalid_argument"`, `Connect-Timeout-Ms \"abc\" is not a timeout`}},
			{"Connect, a timeout too long", "application/json", []string{"Connect-Timeout-Ms", "99999999999999999999"}, 400,
				[]string{`"code":"invalid_argument"`, "1 to 10 digits"}},
			{"Connect, a negative timeout", "application/proto", []string{"Connect-Timeout-Ms", "-5"}, 400,
				[]string{`"code":"invalid_argument"`, `Connect-Timeout-Ms \"-5\"`}},
			{"Connect, a body in br", "application/json", []string{"Content-Encoding", "br"}, 501,
				[]string{`"code":"unimplemented"`, `Content-Encoding \"br\" is not one the gateway reads`}},
			{"gRPC-Web, a timeout without its unit", "application/grpc-web+proto", []string{"Grpc-Timeout", "zz"}, 200,
				[]string{"3", `grpc-timeout "zz" is not a timeout`}},
		} {
			resp, body := post(t, url+"/test.v1.Echo/Say", c.contentType, `{"name":"x"}`, c.header...)
			got := body
			if strings.HasPrefix(c.contentType, "application/grpc") {
				msg, _ := neturl.PathUnescape(resp.Header.Get("Grpc-Message"))
				got = resp.Header.Get("Grpc-Status") + " " + msg
			}
			if resp.StatusCode != c.status {
				t.Errorf("%s: HTTP %d, want %d: %s", c.name, resp.StatusCode, c.status, got)
			}
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("%s: %q lacks %q", c.name, got, w)
				}
			}
		}
		// A body over the gateway's limit, said so by its Content-Length, is
		// refused as a JSON body read past it is, whatever its encoding.
		over := string(make([]byte, MaxBody+1))
		for _, ct := range []string{"application/proto", "application/grpc-web+proto"} {
			resp, body := post(t, url+"/test.v1.Echo/Say", ct, over)
			got := body
			if strings.HasPrefix(ct, "application/grpc") {
				msg, _ := neturl.PathUnescape(resp.Header.Get("Grpc-Message"))
				got = resp.Header.Get("Grpc-Status") + " " + msg
			}
			want := fmt.Sprintf("the request body is larger than the gateway's limit of %d bytes", MaxBody)
			if status := map[bool]int{true: 200, false: 413}[strings.HasPrefix(ct, "application/grpc")]; resp.StatusCode != status || !strings.Contains(got, want) ||
				!strings.Contains(got, "resource_exhausted") && !strings.HasPrefix(got, "8 ") {
				t.Errorf("%s, a body of %d bytes: %d %.300s", ct, MaxBody+1, resp.StatusCode, got)
			}
		}
		// A well-formed timeout passes.
		if resp, body := post(t, url+"/test.v1.Echo/Say", "application/json", `{"name":"x"}`, "Connect-Timeout-Ms", "5000"); resp.StatusCode != 200 {
			t.Errorf("Connect-Timeout-Ms 5000: %d %s", resp.StatusCode, body)
		}
		// So does a timeout of hours, up to the 8 digits gRPC allows.
		for _, timeout := range []string{"8H", "9H", "24H", "1666666H", "1666667H", "99999999H"} {
			resp, body := post(t, url+"/test.v1.Echo/Say", "application/grpc-web+proto", "\x00\x00\x00\x00\x03\x0a\x01x", "Grpc-Timeout", timeout)
			if resp.StatusCode != 200 || resp.Header.Get("Grpc-Status") != "" || !strings.Contains(body, "Hello, x!") {
				msg, _ := neturl.PathUnescape(resp.Header.Get("Grpc-Message"))
				t.Errorf("gRPC-Web, grpc-timeout %s: HTTP %d, grpc-status %q %q: %q", timeout, resp.StatusCode, resp.Header.Get("Grpc-Status"), msg, body)
			}
		}
	})
	t.Run("a REST path of a google.api.http annotation reaches the method", func(t *testing.T) {
		resp, body := post(t, url+"/v1/say/rest", "application/json", `{}`)
		if resp.StatusCode != 200 || !strings.Contains(body, `"greeting":"Hello, rest!"`) {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("a method without side effects is served to Connect's GET, as connect-go serves it", func(t *testing.T) {
		for _, q := range []string{
			"message=" + neturl.QueryEscape(`{"name":"g"}`) + "&encoding=json&connect=v1",
			"message=CgFn&encoding=proto&base64=1&connect=v1", // name "g", base64 of the binary form
		} {
			resp, err := http.Get(url + "/test.v1.Echo/Say?" + q)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), "Hello, g!") {
				t.Errorf("GET ?%s: %d %q", q, resp.StatusCode, body)
			}
		}
	})
	t.Run("Connect's GET of a method that may have side effects is refused in Connect's JSON, saying how to allow it", func(t *testing.T) {
		resp, err := http.Get(url + "/test.v1.Echo/Fail?message=" + neturl.QueryEscape(`{"name":"g"}`) + "&encoding=json&connect=v1")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct{ Code, Message string }
		json.Unmarshal(body, &e)
		const want = "test.v1.Echo/Fail takes POST: Connect's GET calls only a method whose proto declares it free of side effects; call it with POST, or, if it changes nothing, add option idempotency_level = NO_SIDE_EFFECTS; to its rpc"
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" || resp.Header.Get("Content-Type") != "application/json" ||
			e.Code != "unimplemented" || e.Message != want {
			t.Errorf("%d (Allow %q, %s) %s\nwant 405, Allow POST, code unimplemented, saying %s", resp.StatusCode, resp.Header.Get("Allow"), resp.Header.Get("Content-Type"), body, want)
		}
	})
	t.Run("a REST path variable is decoded once, as the client encoded it", func(t *testing.T) {
		for sent, want := range map[string]string{
			"a%2541":    "a%41", // an escaped %, then 41: not an A
			"100%25":    "100%", // a value ending in %
			"a%2Fb":     "a/b",  // an escaped / is part of the one segment
			"caf%C3%A9": "café", // UTF-8, escaped
		} {
			resp, body := post(t, url+"/v1/say/"+sent, "application/json", `{}`)
			if resp.StatusCode != 200 || !strings.Contains(body, `"greeting":"Hello, `+want+`!"`) {
				t.Errorf("/v1/say/%s: %d %s, want the method to get %q", sent, resp.StatusCode, body, want)
			}
		}
	})
	t.Run("an application error keeps its code, message and details", func(t *testing.T) {
		resp, body := post(t, url+"/test.v1.Echo/Fail", "application/json", `{}`)
		var e struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Details []struct {
				Type string `json:"type"`
			} `json:"details"`
		}
		json.Unmarshal([]byte(body), &e)
		if resp.StatusCode != 404 || e.Code != "not_found" || e.Message != "no such thing" || len(e.Details) != 1 || e.Details[0].Type != "google.protobuf.StringValue" {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("malformed JSON is a bad request, and nothing reaches the service", func(t *testing.T) {
		before := fake.calls
		resp, body := post(t, url+"/test.v1.Echo/Say", "application/json", `{"name":`)
		if resp.StatusCode != 400 || !strings.Contains(body, "invalid_argument") {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
		if fake.calls != before {
			t.Error("the malformed request reached the service")
		}
	})
	t.Run("JSON that is not the method's request is a bad request, and nothing reaches the service", func(t *testing.T) {
		for _, b := range []string{`{"name":5}`, `{"name":{"a":1}}`, `[1,2]`, `"x"`} {
			before := fake.calls
			resp, body := post(t, url+"/test.v1.Echo/Say", "application/json", b)
			if resp.StatusCode != 400 || !strings.Contains(body, `"code":"invalid_argument"`) || !strings.Contains(body, "is not a test.v1.SayRequest") {
				t.Errorf("%s: %d %s", b, resp.StatusCode, body)
			}
			if fake.calls != before {
				t.Errorf("%s reached the service", b)
			}
		}
	})
	t.Run("fields the request does not have are left out, as Connect's servers do", func(t *testing.T) {
		resp, body := post(t, url+"/test.v1.Echo/Say", "application/json", `{"name":"u","extra":1}`)
		if resp.StatusCode != 200 || !strings.Contains(body, "Hello, u!") {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("a content type spelt otherwise, or a compressed body, is taken", func(t *testing.T) {
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write([]byte(`{"name":"z"}`))
		zw.Close()
		for _, c := range []struct {
			ct, body string
			header   []string
		}{
			{"Application/JSON; charset=utf-8", `{"name":"c"}`, nil},
			{"application/json", gz.String(), []string{"Content-Encoding", "gzip"}},
		} {
			resp, body := post(t, url+"/test.v1.Echo/Say", c.ct, c.body, c.header...)
			if resp.StatusCode != 200 || !strings.Contains(body, "Hello, ") {
				t.Errorf("%q %v: %d %s", c.ct, c.header, resp.StatusCode, body)
			}
		}
	})
	t.Run("a reply that is not a protobuf message fails internal, naming the service, whatever the client's encoding", func(t *testing.T) {
		for _, c := range []struct{ path, ct, body string }{
			{"/test.v1.Echo/Say", "application/json", `{"name":"garbage"}`},
			{"/test.v1.Echo/Say", "application/proto", "\x0a\x07garbage"},
			{"/v1/say/garbage", "application/json", `{}`},
		} {
			resp, body := post(t, url+c.path, c.ct, c.body)
			if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "internal") && !strings.Contains(body, `"code":13`) ||
				!strings.Contains(body, "service echo replied to test.v1.Echo/Say with bytes that are not a protobuf message") {
				t.Errorf("%s %s: %d %s, want 500 internal naming the service", c.path, c.ct, resp.StatusCode, body)
			}
		}
	})
	t.Run("a compressed body is bounded by what it inflates to, not by its compressed size", func(t *testing.T) {
		// 256 MiB of one byte in a quoted string: about 256 KB compressed,
		// well under MaxBody; inflated, far over it.
		var bomb bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
		zw.Write([]byte(`{"name":"`))
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		for range 256 {
			zw.Write(chunk)
		}
		zw.Write([]byte(`"}`))
		zw.Close()
		if bomb.Len() >= MaxBody {
			t.Fatalf("the bomb is %d bytes compressed, not under MaxBody", bomb.Len())
		}
		// A REST body under MaxBody whose message is over a call's 4 MiB:
		// said with what to do, not only in the libraries' words.
		big := `{"data":"` + base64.StdEncoding.EncodeToString(make([]byte, abi.MaxPayload+100)) + `"}`
		if resp, body := post(t, url+"/v1/say/x", "application/json", big); resp.StatusCode != http.StatusTooManyRequests ||
			!strings.Contains(body, `"code":8`) || !strings.Contains(body, "a call carries at most 4 MiB") || !strings.Contains(body, "send less in one call") {
			t.Errorf("a REST message over 4 MiB: %d %.300s", resp.StatusCode, body)
		}
		for _, c := range []struct{ path, ct, wantCode string }{
			{"/test.v1.Echo/Say", "application/json", `"code":"resource_exhausted"`},
			{"/v1/say/x", "application/json", `"code":8`},
			{"/test.v1.Echo/Say", "application/proto", "resource_exhausted"},
		} {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			resp, body := post(t, url+c.path, c.ct, bomb.String(), "Content-Encoding", "gzip")
			runtime.ReadMemStats(&after)
			if resp.StatusCode != http.StatusRequestEntityTooLarge && resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, c.wantCode) {
				t.Errorf("%s %s: %d %s, want resource exhausted", c.path, c.ct, resp.StatusCode, body)
			}
			// Inflating it all would allocate its 256 MiB at least.
			if got := after.TotalAlloc - before.TotalAlloc; got > 64<<20 {
				t.Errorf("%s %s: the gateway allocated %d MiB for a body it refused", c.path, c.ct, got>>20)
			}
		}
		resp, body := post(t, url+"/test.v1.Echo/Say", "application/json", "not gzip at all", "Content-Encoding", "gzip")
		if resp.StatusCode != 400 || !strings.Contains(body, "is not gzip") {
			t.Errorf("a body that is not gzip: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("malformed JSON on a REST path is a bad request, in REST's error form", func(t *testing.T) {
		resp, body := post(t, url+"/v1/say/x", "application/json", `{"data":`)
		if resp.StatusCode != 400 || !strings.Contains(body, `"code":3`) {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("a REST query or body that does not fit the method's request is a bad request, not the server's fault", func(t *testing.T) {
		for _, c := range []struct{ method, path, body, says string }{
			{"GET", "/v1/greet/x?nope=1", "", `query parameter \"nope\" names no field: test.v1.SayRequest has no field \"nope\"`},
			{"POST", "/v1/say/x", `{"data": 5}`, `the request body is not a test.v1.SayRequest (body: \"*\" in the google.api.http rule of test.v1.Echo/Say): field \"data\" takes a string of base64 (bytes), not a number (5)`},
			{"GET", "/v1/greet/x?data=%21%21", "", `query parameter \"data\": \"!!\" is not base64`}, // for a bytes field
		} {
			fake.mu.Lock()
			before := fake.calls
			fake.mu.Unlock()
			resp, body := send(t, c.method, url+c.path, "application/json", c.body)
			if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(body, `"code":3`) || !strings.Contains(body, c.says) {
				t.Errorf("%s %s %s: %d (%s) %s, want 400, invalid argument in JSON, saying %s", c.method, c.path, c.body, resp.StatusCode, resp.Header.Get("Content-Type"), body, c.says)
			}
			// The method is not called, not even with an empty request: a
			// refused request must have no effect.
			time.Sleep(50 * time.Millisecond) // were a call on its way
			fake.mu.Lock()
			called := fake.calls - before
			fake.mu.Unlock()
			if called != 0 {
				t.Errorf("%s %s %s: refused, yet the method was called %d times", c.method, c.path, c.body, called)
			}
		}
		// A path asked with another HTTP method, or a body that is not
		// JSON, is refused in REST's error form too.
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodDelete, url+"/v1/say/x", nil)
		if resp, err := http.DefaultClient.Do(req); err != nil {
			t.Fatal(err)
		} else {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" || resp.Header.Get("Content-Type") != "application/json" ||
				!strings.Contains(string(b), `"code":12`) || !strings.Contains(string(b), "DELETE /v1/say/x: this path takes POST") {
				t.Errorf("DELETE of a POST route: %d (Allow %q, %s) %s", resp.StatusCode, resp.Header.Get("Allow"), resp.Header.Get("Content-Type"), b)
			}
		}
		if resp, body := post(t, url+"/v1/say/x", "text/plain", "hi"); resp.StatusCode != 415 || resp.Header.Get("Content-Type") != "application/json" ||
			!strings.Contains(body, `"code":3`) || !strings.Contains(body, "a REST request's body is JSON (Content-Type: application/json); this one's is text/plain") {
			t.Errorf("a REST body in text/plain: %d (%s) %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		// JSON in an encoding the gateway does not read says which it reads.
		for _, enc := range []string{"deflate", "br", "gzip, gzip"} {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/v1/say/x", strings.NewReader(`{"text":"a"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Content-Encoding", enc)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 415 || !strings.Contains(string(b), `"code":3`) ||
				!strings.Contains(string(b), "sent as it is or compressed with gzip (Content-Encoding: gzip); this one's Content-Encoding is "+enc) {
				t.Errorf("a REST body in JSON with Content-Encoding %s: %d %s", enc, resp.StatusCode, b)
			}
		}
		// A method's own failure of code unknown stays the server's.
		resp, body := post(t, url+"/v1/say/unknown", "application/json", `{}`)
		if resp.StatusCode != 500 || !strings.Contains(body, `"code":2`) || !strings.Contains(body, "the method does not know") {
			t.Errorf("a method failing with code unknown, over REST: %d %s, want 500 and its own error", resp.StatusCode, body)
		}
	})
	t.Run("a method, service or path the gateway does not serve is unimplemented, with what it does serve", func(t *testing.T) {
		for _, c := range []struct {
			path, ct string
			header   []string
			status   int
			code     string
			says     []string
		}{
			{"/test.v1.Echo/Nope", "application/json", []string{"Connect-Protocol-Version", "1"}, 404, "unimplemented",
				[]string{"test.v1.Echo has no method Nope; its methods are Say, Fail, Slow, Boom"}},
			{"/test.v1.Echo/Sya", "application/json", nil, 404, "unimplemented",
				[]string{"has no method Sya (did you mean Say?)"}},
			{"/test.v1.Echo/Stream", "application/json", nil, 404, "unimplemented",
				[]string{"/test.v1.Echo/Stream streams, and the gateway serves unary methods only"}},
			{"/test.v1.Hidden/Say", "application/json", []string{"Connect-Protocol-Version", "1"}, 404, "unimplemented",
				[]string{"this gateway serves no service test.v1.Hidden; it serves test.v1.Echo (each method at POST"}},
			{"/test.v1.Ecko/Say", "application/json", nil, 404, "unimplemented",
				[]string{"(did you mean test.v1.Echo?)"}},
			// A path that is no method's is a REST client's: REST's error
			// form, with the code as a number (12: unimplemented).
			{"/v1/nowhere", "application/json", nil, 404, "12",
				[]string{"no method or REST route at POST /v1/nowhere", "each method at POST /SERVICE/METHOD"}},
			// The path is the client's: it comes back in the message, as sent.
			{"/v1/%3Cscript%3E", "application/json", nil, 404, "12",
				[]string{"no method or REST route at POST /v1/%3Cscript%3E"}},
			// An escaped slash is not a segment's end: the path is shown as sent.
			{"/v1/nowhere/a%2Fb", "application/json", nil, 404, "12",
				[]string{"no method or REST route at POST /v1/nowhere/a%2Fb"}},
			{"/test.v1.Echo/Say", "text/plain", nil, 415, "invalid_argument",
				[]string{`POST /test.v1.Echo/Say with Content-Type "text/plain": call a method with POST and application/json`}},
		} {
			resp, body := post(t, url+c.path, c.ct, `{}`, c.header...)
			var e struct {
				Code    json.RawMessage
				Message string
			}
			json.Unmarshal([]byte(body), &e)
			code := strings.Trim(string(e.Code), `"`) // Connect's is a word, REST's a number
			if resp.StatusCode != c.status || code != c.code {
				t.Errorf("%s (%s): %d %q, want %d and code %s", c.path, c.ct, resp.StatusCode, body, c.status, c.code)
				continue
			}
			for _, want := range c.says {
				if !strings.Contains(e.Message, want) {
					t.Errorf("%s (%s): message %q does not say %q", c.path, c.ct, e.Message, want)
				}
			}
		}
		resp, body := post(t, url+"/v1/%3Cscript%3E", "application/json", `{}`)
		if strings.Contains(body, "<script>") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("a path with markup comes back as it is (%q), or the reply may be sniffed as a page (%q)", body, resp.Header.Get("X-Content-Type-Options"))
		}
	})
	t.Run("a streaming method is not served", func(t *testing.T) {
		_, body := post(t, url+"/test.v1.Echo/Stream", "application/connect+json", "")
		if !strings.Contains(body, `"code":"unimplemented"`) {
			t.Errorf("%q, want unimplemented", body)
		}
	})
	t.Run("a client's deadline bounds the call", func(t *testing.T) {
		resp, body := post(t, url+"/test.v1.Echo/Slow", "application/json", `{}`, "Connect-Timeout-Ms", "100")
		if !strings.Contains(body, "deadline_exceeded") {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("a request that panics fails alone, and the gateway serves on", func(t *testing.T) {
		resp, body := post(t, url+"/test.v1.Echo/Boom", "application/json", `{}`)
		if resp.StatusCode < 500 {
			t.Errorf("status %d, want a server error: %s", resp.StatusCode, body)
		}
		resp, body = post(t, url+"/test.v1.Echo/Say", "application/json", `{"name":"y"}`)
		if resp.StatusCode != 200 || !strings.Contains(body, "Hello, y!") {
			t.Errorf("after the panic: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("a body over the payload limit is refused, and nothing reaches the service", func(t *testing.T) {
		before := fake.calls
		big := bytes.Repeat([]byte{'a'}, abi.MaxPayload+1)
		resp, body := post(t, url+"/test.v1.Echo/Say", "application/proto", string(append([]byte{0x12, 0x81, 0x80, 0x80, 0x02}, big...)))
		if resp.StatusCode == 200 || fake.calls != before {
			t.Errorf("%d %.200s; calls %d -> %d", resp.StatusCode, body, before, fake.calls)
		}
	})
}

func TestGatewayOverConnectGo(t *testing.T) {
	srv, _ := startTest(t)
	// connect-go's own clients, in each protocol, with protobuf's binary
	// form; the request is a StringValue, whose field 1 is the name.
	for name, opt := range map[string]connect.ClientOption{"connect": nil, "grpc": connect.WithGRPC(), "grpc-web": connect.WithGRPCWeb()} {
		var opts []connect.ClientOption
		if opt != nil {
			opts = append(opts, opt)
		}
		t.Run(name+" reaches the method", func(t *testing.T) {
			client := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](h2cClient(), srv.URL()+"/test.v1.Echo/Say", opts...)
			resp, err := client.CallUnary(t.Context(), connect.NewRequest(wrapperspb.String(name)))
			if err != nil || resp.Msg.GetValue() != "Hello, "+name+"!" {
				t.Errorf("%v, %v", resp, err)
			}
		})
		t.Run(name+": the client's deadline bounds the call", func(t *testing.T) {
			client := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](h2cClient(), srv.URL()+"/test.v1.Echo/Slow", opts...)
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond) // the service's budget is 2s
			defer cancel()
			_, err := client.CallUnary(ctx, connect.NewRequest(wrapperspb.String(name)))
			if connect.CodeOf(err) != connect.CodeDeadlineExceeded {
				t.Errorf("err = %v, want deadline exceeded", err)
			}
		})
		t.Run(name+" gets the service's error code", func(t *testing.T) {
			client := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](h2cClient(), srv.URL()+"/test.v1.Echo/Fail", opts...)
			_, err := client.CallUnary(t.Context(), connect.NewRequest(wrapperspb.String(name)))
			if connect.CodeOf(err) != connect.CodeNotFound || len(asConnect(err).Details()) != 1 {
				t.Errorf("err = %v, want not found with one detail", err)
			}
		})
	}
}

func asConnect(err error) *connect.Error {
	var ce *connect.Error
	errors.As(err, &ce)
	if ce == nil {
		return connect.NewError(connect.CodeUnknown, err)
	}
	return ce
}

// h2cClient speaks HTTP/2 without TLS, as gRPC clients do.
func h2cClient() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p}}
}

func TestSlowClientsAreCutOff(t *testing.T) {
	schema, err := ParseSchema(testSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	h, err := newHandler(schema, []string{"test.v1.Echo"}, nil,
		backend{find: services{&fakeService{tame: true}}, caller: native.NewCaller(NativeIdentity), log: slog.Default()}, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	// The gateway's limits, shortened so that the test does not wait 30s.
	srv, err := listen("test", "127.0.0.1:0", h, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), clientLimits{readHeader: 200 * time.Millisecond, read: 500 * time.Millisecond, write: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	for _, c := range []struct{ name, sent string }{
		{"headers that never end", "POST /test.v1.Echo/Say HTTP/1.1\r\nHost: x\r\n"},
		{"a JSON body that never comes", "POST /test.v1.Echo/Say HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"na"},
		{"a binary body that never comes", "POST /test.v1.Echo/Say HTTP/1.1\r\nHost: x\r\nContent-Type: application/proto\r\nContent-Length: 100\r\n\r\n\x0a\x05"},
		{"a REST body that never comes", "POST /v1/say/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"},
	} {
		t.Run(c.name+" end the connection", func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL(), "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.Write([]byte(c.sent)); err != nil {
				t.Fatal(err)
			}
			// The server closes the connection (after its limit, however
			// long the machine takes); 20s is only the test's bound.
			conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, err = io.ReadAll(conn)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("the server kept the connection for 20s")
			}
		})
	}
	t.Run("a client that does not read its reply is cut off", func(t *testing.T) {
		// A server of its own, whose limits on reading are long: only its
		// write limit is tested here, and a starved machine (the race
		// detector's run beside another package) can take longer than
		// the short ones to read a 3 MiB request, or to tell its protocol.
		srv, err := listen("test", "127.0.0.1:0", h, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), clientLimits{readHeader: time.Minute, read: time.Minute, write: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Stop()
		// A small receive buffer, and a reply of megabytes: the server's
		// writes block until its limit ends the reply.
		d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		}}
		conn, err := d.Dial("tcp", strings.TrimPrefix(srv.URL(), "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		name := bytes.Repeat([]byte{'n'}, 3<<20)
		req, _ := proto.Marshal(wrapperspb.String(string(name)))
		fmt.Fprintf(conn, "POST /test.v1.Echo/Say HTTP/1.1\r\nHost: x\r\nContent-Type: application/proto\r\nContent-Length: %d\r\n\r\n", len(req))
		conn.Write(req)
		// Once the reply has begun (its first byte), not reading for ten
		// times the limit, however busy the machine is.
		conn.SetReadDeadline(time.Now().Add(time.Minute))
		if _, err := io.ReadFull(conn, make([]byte, 1)); err != nil {
			t.Fatalf("no reply began: %v", err)
		}
		time.Sleep(2 * time.Second)
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		got, err := io.ReadAll(conn)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || len(got) >= len(name) {
			t.Errorf("the server kept writing the reply (%d bytes read, %v)", len(got), err)
		}
	})
	t.Run("and the gateway serves others meanwhile", func(t *testing.T) {
		resp, body := post(t, srv.URL()+"/test.v1.Echo/Say", "application/json", `{"name":"z"}`)
		if resp.StatusCode != 200 || !strings.Contains(body, "Hello, z!") {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
}

func TestTheHealthDescriptorIsTheStandardOne(t *testing.T) {
	f := healthFile()
	if f == nil {
		t.Fatal("no health descriptor")
	}
	if f.Path() != "grpc/health/v1/health.proto" || f.Services().ByName("Health").FullName() != "grpc.health.v1.Health" {
		t.Errorf("health descriptor %s, service %v", f.Path(), f.Services().ByName("Health").FullName())
	}
	status := f.Messages().ByName("HealthCheckResponse").Enums().ByName("ServingStatus").Values()
	for n, name := range []protoreflect.Name{"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"} {
		if v := status.ByNumber(protoreflect.EnumNumber(n)); v == nil || v.Name() != name {
			t.Errorf("ServingStatus %d is %v, want %s", n, v, name)
		}
	}
}

func TestAServiceThatIsNotRunningIsUnavailable(t *testing.T) {
	schema, err := ParseSchema(testSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Start(Spec{Name: "test", Listen: "127.0.0.1:0", Services: []string{"test.v1.Echo"}}, schema,
		services{nil}, native.NewCaller(NativeIdentity), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	resp, body := post(t, srv.URL()+"/test.v1.Echo/Say", "application/json", `{}`)
	if resp.StatusCode != 503 || !strings.Contains(body, `"code":"unavailable"`) {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
}

func TestStopFinishesTheRequestsInFlight(t *testing.T) {
	srv, fake := startTest(t)
	fake.later = make(chan struct{})
	result := make(chan int, 1)
	go func() {
		resp, err := http.Post(srv.URL()+"/test.v1.Echo/Fail", "application/json", strings.NewReader("{}"))
		if err != nil {
			result <- 0
			return
		}
		resp.Body.Close()
		result <- resp.StatusCode
	}()
	// Stop once the call has reached the service, then let it answer.
	for {
		fake.mu.Lock()
		n := fake.calls
		fake.mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	stopped := make(chan struct{})
	go func() { srv.Stop(); close(stopped) }()
	time.Sleep(50 * time.Millisecond) // Stop is waiting for the request
	close(fake.later)
	if status := <-result; status != 200 {
		t.Errorf("the request in flight got %d, want 200", status)
	}
	<-stopped
	if _, err := http.Get(srv.URL() + "/"); err == nil {
		t.Error("the gateway still accepts after Stop")
	}
}

func TestReflectionShowsOnlyWhatTheGatewayServes(t *testing.T) {
	srv, _ := startTest(t)
	stream := grpcreflect.NewClient(h2cClient(), srv.URL(), connect.WithGRPC()).NewStream(t.Context())
	defer stream.Close()
	names, err := stream.ListServices()
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(names); got != "[test.v1.Echo grpc.health.v1.Health]" {
		t.Errorf("services listed: %s", got)
	}
	files, err := stream.FileContainingSymbol("test.v1.Echo")
	if err != nil {
		t.Fatalf("describing the served service: %v", err)
	}
	for _, f := range files {
		if f.GetName() != "test/v1/test.proto" {
			continue
		}
		var services []string
		for _, s := range f.GetService() {
			services = append(services, s.GetName())
		}
		if fmt.Sprint(services) != "[Echo]" || len(f.GetMessageType()) != 2 {
			t.Errorf("the served file describes services %v and %d messages, want Echo alone and both its messages (Hidden, in the same file, is not served)", services, len(f.GetMessageType()))
		}
	}
	for _, unserved := range []string{"other.v1.Vault", "test.v1.Hidden"} {
		if _, err := stream.FileContainingSymbol(protoreflect.FullName(unserved)); err == nil {
			t.Errorf("reflection describes %s, a service of the app that the gateway does not serve", unserved)
		}
	}
}

// TestAClientsTraceparentIsTheCallsParent: a request with a W3C
// traceparent makes the span of the call it becomes a child of the
// client's span (the host's tracing reads it from the call).
func TestAClientsTraceparentIsTheCallsParent(t *testing.T) {
	srv, fake := startTest(t)
	const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	if resp, body := post(t, srv.URL()+"/test.v1.Echo/Say", "application/json", `{"name":"x"}`, "traceparent", parent); resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s", resp.Status, body)
	}
	fake.mu.Lock()
	got := fake.trace
	fake.mu.Unlock()
	if got.Traceparent() != parent {
		t.Errorf("the call's parent is %s, want the client's %s", got.Traceparent(), parent)
	}
	if resp, body := post(t, srv.URL()+"/test.v1.Echo/Say", "application/json", `{"name":"x"}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s", resp.Status, body)
	}
	fake.mu.Lock()
	got = fake.trace
	fake.mu.Unlock()
	if got.Valid() {
		t.Errorf("a call without a traceparent has parent %s, want none", got.Traceparent())
	}
}

// A field the REST path binds is the path's: a query parameter naming it
// is left out, so that what a proxy or a log reads in the path is what the
// method gets.
func TestAFieldTheRESTPathBindsIsNotSetByTheQuery(t *testing.T) {
	srv, _ := startTest(t)
	for _, q := range []string{"?name=evil", "?name=evil&name=worse", "?name.x=1"} {
		resp, body := post(t, srv.URL()+"/v1/say/rest"+q, "application/json", `{}`)
		if resp.StatusCode != 200 || !strings.Contains(body, `"greeting":"Hello, rest!"`) {
			t.Errorf("%s: %d %s", q, resp.StatusCode, body)
		}
	}
	// By its JSON name too, which vanguard takes as well as the proto's.
	for _, q := range []string{"?user_name=evil", "?userName=evil"} {
		resp, body := send(t, "GET", srv.URL()+"/v1/users/ann"+q, "application/json", "")
		if resp.StatusCode != 200 || !strings.Contains(body, `"userName":"ann"`) {
			t.Errorf("GET /v1/users/ann%s: %d %s, want ann's", q, resp.StatusCode, body)
		}
	}
}

// A field the REST body holds is the body's: a query parameter naming it
// (any parameter, when the body is "*") is refused, saying to send it in
// the body, rather than let it override what the body says. Where a route
// has no body, the query sets the fields the path does not bind.
func TestARESTQueryDoesNotOverrideTheBody(t *testing.T) {
	srv, _ := startTest(t)
	for _, c := range []struct{ method, path, body, status, says string }{
		{"POST", "/v1/say/x?data=AAEC", `{"data":"AQID"}`, "400", `query parameter \"data\": POST /v1/say/x takes its request's fields in the body (body: \"*\" in the method's google.api.http rule), not in the query; send it in the JSON body`},
		{"POST", "/v1/say/x?nope=1", `{}`, "400", `query parameter \"nope\": POST /v1/say/x takes its request's fields in the body`},
		{"POST", "/v1/say/x?name=y&data=AAEC", `{"data":"AQID"}`, "400", `query parameter \"data\"`}, // the path's field is dropped, not named
		{"PUT", "/v1/greet/x/data?data=AAEC", `"AQID"`, "400", `query parameter \"data\" names a field the body holds (body: \"data\" in the method's google.api.http rule); set it in the JSON body, not in the query`},
		{"PUT", "/v1/greet/x/data?data.x=1", `"AQID"`, "400", `query parameter \"data.x\" names a field the body holds`},
		{"PATCH", "/v1/greet/x?userName=evil", `"ann"`, "400", `query parameter \"userName\" names a field the body holds (body: \"user_name\"`}, // its JSON name
		{"PATCH", "/v1/greet/x?user_name=evil", `"ann"`, "400", `query parameter \"user_name\" names a field the body holds`},
		{"PATCH", "/v1/greet/x", `"ann"`, "200", `"userName":"ann"`},
		{"POST", "/v1/say/x", `{"data":"AQID"}`, "200", `"data":"AQID"`},
		{"PUT", "/v1/greet/x/data", `"AQID"`, "200", `"data":"AQID"`},
		{"GET", "/v1/greet/x?data=AAEC", "", "200", `"data":"AAEC"`},
	} {
		resp, body := send(t, c.method, srv.URL()+c.path, "application/json", c.body)
		if got := strconv.Itoa(resp.StatusCode); got != c.status || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(body, c.says) {
			t.Errorf("%s %s %s: %s (%s) %s, want %s saying %s", c.method, c.path, c.body, got, resp.Header.Get("Content-Type"), body, c.status, c.says)
		}
		if c.status == "400" && !strings.Contains(body, `"code":3`) {
			t.Errorf("%s %s: %s, want invalid argument (3)", c.method, c.path, body)
		}
	}
}

func TestRESTRoutesMatchTheirTemplates(t *testing.T) {
	for _, c := range []struct {
		tmpl   string
		fields []string
		match  []string
		miss   []string
	}{
		{"/v1/books/{id}", []string{"id"}, []string{"/v1/books/1", "/v1/books/a%2Fb"}, []string{"/v1/books", "/v1/books/1/x", "/v2/books/1"}},
		{"/v1/{name=shelves/*/books/*}", []string{"name"}, []string{"/v1/shelves/s/books/b"}, []string{"/v1/shelves/s", "/v1/shelves/s/books/b/c"}},
		{"/v1/{parent=**}/items:batch", []string{"parent"}, []string{"/v1/a/b/c/items:batch"}, []string{"/v1/a/items"}},
		{"/v1/{id}:publish", []string{"id"}, []string{"/v1/7:publish"}, []string{"/v1/7"}},
		{"/v1/things", nil, []string{"/v1/things"}, []string{"/v1/things/1"}},
	} {
		r, ok := routeOf(&annotations.HttpRule{Pattern: &annotations.HttpRule_Get{Get: c.tmpl}})
		if !ok || !slices.Equal(r.fields, c.fields) {
			t.Errorf("%s: fields %v (%v), want %v", c.tmpl, r.fields, ok, c.fields)
			continue
		}
		for _, p := range c.match {
			if !r.path.MatchString(p) {
				t.Errorf("%s does not match %s (%s)", c.tmpl, p, r.path)
			}
		}
		for _, p := range c.miss {
			if r.path.MatchString(p) {
				t.Errorf("%s matches %s (%s)", c.tmpl, p, r.path)
			}
		}
	}
}

// A gRPC call in JSON whose message is not the method's request ends with
// one status, invalid argument; a good one is answered.
func TestAGRPCJSONCallThatIsNotTheRequestIsInvalid(t *testing.T) {
	srv, fake := startTest(t)
	call := func(msg string) (status, message string, body []byte) {
		frame := append([]byte{0}, binary.BigEndian.AppendUint32(nil, uint32(len(msg)))...)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL()+"/test.v1.Echo/Say", bytes.NewReader(append(frame, msg...)))
		req.Header.Set("Content-Type", "application/grpc+json")
		req.Header.Set("Te", "trailers")
		resp, err := h2cClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ = io.ReadAll(resp.Body)
		if s := resp.Header.Get("Grpc-Status"); s != "" {
			if resp.Trailer.Get("Grpc-Status") != "" {
				t.Errorf("%s: two statuses, %s and %s", msg, s, resp.Trailer.Get("Grpc-Status"))
			}
			return s, resp.Header.Get("Grpc-Message"), body
		}
		return resp.Trailer.Get("Grpc-Status"), resp.Trailer.Get("Grpc-Message"), body
	}
	for _, msg := range []string{`{"name":5}`, `[1]`} {
		before := fake.calls
		if st, m, _ := call(msg); st != "3" || !strings.Contains(m, "test.v1.SayRequest") {
			t.Errorf("%s: grpc-status %q (%q), want 3, invalid argument", msg, st, m)
		}
		if fake.calls != before {
			t.Errorf("%s reached the service", msg)
		}
	}
	if st, m, body := call(`{"name":"j"}`); st != "0" || !bytes.Contains(body, []byte("Hello, j!")) {
		t.Errorf("a good call: grpc-status %q (%q), body %q", st, m, body)
	}
}

// An address another program holds is refused with what to do.
func TestABusyAddressSaysWhatToDo(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, err = listen("public", busy.Addr().String(), http.NotFoundHandler(), nil, slog.New(slog.NewTextHandler(io.Discard, nil)), defaultLimits)
	if err == nil || !strings.Contains(err.Error(), "gateway public: "+busy.Addr().String()+" is in use by another program") || !strings.Contains(err.Error(), "--listen") {
		t.Errorf("err = %v, want the address named and --listen suggested", err)
	}
}

func TestAURLIsOneABrowserHereOpens(t *testing.T) {
	for _, c := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 7070}, "http://127.0.0.1:7070"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 7070}, "http://127.0.0.1:7070"},
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, "http://127.0.0.1:8080"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 8080}, "http://[::1]:8080"},
	} {
		if got := URLOf(c.addr); got != c.want {
			t.Errorf("URLOf(%s) = %s, want %s", c.addr, got, c.want)
		}
	}
}
