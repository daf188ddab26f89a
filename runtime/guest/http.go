package guest

import (
	"fmt"
	"strings"

	"parigot.dev/parigot/runtime/internal/abi"
)

// An external HTTP API is declared in parigot.hcl as an http block
// (http "payments" { url = "https://api.example.com/v1" }) and listed in
// the uses of the guests that may call it. The host sends the requests:
// wasip1 has no sockets, and this library imports no net/http, which would
// make every guest larger. Every request returns a future, as a call does,
// and completes on the event loop; made while a method runs, it inherits
// the call's deadline. See docs/GUEST_API.md, "Calling an HTTP API".

// HTTP is an http endpoint of the app, opened with OpenHTTP.
type HTTP struct {
	name   string
	handle uint32
	method string // "http.<name>/Request": what errors name
}

// OpenHTTP opens the http endpoint called name in parigot.hcl. The guest's
// uses must list it (uses = [http.<name>]): otherwise it fails with
// CodePermissionDenied, and with CodeNotFound when parigot.hcl declares no
// http block of that name.
func OpenHTTP(name string) (*HTTP, error) {
	h, _, err := open(abi.OpenHTTP, "http", name)
	if err != nil {
		return nil, err
	}
	return &HTTP{name: name, handle: h, method: "http." + name + "/" + abi.OpRequest}, nil
}

// Name is the endpoint's name in parigot.hcl.
func (h *HTTP) Name() string { return h.name }

// HTTPRequest is a request to an http endpoint.
type HTTPRequest struct {
	// Method is the HTTP method; "" is GET.
	Method string
	// Path goes under the endpoint's URL: "charges" or "/charges" under
	// https://api.example.com/v1 is https://api.example.com/v1/charges.
	// It is a path as sent (percent-encode what a URL's path does not
	// take); it may not be an absolute URL nor hold a ".." segment.
	Path string
	// Query is the query's parameters; a url.Values fits.
	Query map[string][]string
	// Header is the request's headers, names in any case. The client sets
	// Host, Content-Length and the connection's headers itself.
	Header map[string][]string
	// Body is at most abi.MaxHTTPBody bytes: 4 MiB less 64 KiB.
	Body []byte
}

// HTTPResponse is what the endpoint answered, whatever its status: a 404
// or a 500 is a response, not an error.
type HTTPResponse struct {
	Status int
	Header HTTPHeader
	Body   []byte
}

// HTTPHeader is a response's headers, by lowercase name.
type HTTPHeader map[string][]string

// Get returns the first value of the header name (in any case), or "".
func (h HTTPHeader) Get(name string) string {
	if v := h[strings.ToLower(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// MaxHTTPBody is the largest body of a request or a response: 4 MiB less
// 64 KiB, so that either, with its headers, fits a call's 4 MiB.
const MaxHTTPBody = abi.MaxHTTPBody

// Do sends req to the endpoint. Its future fails with
// CodeInvalidArgument at once for a request that cannot be sent (a path
// that would leave the endpoint's URL, a header that cannot be sent), with
// CodeResourceExhausted for a request's or a response's body over
// MaxHTTPBody, CodeUnavailable when the endpoint cannot be reached (refused
// connection, unknown host, TLS failure), and CodeDeadlineExceeded when no
// response came before the deadline: the budget of the method it was sent
// from, or the endpoint's timeout outside any method.
func (h *HTTP) Do(req HTTPRequest) *Future[HTTPResponse] {
	in, err := h.encode(&req)
	if err != nil {
		return Rejected[HTTPResponse](err)
	}
	f := NewFuture[HTTPResponse]()
	handleCall(h.handle, h.method, abi.OpRequest, in).whenDone(func(b []byte, err error) {
		if err != nil {
			f.Reject(err)
			return
		}
		r, derr := abi.DecodeHTTPResponse(b)
		if derr != nil {
			f.Reject(&Error{Code: CodeInternal, Method: h.method, Message: derr.Error()})
			return
		}
		resp := HTTPResponse{Status: r.Status, Body: r.Body}
		abi.HeaderValues(r.Header, func(name, value string) bool {
			if resp.Header == nil {
				resp.Header = HTTPHeader{}
			}
			resp.Header[name] = append(resp.Header[name], value)
			return true
		})
		f.Resolve(resp)
	})
	return f
}

// encode checks req and encodes it into the loop's call buffer.
func (h *HTTP) encode(req *HTTPRequest) ([]byte, error) {
	bad := func(code Code, format string, args ...any) error {
		return &Error{Code: code, Method: h.method, Message: fmt.Sprintf(format, args...)}
	}
	if len(req.Body) > abi.MaxHTTPBody {
		return nil, bad(CodeResourceExhausted, "a request body of %d bytes is over the limit of %d bytes (4 MiB less 64 KiB)", len(req.Body), abi.MaxHTTPBody)
	}
	r := abi.HTTPRequest{Method: req.Method, Path: req.Path, Body: req.Body}
	if r.Method == "" {
		r.Method = "GET"
	}
	for name, values := range req.Query {
		for _, v := range values {
			if len(r.Query)+abi.QueryPairSize(name, v) > abi.MaxHTTPQuery {
				return nil, bad(CodeInvalidArgument, "the query is over the limit of %d bytes; send large data in the body", abi.MaxHTTPQuery)
			}
			r.Query = abi.AppendQuery(r.Query, name, v)
		}
	}
	for name, values := range req.Header {
		lower := strings.ToLower(name)
		if !abi.IsHeaderName(lower) {
			return nil, bad(CodeInvalidArgument, "%s is not an HTTP header name", abi.ShowKey(name))
		}
		for _, v := range values {
			if !abi.IsHeaderValue(v) {
				return nil, bad(CodeInvalidArgument, "the value of header %s holds a control character (a line break?) or is over 65535 bytes", name)
			}
			if len(r.Header)+abi.HeaderPairSize(lower, v) > abi.MaxHeader {
				return nil, bad(CodeInvalidArgument, "the request's headers are over the limit of %d bytes (8 KiB)", abi.MaxHeader)
			}
			r.Header = abi.AppendHeader(r.Header, lower, v)
		}
	}
	if why := abi.CheckHTTPRequest(&r); why != "" {
		return nil, bad(CodeInvalidArgument, "%s", why)
	}
	return r.Encode(loop.send[:0]), nil
}
