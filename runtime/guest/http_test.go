package guest

import (
	"errors"
	"strings"
	"testing"
)

func TestARequestThatCannotBeSentFailsBeforeAskingTheHost(t *testing.T) {
	h := &HTTP{name: "payments", method: "http.payments/Request"}
	for _, tc := range []struct {
		name string
		req  HTTPRequest
		want error
		says string
	}{
		{"a path climbing out of the endpoint", HTTPRequest{Path: "a/../../admin"}, ErrInvalidArgument, "may not climb out"},
		{"an absolute URL as the path", HTTPRequest{Path: "http://evil.example"}, ErrInvalidArgument, "absolute URL"},
		{"a query in the path", HTTPRequest{Path: "charges?limit=1"}, ErrInvalidArgument, "Query"},
		{"a header name with a space", HTTPRequest{Header: map[string][]string{"X Key": {"1"}}}, ErrInvalidArgument, "not an HTTP header name"},
		{"a header value with a line break", HTTPRequest{Header: map[string][]string{"X-Key": {"1\r\nHost: evil"}}}, ErrInvalidArgument, "control character"},
		{"a Host header", HTTPRequest{Header: map[string][]string{"Host": {"evil.example"}}}, ErrInvalidArgument, "set by parigot"},
		{"headers over 8 KiB", HTTPRequest{Header: map[string][]string{"X-Big": {strings.Repeat("a", 9<<10)}}}, ErrInvalidArgument, "over the limit"},
		{"a query over 8 KiB", HTTPRequest{Query: map[string][]string{"q": {strings.Repeat("a", 9<<10)}}}, ErrInvalidArgument, "over the limit"},
		{"a body over the limit", HTTPRequest{Method: "POST", Body: make([]byte, MaxHTTPBody+1)}, ErrResourceExhausted, "4 MiB less 64 KiB"},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			var got error
			h.Do(tc.req).Failure(func(err error) { got = err })
			if !errors.Is(got, tc.want) || !strings.Contains(got.Error(), tc.says) || !strings.Contains(got.Error(), "http.payments/Request") {
				t.Errorf("got %v, want %v saying %q", got, tc.want, tc.says)
			}
		})
	}
}

func TestAResponseHeaderIsReadInAnyCase(t *testing.T) {
	h := HTTPHeader{"content-type": {"application/json", "x"}}
	if h.Get("Content-Type") != "application/json" || h.Get("X-None") != "" {
		t.Errorf("Get: %q, %q", h.Get("Content-Type"), h.Get("X-None"))
	}
}

func TestOpeningAnHTTPEndpointWithoutAHostSaysSo(t *testing.T) {
	if _, err := OpenHTTP("payments"); err == nil {
		t.Error("OpenHTTP succeeded with no host")
	}
}
