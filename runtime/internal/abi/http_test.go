package abi

import (
	"bytes"
	"strings"
	"testing"
)

func TestAnHTTPRequestAndResponseRoundTrip(t *testing.T) {
	q := AppendQuery(AppendQuery(nil, "limit", "10"), "q", "a b&c")
	h := AppendHeader(nil, "authorization", "Bearer k")
	in := HTTPRequest{Method: "POST", Path: "charges/ch_1", Query: q, Header: h, Body: []byte(`{"amount":5}`)}
	if why := CheckHTTPRequest(&in); why != "" {
		t.Fatal(why)
	}
	out, err := DecodeHTTPRequest(in.Encode(nil))
	if err != nil || out.Method != in.Method || out.Path != in.Path || !bytes.Equal(out.Query, q) || !bytes.Equal(out.Header, h) || string(out.Body) != string(in.Body) {
		t.Fatalf("got %+v, %v", out, err)
	}
	var pairs []string
	QueryValues(out.Query, func(n, v string) { pairs = append(pairs, n+"="+v) })
	if strings.Join(pairs, ",") != "limit=10,q=a b&c" {
		t.Errorf("query pairs %q", pairs)
	}
	resp := HTTPResponse{Status: 402, Header: AppendHeader(nil, "content-type", "application/json"), Body: []byte("{}")}
	back, err := DecodeHTTPResponse(resp.Encode(nil))
	if err != nil || back.Status != 402 || !bytes.Equal(back.Header, resp.Header) || string(back.Body) != "{}" {
		t.Errorf("got %+v, %v", back, err)
	}
}

func TestAPathThatWouldLeaveTheEndpointIsRefused(t *testing.T) {
	for _, tc := range []struct{ path, why string }{
		{"", ""},
		{"charges", ""},
		{"/charges/ch_1", ""},
		{"v1/projects/p:run", ""},
		{"files/a%2Fb", ""},
		{"a/./b", ""},
		{"../admin", "may not climb out"},
		{"charges/../../admin", "may not climb out"},
		{"charges/%2e%2E/x", "may not climb out"},
		{"a/..%2f..%2fx", "may not climb out"},
		{"..%5C..%5cx", "may not climb out"},
		{"%2e%2e%2Fadmin", "may not climb out"},
		{"files/..a%2Fb..", ""},
		{"%2f%2fevil.example/x", "names a host once decoded"},
		{"/%2Fevil.example/x", "names a host once decoded"},
		{"https://evil.example/x", "is an absolute URL"},
		{"//evil.example/x", "names a host"},
		{"charges?limit=1", "give the query in the request's Query"},
		{"charges#x", "give the query"},
		{"a b", "percent-encode it"},
		{"a%zz", "starts no escape"},
		{"a%2", "starts no escape"},
		{strings.Repeat("a", MaxHTTPPath+1), "over the limit"},
	} {
		why := CheckHTTPPath(tc.path)
		if tc.why == "" && why != "" || !strings.Contains(why, tc.why) {
			t.Errorf("CheckHTTPPath(%.40q) = %q, want %q", tc.path, why, tc.why)
		}
	}
}

func TestARequestIsCheckedPartByPart(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  HTTPRequest
		why  string
	}{
		{"a method that is no token", HTTPRequest{Method: "GE T"}, "is not an HTTP method"},
		{"an empty method", HTTPRequest{}, "is not an HTTP method"},
		{"CONNECT", HTTPRequest{Method: "CONNECT"}, "tunnel"},
		{"a Host header", HTTPRequest{Method: "GET", Header: AppendHeader(nil, "host", "evil.example")}, "header host is set by parigot"},
		{"an uppercase header name", HTTPRequest{Method: "GET", Header: AppendHeader(nil, "X-Key", "1")}, "lowercase"},
		{"a header value with a line break", HTTPRequest{Method: "GET", Header: AppendHeader(nil, "x-key", "1\r\nhost: evil")}, "control character"},
		{"a malformed query", HTTPRequest{Method: "GET", Query: []byte{5, 0, 'a'}}, "malformed query"},
		{"a body over the limit", HTTPRequest{Method: "PUT", Body: make([]byte, MaxHTTPBody+1)}, "over the limit of 4128768 bytes"},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			if why := CheckHTTPRequest(&tc.req); !strings.Contains(why, tc.why) || why == "" {
				t.Errorf("got %q, want %q", why, tc.why)
			}
		})
	}
}

func FuzzDecodeHTTPRequest(f *testing.F) {
	f.Add((&HTTPRequest{Method: "GET", Path: "charges", Query: AppendQuery(nil, "a", "b"), Header: AppendHeader(nil, "x", "y"), Body: []byte("z")}).Encode(nil))
	f.Add([]byte{3, 'G', 'E', 'T', 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeHTTPRequest(b)
		if err != nil {
			return
		}
		CheckHTTPRequest(&r) // never panics, whatever it holds
		if again := r.Encode(nil); !bytes.Equal(again, b) {
			t.Errorf("re-encoding changed the request")
		}
	})
}

func FuzzDecodeHTTPResponse(f *testing.F) {
	f.Add((&HTTPResponse{Status: 200, Header: AppendHeader(nil, "a", "b"), Body: []byte("c")}).Encode(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeHTTPResponse(b)
		if err != nil {
			return
		}
		HeaderValues(r.Header, func(string, string) bool { return true })
		if again := r.Encode(nil); !bytes.Equal(again, b) {
			t.Errorf("re-encoding changed the response")
		}
	})
}
