package gateway

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// refusal is what a client sees of a refused call: the HTTP status, the
// gRPC status and message (from the headers or the trailers), or the body.
type refusal struct {
	http int
	code string // grpc-status, or Connect's code in the body
	says string // grpc-message, decoded, or Connect's message
}

// TestAMalformedRequestIsToldWhatIsWrong: a request the gateway cannot
// read gets the status its protocol prescribes (gRPC's codes as gRPC's
// servers give them, grpc/doc/statuscodes.md; HTTP 415 for a content type
// no server of the gateway takes) and a message that says what was wrong
// and what is accepted; the method is never called.
func TestAMalformedRequestIsToldWhatIsWrong(t *testing.T) {
	srv, fake := startTest(t)
	req, _ := proto.Marshal(wrapperspb.String("x"))
	whole := envelope(false, req)
	truncated := append(binary.BigEndian.AppendUint32([]byte{0}, 100), req...) // says 100 bytes, sends 3
	notGzip := envelope(true, req)                                             // flagged compressed, and not
	form := "; " + grpcRequestForm
	served := `is not one the gateway serves: send application/grpc, application/grpc+proto or application/grpc+json (gRPC); application/grpc-web, application/grpc-web+proto or application/grpc-web+json (gRPC-Web)`
	for _, c := range []struct {
		name string
		// how: "grpc-go" (a raw HTTP/2 connection whose first request is
		// gRPC in protobuf), "h2c" (net/http's HTTP/2), "http1"
		how    string
		method string // POST unless set
		ct     string
		body   []byte
		header []string
		want   refusal
	}{
		{"a gRPC message cut short (grpc-go's words)", "grpc-go", "", "application/grpc", truncated, nil,
			refusal{200, "13", "unexpected EOF"}},
		{"a gRPC message cut short", "h2c", "", "application/grpc+json", append(binary.BigEndian.AppendUint32([]byte{0}, 100), `{}`...), nil,
			refusal{200, "13", "the request ends inside a message: its prefix says 100 bytes, and 2 came" + form}},
		{"a gRPC-Web message cut short", "http1", "", "application/grpc-web+proto", truncated, nil,
			refusal{200, "13", "the request ends inside a message: its prefix says 100 bytes, and 3 came" + form}},
		{"a gRPC-Web message cut short in its prefix", "http1", "", "application/grpc-web", whole[:3], nil,
			refusal{200, "13", "the request ends 3 bytes into a message's 5-byte prefix" + form}},
		{"a gRPC call without a message", "grpc-go", "", "application/grpc", nil, nil,
			refusal{200, "12", errNoMessage.Message()}},
		{"a gRPC-Web call without a message", "http1", "", "application/grpc-web+proto", nil, nil,
			refusal{200, "12", errNoMessage.Message()}},
		{"a gRPC message said to be gzip that is not (grpc-go's words)", "grpc-go", "", "application/grpc", notGzip, []string{"grpc-encoding", "gzip"},
			refusal{200, "13", "grpc: failed to decompress the message: unexpected EOF"}},
		{"a gRPC-Web message said to be gzip that is not", "http1", "", "application/grpc-web+proto", notGzip, []string{"grpc-encoding", "gzip"},
			refusal{200, "13", "a message is not gzip, as the request's grpc-encoding says" + form}},
		{"a gRPC-Web message flagged compressed without a grpc-encoding", "http1", "", "application/grpc-web+proto", notGzip, nil,
			refusal{200, "13", "a message's prefix says it is compressed, but the request names no grpc-encoding" + form}},
		{"a gRPC-Web message in an encoding the gateway does not read", "http1", "", "application/grpc-web+proto", notGzip, []string{"grpc-encoding", "br"},
			refusal{200, "12", `grpc-encoding "br" is not one the gateway reads: send messages uncompressed, or compressed with gzip`}},
		{"gRPC in a codec the gateway does not serve, on grpc-go's connection", "grpc-go", "", "application/grpc+foo", whole, nil,
			refusal{200, "3", `Content-Type "application/grpc+foo" ` + served}},
		{"gRPC in a codec the gateway does not serve", "h2c", "", "application/grpc+foo", whole, nil,
			refusal{415, "3", `Content-Type "application/grpc+foo" ` + served}},
		{"gRPC-Web in a codec the gateway does not serve", "http1", "", "application/grpc-web+xml", whole, nil,
			refusal{415, "3", `Content-Type "application/grpc-web+xml" ` + served}},
		{"a content type no protocol uses", "http1", "", "application/xml", []byte("<a/>"), nil,
			refusal{415, "invalid_argument", `POST /test.v1.Echo/Say with Content-Type "application/xml": call a method with POST and application/json or application/proto (Connect), application/grpc or application/grpc-web`}},
		{"a Connect call in a content type Connect does not use", "http1", "", "application/xml", []byte("<a/>"), []string{"Connect-Protocol-Version", "1"},
			refusal{415, "invalid_argument", `Content-Type "application/xml" is not one the gateway serves to Connect's unary calls: send application/json or application/proto`}},
		{"a Connect call of an unknown protocol version", "http1", "", "application/json", []byte(`{"name":"x"}`), []string{"Connect-Protocol-Version", "2"},
			refusal{400, "invalid_argument", `Connect-Protocol-Version "2" is not a version of Connect's protocol the gateway speaks: send 1, the one there is`}},
		{"a Connect GET of an unknown protocol version", "http1", "GET", "", nil, nil,
			refusal{400, "invalid_argument", `connect=v2 is not a version of Connect's protocol the gateway speaks: send connect=v1, the one there is`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got refusal
			switch c.how {
			case "grpc-go":
				got = rawGRPCCall(t, srv, c.ct, c.body, c.header...)
			default:
				client := http.DefaultClient
				if c.how == "h2c" {
					client = h2cClient()
				}
				got = httpCall(t, client, c.method, srv.URL()+"/test.v1.Echo/Say", c.ct, c.body, c.header...)
			}
			if got != c.want {
				t.Errorf("got  %d %s %q\nwant %d %s %q", got.http, got.code, got.says, c.want.http, c.want.code, c.want.says)
			}
		})
	}
	if n := fake.callCount(); n != 0 {
		t.Errorf("the service was called %d times for requests the gateway could not read", n)
	}
}

