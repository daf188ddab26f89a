package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync/atomic"

	"connectrpc.com/connect"
)

// A REST request whose query or body does not fit its method's request (a
// query parameter that names no field, a number where the body has a
// string) is refused by vanguard before the method is called, but as code
// unknown and HTTP 500: the server's fault, by the status. restFaults makes
// it what it is, the client's mistake: invalid argument and HTTP 400, with
// vanguard's words for what does not fit (and as JSON, which vanguard's
// answer is but does not say). It knows the request never
// reached a method because methodReached, around the methods vanguard
// calls, did not see it.

// reachedKey is the context key of the flag methodReached sets.
type reachedKey struct{}

// methodReached marks the request of ctx as one that reached its method
// (see restFaults): vanguard may start the method's handler before it
// decodes a REST request, so it is marked where the method is called, once
// its request was read.
func methodReached(ctx context.Context) {
	if reached, ok := ctx.Value(reachedKey{}).(*atomic.Bool); ok {
		reached.Store(true)
	}
}

// restFaults turns h's REST answer of code unknown and HTTP 500, given
// before any method was reached, into invalid argument and HTTP 400, and
// labels REST errors given then as JSON (see above). Every other answer
// passes as it is.
func restFaults(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached := new(atomic.Bool)
		fw := &faultWriter{ResponseWriter: w, reached: reached}
		h.ServeHTTP(fw, r.WithContext(context.WithValue(r.Context(), reachedKey{}, reached)))
		fw.finish()
	})
}

// faultWriter holds back an error answer to a request that reached no
// method, to say it again (see finish).
type faultWriter struct {
	http.ResponseWriter
	reached *atomic.Bool
	held    *bytes.Buffer // the held answer's body; nil when nothing is held
	// heldHeader is the held answer's header as it was when it was
	// written: vanguard changes the map afterwards, for an answer it
	// takes as sent.
	heldHeader http.Header
	heldStatus int
}

func (f *faultWriter) WriteHeader(status int) {
	if status >= 400 && !f.reached.Load() && f.held == nil {
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
// in JSON) is said to be JSON, and of code unknown becomes invalid
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
		f.ResponseWriter.WriteHeader(f.heldStatus)
		f.ResponseWriter.Write(body)
		return
	}
	h.Set("Content-Type", "application/json") // vanguard says application/proto
	h.Del("Content-Encoding")
	if *status.Code == int(connect.CodeUnknown) {
		body, _ = json.Marshal(map[string]any{"code": int(connect.CodeInvalidArgument), "message": "the request does not fit its method: " + status.Message, "details": []any{}})
		f.heldStatus = http.StatusBadRequest
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	f.ResponseWriter.WriteHeader(f.heldStatus)
	f.ResponseWriter.Write(body)
}
