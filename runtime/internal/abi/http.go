package abi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// An http block of the manifest is an external HTTP API, reached like a
// store: a guest opens it with FuncOpen (kind OpenHTTP), which gives it a
// handle, and dispatches each request on that handle with FuncDispatch,
// method OpRequest, an HTTPRequest as the payload. The reply, through poll
// like any reply, is an HTTPResponse: any status the server answered with,
// 2xx or not. Failures to get one are error replies: CodeUnavailable (the
// server is unreachable), CodeDeadlineExceeded, CodeResourceExhausted (a
// body over MaxHTTPBody), CodeInvalidArgument (a request that cannot be
// sent, a path that would leave the endpoint's URL).

// OpenHTTP is the kind of FuncOpen that opens an http endpoint:
// http "name" { url = "..." }.
const OpenHTTP uint32 = 3

// OpRequest is the one method of an http endpoint: send the HTTPRequest.
const OpRequest = "Request"

// Bounds of an HTTP request and response, so that either, encoded, fits
// one call's MaxPayload (4 MiB): the body gets all of it but 64 KiB, which
// holds the rest with room to spare.
const (
	MaxHTTPBody           = MaxPayload - 64<<10 // 4 MiB less 64 KiB: 4,128,768 bytes
	MaxHTTPPath           = 8 << 10             // the path, as sent
	MaxHTTPQuery          = 8 << 10             // the query's encoded pairs
	MaxHTTPMethod         = 32
	MaxHTTPResponseHeader = 32 << 10 // the response's header as the server sent it
)

// HTTPRequest is a request a guest sends to an http endpoint.
type HTTPRequest struct {
	Method string // an HTTP method token: GET, POST...
	Path   string // under the endpoint's URL (CheckHTTPPath)
	Query  []byte // pairs of AppendQuery
	Header []byte // pairs of AppendHeader (lowercase names)
	Body   []byte
}

// AppendQuery appends the query parameter name=value to the encoded
// query q: u16 name length | name | u16 value length | value, little
// endian. A name or value over 65535 bytes cannot be encoded: the caller
// bounds the query to MaxHTTPQuery first.
func AppendQuery(q []byte, name, value string) []byte {
	q = binary.LittleEndian.AppendUint16(q, uint16(len(name)))
	q = append(q, name...)
	q = binary.LittleEndian.AppendUint16(q, uint16(len(value)))
	return append(q, value...)
}

// QueryPairSize is the number of bytes AppendQuery adds.
func QueryPairSize(name, value string) int { return 4 + len(name) + len(value) }

// QueryValues calls f with each pair of the encoded query q, in order; ok
// is false when q is malformed.
func QueryValues(q []byte, f func(name, value string)) (ok bool) {
	for len(q) > 0 {
		if len(q) < 2 {
			return false
		}
		nl := int(binary.LittleEndian.Uint16(q))
		if len(q) < 2+nl+2 {
			return false
		}
		name := string(q[2 : 2+nl])
		vl := int(binary.LittleEndian.Uint16(q[2+nl:]))
		q = q[2+nl+2:]
		if len(q) < vl {
			return false
		}
		f(name, string(q[:vl]))
		q = q[vl:]
	}
	return true
}

// Encode appends r: u8 method length | method | u16 path length | path |
// u32 query length | query | u32 header length | header | body (the rest),
// little endian. The caller bounds each part first (CheckHTTPRequest).
func (r *HTTPRequest) Encode(b []byte) []byte {
	b = append(b, byte(len(r.Method)))
	b = append(b, r.Method...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(r.Path)))
	b = append(b, r.Path...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(r.Query)))
	b = append(b, r.Query...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(r.Header)))
	b = append(b, r.Header...)
	return append(b, r.Body...)
}

// ErrBadHTTP reports an http request or response that is not what its
// encoding says.
var ErrBadHTTP = errors.New("abi: malformed http request or response")

// DecodeHTTPRequest parses a request; its slices alias b. It checks the
// layout only: CheckHTTPRequest checks the parts.
func DecodeHTTPRequest(b []byte) (HTTPRequest, error) {
	var r HTTPRequest
	if len(b) < 1 {
		return r, ErrBadHTTP
	}
	ml := int(b[0])
	if len(b) < 1+ml+2 {
		return r, ErrBadHTTP
	}
	r.Method = string(b[1 : 1+ml])
	b = b[1+ml:]
	pl := int(binary.LittleEndian.Uint16(b))
	if len(b) < 2+pl+4 {
		return r, ErrBadHTTP
	}
	r.Path = string(b[2 : 2+pl])
	b = b[2+pl:]
	var ok bool
	if r.Query, b, ok = lengthPrefixed(b); !ok {
		return r, ErrBadHTTP
	}
	if r.Header, b, ok = lengthPrefixed(b); !ok {
		return r, ErrBadHTTP
	}
	r.Body = b
	return r, nil
}

// lengthPrefixed takes a u32 length and that many bytes off b.
func lengthPrefixed(b []byte) (part, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := uint64(binary.LittleEndian.Uint32(b))
	if n > uint64(len(b)-4) {
		return nil, nil, false
	}
	return b[4 : 4+n], b[4+n:], true
}

