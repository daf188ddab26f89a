package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/reflect/protoreflect"

	"parigot.dev/parigot/runtime/internal/abi"
)

// A REST request whose query or body does not fit its method's request (a
// query parameter that names no field, a number where the body has a
// string) is refused by vanguard before the method is called, but as code
// unknown (internal for a route without a body, whose query vanguard
// reads apart) and HTTP 500: the server's fault, by the status. restFaults makes
// it what it is, the client's mistake: invalid argument and HTTP 400, with
// vanguard's words for what does not fit (and as JSON, which vanguard's
// answer is but does not say). It knows the request never reached a
// method because methodReached, where a method is called, did not see it.
//
// Vanguard's own coding of these errors is what should change; checking
// the body beforehand instead would repeat its mapping of a REST route
// onto the request. The query's values are checked before vanguard sees
// them (checkQuery), for what vanguard says badly or not at all; what
// that check leaves to vanguard (a name that is no field) comes here.

// reachedKey is the context key of a REST request's restFate.
type reachedKey struct{}

// restFate is how far a REST request went, decided once: it reached its
// method, or it was refused before it did.
type restFate struct{ v atomic.Int32 }

const (
	fateOpen int32 = iota
	fateReached
	fateRefused
)

// reach marks the request as one that reached its method, unless it was
// refused first: then it reports false.
func (f *restFate) reach() bool {
	return f.v.CompareAndSwap(fateOpen, fateReached) || f.v.Load() == fateReached
}

// refuse marks the request as refused before it reached its method,
// unless it reached it first: then it reports false.
func (f *restFate) refuse() bool {
	return f.v.CompareAndSwap(fateOpen, fateRefused) || f.v.Load() == fateRefused
}

// methodReached marks the request of ctx as one that reached its method
// (see restFaults), where a method is called once its request was read,
// and reports whether the method may be called. Not for a REST request
// that vanguard refused: it answers the client with the refusal, then
// hands the method's handler the end of an empty body (a request whose
// body did not decode, `{"title": 5}` for a string), which reads as an
// empty message; the method must not run with it.
func methodReached(ctx context.Context) bool {
	if fate, ok := ctx.Value(reachedKey{}).(*restFate); ok {
		return fate.reach()
	}
	return true
}

// restFaults turns h's REST answer of code unknown or internal, given
// before any method was reached, into invalid argument and HTTP 400, and
// says REST errors given then in JSON (see above and finish). Every other
// answer passes as it is. A call at a method's own path (Connect, gRPC,
// gRPC-Web) is not REST and passes untouched, at no cost.
func restFaults(procedures map[string]protoreflect.MessageDescriptor, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, isCall := procedures[r.URL.Path]; isCall {
			h.ServeHTTP(w, r)
			return
		}
		fate := new(restFate)
		// The request as it came: vanguard rewrites its line and header.
		fw := &faultWriter{ResponseWriter: w, fate: fate,
			rest: restRequest{method: r.Method, path: r.URL.Path, contentType: r.Header.Get("Content-Type"), contentEncoding: r.Header.Get("Content-Encoding")}}
		h.ServeHTTP(fw, r.WithContext(context.WithValue(r.Context(), reachedKey{}, fate)))
		fw.finish()
	})
}

// faultWriter holds back an error answer to a REST request that reached
// no method, to say it again (see finish).
type faultWriter struct {
	http.ResponseWriter
	fate *restFate
	held *bytes.Buffer // the held answer's body; nil when nothing is held
	// heldHeader is the held answer's header as it was when it was
	// written: vanguard changes the map afterwards, for an answer it
	// takes as sent.
	heldHeader http.Header
	heldStatus int
	rest       restRequest
}

// restRequest is what a REST refusal says of its request.
type restRequest struct{ method, path, contentType, contentEncoding string }

func (f *faultWriter) WriteHeader(status int) {
	if status >= 400 && f.held == nil && f.fate.refuse() {
		f.held, f.heldHeader, f.heldStatus = new(bytes.Buffer), f.Header().Clone(), status
		return
	}
	f.ResponseWriter.WriteHeader(status)
}

