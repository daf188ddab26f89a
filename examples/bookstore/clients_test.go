//go:build !wasip1

package bookstore_test

import (
	"os/exec"
	"strings"
	"testing"

	"parigot.dev/parigot/internal/testtool"
	"parigot.dev/parigot/runtime/apptest"
)

// run runs a client and returns its stdout, failing the test with its
// stderr when it fails.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// TestRealClients calls the bookstore's gateway with clients no one here
// wrote, each in the protocol it speaks, and the server reflection grpcurl
// and buf curl find the methods with (no .proto file given).
func TestRealClients(t *testing.T) {
	app := apptest.Start(t, ".", apptest.Default)
	url := app.Gateway(t, "public")
	addr := strings.TrimPrefix(url, "http://")
	const title = "Structure and Interpretation of Computer Programs"

	t.Run("curl, Connect's unary JSON", func(t *testing.T) {
		curl := testtool.Find(t, "curl", "apt-get install curl")
		out := run(t, curl, "-sS", "--fail-with-body", "-X", "POST", "-H", "Content-Type: application/json",
			"-d", `{"id":"2"}`, url+"/bookstore.v1.Bookstore/GetBook")
		if !strings.Contains(out, title) {
			t.Errorf("curl printed %s", out)
		}
	})
	t.Run("curl, a REST path", func(t *testing.T) {
		curl := testtool.Find(t, "curl", "apt-get install curl")
		out := run(t, curl, "-sS", "--fail-with-body", url+"/v1/books/2")
		if !strings.Contains(out, title) {
			t.Errorf("curl printed %s", out)
		}
	})
	t.Run("grpcurl, gRPC over HTTP/2 cleartext, with reflection", func(t *testing.T) {
		grpcurl := testtool.Find(t, "grpcurl", testtool.Grpcurl)
		out := run(t, grpcurl, "-plaintext", "-d", `{"id":"2"}`, addr, "bookstore.v1.Bookstore/GetBook")
		if !strings.Contains(out, title) {
			t.Errorf("grpcurl printed %s", out)
		}
	})
	t.Run("grpcurl lists only the gateway's services, and health", func(t *testing.T) {
		grpcurl := testtool.Find(t, "grpcurl", testtool.Grpcurl)
		if out := run(t, grpcurl, "-plaintext", addr, "list"); out != "bookstore.v1.Bookstore\ngrpc.health.v1.Health\n" {
			t.Errorf("grpcurl list printed %q", out)
		}
	})
	t.Run("grpcurl, the standard health check", func(t *testing.T) {
		grpcurl := testtool.Find(t, "grpcurl", testtool.Grpcurl)
		out := run(t, grpcurl, "-plaintext", "-d", `{"service":"bookstore.v1.Bookstore"}`, addr, "grpc.health.v1.Health/Check")
		if !strings.Contains(out, `"SERVING"`) { // and not "NOT_SERVING"
			t.Errorf("grpcurl printed %s", out)
		}
	})
	for _, protocol := range []string{"grpcweb", "connect", "grpc"} {
		t.Run("buf curl, "+protocol, func(t *testing.T) {
			buf := testtool.Find(t, "buf", testtool.Buf)
			args := []string{"curl", "--protocol", protocol, "--data", `{"id":"2"}`}
			if protocol == "grpc" {
				args = append(args, "--http2-prior-knowledge")
			}
			out := run(t, buf, append(args, url+"/bookstore.v1.Bookstore/GetBook")...)
			if !strings.Contains(out, title) {
				t.Errorf("buf curl printed %s", out)
			}
		})
	}
	t.Run("grpcurl gets the service's error code", func(t *testing.T) {
		grpcurl := testtool.Find(t, "grpcurl", testtool.Grpcurl)
		cmd := exec.CommandContext(t.Context(), grpcurl, "-plaintext", "-d", `{"id":"42"}`, addr, "bookstore.v1.Bookstore/GetBook")
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), "Code: NotFound") || !strings.Contains(string(out), `no book has id "42"`) {
			t.Errorf("grpcurl printed %s", out)
		}
	})
}