// CheckHTTPRequest says what is wrong with r, or "" when nothing is: what
// both the guest library (before it sends) and the host (before it trusts)
// check.
func CheckHTTPRequest(r *HTTPRequest) string {
	if why := CheckHTTPMethod(r.Method); why != "" {
		return why
	}
	if why := CheckHTTPPath(r.Path); why != "" {
		return why
	}
	if len(r.Query) > MaxHTTPQuery {
		return fmt.Sprintf("a query of %d bytes is over the limit of %d bytes", len(r.Query), MaxHTTPQuery)
	}
	if !QueryValues(r.Query, func(string, string) {}) {
		return "a malformed query"
	}
	if err := CheckHeader(r.Header); err != nil {
		return err.Error()
	}
	var why string
	HeaderValues(r.Header, func(name, _ string) bool {
		if reservedHTTPHeader(name) {
			why = fmt.Sprintf("the header %s is set by parigot's HTTP client, not by a guest", name)
			return false
		}
		return true
	})
	if why != "" {
		return why
	}
	if len(r.Body) > MaxHTTPBody {
		return fmt.Sprintf("a body of %d bytes is over the limit of %d bytes (4 MiB less 64 KiB)", len(r.Body), MaxHTTPBody)
	}
	return ""
}

// reservedHTTPHeader reports whether a request header is the client's to
// set: the framing and connection headers, and Host, which would send the
// request to another site than the endpoint's URL says.
func reservedHTTPHeader(name string) bool {
	switch name {
	case "host", "content-length", "transfer-encoding", "connection", "keep-alive",
		"upgrade", "te", "trailer", "proxy-connection", "proxy-authorization":
		return true
	}
	return false
}

// CheckHTTPMethod says what is wrong with m as a request's method.
func CheckHTTPMethod(m string) string {
	if m == "" || len(m) > MaxHTTPMethod {
		return fmt.Sprintf("%s is not an HTTP method", ShowKey(m))
	}
	for i := 0; i < len(m); i++ {
		if !isTokenChar(m[i]) {
			return fmt.Sprintf("%s is not an HTTP method", ShowKey(m))
		}
	}
	if m == "CONNECT" {
		return "CONNECT opens a tunnel, not a request to the endpoint"
	}
	return ""
}

// CheckHTTPPath says what is wrong with p as the path of a request to an
// endpoint, or "" when nothing is. A path goes under the endpoint's URL
// ("charges/ch_1" or "/charges/ch_1" under https://api.example.com/v1 is
// https://api.example.com/v1/charges/ch_1), so it may not be an absolute
// URL, start with "//" (a host), or hold a ".." segment (it could climb
// out); and it is a path as sent: no query or fragment (the request's
// Query holds those), only the characters a URL's path takes, others
// percent-encoded.
func CheckHTTPPath(p string) string {
	if len(p) > MaxHTTPPath {
		return fmt.Sprintf("a path of %d bytes is over the limit of %d bytes", len(p), MaxHTTPPath)
	}
	if strings.HasPrefix(p, "//") {
		return fmt.Sprintf("the path %s names a host: a path goes under the endpoint's URL, and may not leave it", ShowKey(p))
	}
	if i := strings.IndexByte(p, ':'); i > 0 && !strings.Contains(p[:i], "/") {
		return fmt.Sprintf("the path %s is an absolute URL: a path goes under the endpoint's URL, and may not leave it", ShowKey(p))
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '?' || c == '#':
			return fmt.Sprintf("the path %s holds %q: give the query in the request's Query", ShowKey(p), c)
		case c == '%':
			if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
				return fmt.Sprintf("the path %s has a %% that starts no escape like %%2F", ShowKey(p))
			}
		case !isPathChar(c):
			return fmt.Sprintf("the path %s holds %q: percent-encode it (%%%02X)", ShowKey(p), c, c)
		}
	}
	// Dots and separators are also looked for as a server or a proxy in
	// front of it may read them, decoded: %2e as a dot, %2f and %5c as a
	// slash ("..%2f..%2fx" is one segment to the URL standard, two dot
	// segments to a server that decodes it first).
	decoded := pathDecoder.Replace(p)
	if strings.HasPrefix(decoded, "//") {
		return fmt.Sprintf("the path %s names a host once decoded: a path goes under the endpoint's URL, and may not leave it", ShowKey(p))
	}
	for _, seg := range strings.Split(decoded, "/") {
		if seg == ".." {
			return fmt.Sprintf("the path %s has a .. segment: a path goes under the endpoint's URL, and may not climb out of it", ShowKey(p))
		}
	}
	return ""
}

// pathDecoder decodes what CheckHTTPPath looks for as a server may: a dot
// and the separators, in either case.
var pathDecoder = strings.NewReplacer("%2e", ".", "%2E", ".", "%2f", "/", "%2F", "/", "%5c", "/", "%5C", "/")

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// isPathChar reports whether c may stand unescaped in a URL's path
// (RFC 3986's pchar and "/", '%' apart).
func isPathChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0
}

// HTTPResponse is what an http endpoint answered.
type HTTPResponse struct {
	Status int    // 100 to 999
	Header []byte // pairs of AppendHeader, names lowercase
	Body   []byte
}

// Encode appends r: u16 status | u32 header length | header | body.
func (r *HTTPResponse) Encode(b []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, uint16(r.Status))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(r.Header)))
	b = append(b, r.Header...)
	return append(b, r.Body...)
}

// DecodeHTTPResponse parses a response; its slices alias b.
func DecodeHTTPResponse(b []byte) (HTTPResponse, error) {
	if len(b) < 2 {
		return HTTPResponse{}, ErrBadHTTP
	}
	r := HTTPResponse{Status: int(binary.LittleEndian.Uint16(b))}
	var ok bool
	if r.Header, r.Body, ok = lengthPrefixed(b[2:]); !ok {
		return HTTPResponse{}, ErrBadHTTP
	}
	return r, nil
}
