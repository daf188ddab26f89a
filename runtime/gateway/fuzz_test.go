package gateway

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"parigot.dev/parigot/runtime/internal/native"
)

// failOnError fails the fuzz target when the gateway logs an error: a
// request that panicked (the guard turns a panic into a log line and a 500).
type failOnError struct {
	slog.Handler
	t *testing.T
}

func (h failOnError) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.t.Errorf("the gateway logged an error: %s", r.Message)
	}
	return nil
}

func (h failOnError) Enabled(context.Context, slog.Level) bool { return true }

// FuzzGateway sends the gateway's handler requests of any method, path,
// content type, header and body: none may panic, and each gets an HTTP
// status.
func FuzzGateway(f *testing.F) {
	schema, err := ParseSchema(testSchema(f))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []struct{ method, path, ct, header, body string }{
		{"POST", "/test.v1.Echo/Say", "application/json", "", `{"name":"x"}`},
		{"POST", "/test.v1.Echo/Say", "application/json", "", `{"name":`},
		{"POST", "/test.v1.Echo/Say", "application/proto", "Connect-Timeout-Ms: 5", "\x0a\x01x"},
		{"POST", "/test.v1.Echo/Say", "application/grpc", "grpc-timeout: 1S", "\x00\x00\x00\x00\x03\x0a\x01x"},
		{"POST", "/test.v1.Echo/Say", "application/grpc-web+proto", "", "\x00\x00\x00\x00\x03\x0a\x01x"},
		{"POST", "/v1/say/x", "application/json", "", `{"data":"AAEC"}`},
		{"GET", "/v1/greet/x?data=AAEC&data=%21&userName=a&user_name=b&name.x=1", "", "", ""},
		{"GET", "/test.v1.Echo/Say?connect=v1&encoding=json&message=%7B%7D", "", "", ""},
		{"POST", "/test.v1.Hidden/Say", "application/json", "Connect-Protocol-Version: 1", `{}`},
		{"POST", "/grpc.health.v1.Health/Check", "application/json", "Connect-Protocol-Version: 1", `{}`},
		{"POST", "/test.v1.Echo/Fail", "application/connect+json", "", "\x00\x00\x00\x00\x02{}"},
	} {
		f.Add(seed.method, seed.path, seed.ct, seed.header, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, method, path, ct, header string, body []byte) {
		h, err := newHandler(schema, []string{"test.v1.Echo"}, nil,
			backend{find: services{&fakeService{tame: true}}, caller: native.NewCaller(NativeIdentity), log: slog.New(failOnError{t: t})},
			slog.New(failOnError{t: t}))
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest(method, "http://gateway"+path, bytes.NewReader(body))
		if err != nil || !strings.HasPrefix(req.URL.Path, "/") {
			return // no client can send it
		}
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if k, v, ok := strings.Cut(header, ":"); ok && k != "" {
			req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code < 100 || rec.Code > 599 {
			t.Errorf("HTTP status %d", rec.Code)
		}
	})
}