// httpCall makes a request of the method at url with client and returns
// what a gRPC, gRPC-Web or Connect client sees of its refusal. A GET is
// Connect's, with connect=v2.
func httpCall(t *testing.T, client *http.Client, method, url, ct string, body []byte, header ...string) refusal {
	t.Helper()
	if method == "" {
		method = http.MethodPost
	}
	if method == http.MethodGet {
		url += "?connect=v2&encoding=json&message=%7B%7D"
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("TE", "trailers")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	got := refusal{http: resp.StatusCode}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/grpc") {
		got.code = resp.Header.Get("Grpc-Status") + resp.Trailer.Get("Grpc-Status")
		got.says, _ = neturl.PathUnescape(resp.Header.Get("Grpc-Message") + resp.Trailer.Get("Grpc-Message"))
		return got
	}
	var e struct{ Code, Message string }
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("HTTP %d %q is not Connect's error: %v", resp.StatusCode, b, err)
	}
	got.code, got.says = e.Code, e.Message
	return got
}

// rawGRPCCall makes a call of test.v1.Echo/Say of content type ct, its
// body and headers as given, on a connection of its own whose first
// request is gRPC in protobuf (which grpc-go's server takes), and returns
// what a client sees of it. A call of another content type is the
// connection's second, the first sending no message.
func rawGRPCCall(t *testing.T, srv *Server, ct string, body []byte, header ...string) refusal {
	t.Helper()
	id := uint32(1)
	var fr *http2.Framer
	if ct == "application/grpc" {
		fr = rawGRPC(t, srv, header...)
	} else {
		fr = rawGRPC(t, srv)
		id = 3
		var block bytes.Buffer
		enc := hpack.NewEncoder(&block)
		fields := append([]string{":method", "POST", ":scheme", "http", ":path", "/test.v1.Echo/Say", ":authority", "gateway",
			"content-type", ct, "te", "trailers"}, header...)
		for i := 0; i+1 < len(fields); i += 2 {
			enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
		}
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block.Bytes(), EndHeaders: true})
	}
	fr.WriteData(id, true, body)
	var got refusal
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("the call was not answered: %v", err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.MetaHeadersFrame:
			if f.StreamID != id {
				continue
			}
			for _, hf := range f.Fields {
				switch hf.Name {
				case ":status":
					got.http, _ = strconv.Atoi(hf.Value)
				case "grpc-status":
					got.code = hf.Value
				case "grpc-message":
					got.says, _ = neturl.PathUnescape(hf.Value)
				}
			}
			if f.StreamEnded() {
				return got
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == id {
				t.Fatalf("the call was reset: %v", f.ErrCode)
			}
		}
	}
}
