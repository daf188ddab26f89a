package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// checkCallHeaders refuses a call to a method's own path whose timeout or
// body encoding header is malformed, in its protocol's error form:
// Connect's JSON error, or a gRPC status in gRPC's and gRPC-Web's
// headers. Left to vanguard, these came back as plain text in Go's words
// (`strconv.ParseInt: parsing "abc": invalid syntax`), which a Connect or
// gRPC client cannot read as an error of the call. It runs after
// connectUnary, which marks curl's Connect calls as Connect, and after
// inflate, which takes a gzip body's encoding off.
func checkCallHeaders(procedures map[string]protoreflect.MessageDescriptor, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, isCall := procedures[r.URL.Path]; !isCall {
			h.ServeHTTP(w, r)
			return
		}
		ct := mediaType(r.Header.Get("Content-Type"))
		tooLarge := fmt.Sprintf("the request body is larger than the gateway's limit of %d bytes", MaxBody)
		switch {
		case strings.HasPrefix(ct, "application/grpc"): // gRPC and gRPC-Web
			if !grpcServed(ct) {
				refuseGRPCType(w, ct)
				return
			}
			if v, ok := r.Header["Grpc-Timeout"]; ok && (len(v) != 1 || !grpcTimeout.MatchString(v[0])) {
				refuseGRPCCall(w, ct, connect.CodeInvalidArgument, fmt.Sprintf("grpc-timeout %q is not a timeout: it is 1 to 8 digits and a unit, H, M, S, m (milliseconds), u or n (\"500m\")", strings.Join(v, ", ")))
				return
			}
			hoursInMinutes(r.Header)
			if r.ContentLength > MaxBody {
				refuseGRPCCall(w, ct, connect.CodeResourceExhausted, tooLarge)
				return
			}
		case r.Header.Get("Connect-Protocol-Version") != "" || r.Method == http.MethodGet && r.URL.Query().Get("connect") != "":
			if status, why := unservedConnect(r, ct); why != "" {
				connectError(w, status, connect.CodeInvalidArgument, why)
				return
			}
			if r.ContentLength > MaxBody { // as checkJSON says of a JSON body it reads
				refuseConnect(w, connect.CodeResourceExhausted, tooLarge)
				return
			}
			if v, ok := r.Header["Connect-Timeout-Ms"]; ok && (len(v) != 1 || !connectTimeout.MatchString(v[0])) {
				refuseConnect(w, connect.CodeInvalidArgument, fmt.Sprintf("Connect-Timeout-Ms %q is not a timeout: it is a whole number of milliseconds, 1 to 10 digits", strings.Join(v, ", ")))
				return
			}
			if enc := strings.TrimSpace(r.Header.Get("Content-Encoding")); enc != "" && !strings.EqualFold(enc, "identity") {
				refuseConnect(w, connect.CodeUnimplemented, fmt.Sprintf("Content-Encoding %q is not one the gateway reads: send the body as it is, or compressed with gzip (Content-Encoding: gzip)", enc))
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// connectGET refuses Connect's GET (a GET of a method's own path with
// connect=v1 in its query) of a method in postOnly, whose proto does not
// declare it free of side effects, in Connect's error form: HTTP 405, as
// connect-go's handler answers it, but saying what to do, where that
// answered in plain text "Method Not Allowed".
func connectGET(postOnly map[string]bool, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && postOnly[r.URL.Path] && r.URL.Query().Get("connect") != "" {
			w.Header().Set("Allow", http.MethodPost)
			connectError(w, http.StatusMethodNotAllowed, connect.CodeUnimplemented, fmt.Sprintf(
				"%s takes POST: Connect's GET calls only a method whose proto declares it free of side effects; call it with POST, or, if it changes nothing, add option idempotency_level = NO_SIDE_EFFECTS; to its rpc",
				strings.TrimPrefix(r.URL.Path, "/")))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// vanguardHours is the longest grpc-timeout in hours that vanguard reads
// as a timeout. It takes a longer one (9H) for none, and answered it with
// HTTP 400 and "no timeout" in plain text, which no gRPC or gRPC-Web client
// reads as an error of its call, though gRPC allows up to 99999999 hours.
const vanguardHours = 8

// hoursInMinutes writes a grpc-timeout longer than vanguardHours hours, of
// a request checkCallHeaders found well formed, as the same time in
// minutes, which vanguard reads whole; one longer than 8 digits of
// minutes can say (190 years, past any method_timeout) is taken out, as
// none: the method's budget bounds the call alone.
func hoursInMinutes(h http.Header) {
	v := h.Get("Grpc-Timeout")
	hours, ok := strings.CutSuffix(v, "H")
	if !ok {
		return
	}
	n, _ := strconv.Atoi(hours) // 1 to 8 digits: grpcTimeout matched
	switch {
	case n <= vanguardHours:
	case n*60 <= 99999999:
		h.Set("Grpc-Timeout", strconv.Itoa(n*60)+"M")
	default:
		h.Del("Grpc-Timeout")
	}
}

// The forms of the timeout headers, as the protocols define them.
var (
	connectTimeout = regexp.MustCompile(`^[0-9]{1,10}$`)
	grpcTimeout    = regexp.MustCompile(`^[0-9]{1,8}[HMSmun]$`)
)

// unservedConnect says why the gateway does not serve r, a Connect call
// of media type ct, or "": a version of Connect's protocol other than 1
// (its Connect-Protocol-Version header, or the connect parameter of a GET),
// (HTTP 400), or a POST whose body is neither JSON nor protobuf (HTTP 415,
// unsupported media type).
func unservedConnect(r *http.Request, ct string) (status int, why string) {
	if v, ok := r.Header["Connect-Protocol-Version"]; ok && (len(v) != 1 || strings.TrimSpace(v[0]) != "1") {
		return http.StatusBadRequest, fmt.Sprintf("Connect-Protocol-Version %q is not a version of Connect's protocol the gateway speaks: send 1, the one there is", strings.Join(v, ", "))
	}
	if r.Method == http.MethodGet {
		if v := r.URL.Query()["connect"]; len(v) != 1 || v[0] != "v1" {
			return http.StatusBadRequest, fmt.Sprintf("connect=%s is not a version of Connect's protocol the gateway speaks: send connect=v1, the one there is", strings.Join(v, ","))
		}
		return 0, ""
	}
	if ct != "application/json" && ct != "application/proto" {
		return http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q is not one the gateway serves to Connect's unary calls: send application/json or application/proto", r.Header.Get("Content-Type"))
	}
	return 0, ""
}

// refuseConnect answers a Connect call with an error of code c.
func refuseConnect(w http.ResponseWriter, c connect.Code, msg string) {
	connectError(w, connectHTTPStatus(c), c, msg)
}

// connectError answers with Connect's error form, {"code":..., "message":...},
// and HTTP status: the one way the gateway writes it. The message may hold
// the request's path: JSON's HTML escaping stays on, and no browser may
// take the reply for a page.
func connectError(w http.ResponseWriter, status int, c connect.Code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"code": c.String(), "message": msg})
}

// connectHTTPStatus is the HTTP status Connect's protocol gives the codes
// refuseConnect answers with.
func connectHTTPStatus(c connect.Code) int {
	switch c {
	case connect.CodeUnimplemented:
		return http.StatusNotImplemented
	case connect.CodeResourceExhausted:
		return http.StatusRequestEntityTooLarge // a body over the limit, as checkJSON answers one
	}
	return http.StatusBadRequest
}

// refuseGRPCType answers a call of ct, a content type of gRPC or gRPC-Web
// that the gateway does not serve, with HTTP 415, as gRPC's protocol asks
// of a server (PROTOCOL-HTTP2.md), and invalid argument in its headers,
// as grpc-go's server answers a content type it does not take.
func refuseGRPCType(w http.ResponseWriter, ct string) {
	base, _, _ := strings.Cut(ct, "+")
	w.Header().Set("Content-Type", base)
	w.Header().Set("Grpc-Status", strconv.Itoa(int(connect.CodeInvalidArgument)))
	w.Header().Set("Grpc-Message", grpcMessage(unservedGRPCType(ct)))
	w.WriteHeader(http.StatusUnsupportedMediaType)
}

// refuseGRPCCall ends a gRPC or gRPC-Web call of content type ct with
// code c, in a response of headers only, as those protocols end a call
// that failed before any message.
func refuseGRPCCall(w http.ResponseWriter, ct string, c connect.Code, msg string) {
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Grpc-Status", strconv.Itoa(int(c)))
	w.Header().Set("Grpc-Message", grpcMessage(msg))
	w.WriteHeader(http.StatusOK)
}