func (f *faultWriter) Write(b []byte) (int, error) {
	if f.held != nil {
		return f.held.Write(b)
	}
	return f.ResponseWriter.Write(b)
}

// Flush passes on, unless an answer is held: it is written whole by
// finish.
func (f *faultWriter) Flush() {
	if fl, ok := f.ResponseWriter.(http.Flusher); ok && f.held == nil {
		fl.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (f *faultWriter) Unwrap() http.ResponseWriter { return f.ResponseWriter }

// finish writes the held answer, if any. REST's error (google.rpc.Status
// in JSON) is said to be JSON, and of code unknown or internal becomes invalid
// argument; any other answer is written as it was.
func (f *faultWriter) finish() {
	if f.held == nil {
		return
	}
	body := f.held.Bytes()
	h := f.ResponseWriter.Header()
	clear(h)
	for k, v := range f.heldHeader {
		h[k] = v
	}
	var status struct {
		Code    *int            `json:"code"`
		Message string          `json:"message"`
		Details json.RawMessage `json:"details"`
	}
	if json.Unmarshal(body, &status) != nil || status.Code == nil {
		if said := f.restRefusal(); said != nil {
			body = said
			h.Set("Content-Type", "application/json")
			h.Set("Content-Length", strconv.Itoa(len(body)))
		}
		f.ResponseWriter.WriteHeader(f.heldStatus)
		f.ResponseWriter.Write(body)
		return
	}
	h.Set("Content-Type", "application/json") // vanguard says application/proto
	h.Del("Content-Encoding")
	switch c := connect.Code(*status.Code); c {
	case connect.CodeUnknown, connect.CodeInternal:
		body = restStatus(connect.CodeInvalidArgument, "the request does not fit its method: "+status.Message)
		f.heldStatus = http.StatusBadRequest
	case connect.CodeResourceExhausted:
		// Before any method: the body or its message is over the limit,
		// said in the libraries' words (message size 4194324 is larger
		// than configured max 4194304), which say nothing of what to do.
		body = restStatus(c, fmt.Sprintf("the request is too large (%s): a call carries at most %d MiB, and a REST body is at most %d MiB; send less in one call, or keep large data elsewhere (a store, object storage) and send its name", status.Message, abi.MaxPayload>>20, MaxBody>>20))
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	f.ResponseWriter.WriteHeader(f.heldStatus)
	f.ResponseWriter.Write(body)
}

// restRefusal is REST's error (google.rpc.Status in JSON) for vanguard's
// plain-text refusals of a REST request: a path that does not take the
// request's HTTP method (405, with its Allow header kept), and a body
// that is not JSON (415). Nil for anything else.
func (f *faultWriter) restRefusal() []byte {
	r := f.rest
	var code connect.Code
	var msg string
	switch f.heldStatus {
	case http.StatusMethodNotAllowed:
		code = connect.CodeUnimplemented
		msg = fmt.Sprintf("%s %s: this path takes %s", r.method, r.path, strings.Join(f.heldHeader.Values("Allow"), ", "))
	case http.StatusUnsupportedMediaType:
		code = connect.CodeInvalidArgument
		given := r.contentType
		if given == "" {
			given = "not said"
		}
		msg = fmt.Sprintf("a REST request's body is JSON (Content-Type: application/json); this one's is %s", given)
		if enc := strings.TrimSpace(r.contentEncoding); enc != "" && !strings.EqualFold(enc, "identity") && isJSON(r.contentType) {
			// gzip was inflated before (see inflate): the JSON is in an
			// encoding the gateway does not read.
			msg = fmt.Sprintf("a REST request's body is JSON, sent as it is or compressed with gzip (Content-Encoding: gzip); this one's Content-Encoding is %s", enc)
		}
	default:
		return nil
	}
	return restStatus(code, msg)
}
