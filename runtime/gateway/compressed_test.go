package gateway

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net/http"
	neturl "net/url"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// gzipped is n bytes of one byte between before and after, compressed
// with gzip: about n/1000 bytes.
func gzipped(before string, n int, after string) []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write([]byte(before))
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	for ; n > 0; n -= len(chunk) {
		zw.Write(chunk[:min(n, len(chunk))])
	}
	zw.Write([]byte(after))
	zw.Close()
	return b.Bytes()
}

// envelope frames msg as gRPC and gRPC-Web do, compressed or not.
func envelope(compressed bool, msg []byte) []byte {
	flags := byte(0)
	if compressed {
		flags = 1
	}
	return append(binary.BigEndian.AppendUint32([]byte{flags}, uint32(len(msg))), msg...)
}

// TestACompressedMessageIsInflatedNoFurtherThanTheLimit: a message
// compressed with gzip (grpc-encoding: gzip, or Connect's compression
// parameter) is inflated up to the gateway's limit, and refused past it
// with resource exhausted, in every protocol that compresses messages
// rather than bodies. A megabyte of gzip is a gigabyte of zeros: inflated
// whole, in JSON (which vanguard transcodes), it held gigabytes of the
// gateway's memory and took seconds, during which every other client
// waited; in protobuf, connect-go inflated all of it only to say its size.
func TestACompressedMessageIsInflatedNoFurtherThanTheLimit(t *testing.T) {
	srv, _ := startTest(t)
	url := srv.URL() + "/test.v1.Echo/Say"
	const inflated = 256 << 20 // a quarter of a gigabyte; about 256 KB compressed
	jsonBomb := gzipped(`{"name":"`, inflated, `"}`)
	protoBomb := gzipped(string(protowire.AppendVarint([]byte{0x0a}, inflated)), inflated, "")
	h2c := h2cClient()
	defer h2c.CloseIdleConnections()
	for _, c := range []struct {
		name   string
		client *http.Client
		method string
		url    string
		ct     string
		body   []byte
		header []string
		// wantGRPC is the status in Grpc-Status; otherwise the HTTP
		// status and Connect's code are wanted.
		wantGRPC string
		says     string
	}{
		{"gRPC-Web in JSON", http.DefaultClient, "POST", url, "application/grpc-web+json", envelope(true, jsonBomb), []string{"Grpc-Encoding", "gzip"},
			"8", "the message inflates to more than 8388608 bytes, the gateway's limit"},
		{"gRPC in JSON (net/http)", h2c, "POST", url, "application/grpc+json", envelope(true, jsonBomb), []string{"Grpc-Encoding", "gzip", "TE", "trailers"},
			"8", "the message inflates to more than 8388608 bytes, the gateway's limit"},
		{"gRPC-Web in protobuf", http.DefaultClient, "POST", url, "application/grpc-web+proto", envelope(true, protoBomb), []string{"Grpc-Encoding", "gzip"},
			"8", "the message inflates to more than 4194304 bytes, the gateway's limit"},
		{"Connect's GET in JSON", http.DefaultClient, "GET",
			url + "?connect=v1&encoding=json&compression=gzip&base64=1&message=" + neturl.QueryEscape(base64.RawURLEncoding.EncodeToString(jsonBomb)), "", nil, nil,
			"", "the message inflates to more than 8388608 bytes, the gateway's limit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), c.method, c.url, bytes.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.ct != "" {
				req.Header.Set("Content-Type", c.ct)
			}
			for i := 0; i+1 < len(c.header); i += 2 {
				req.Header.Set(c.header[i], c.header[i+1])
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			resp, err := c.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			runtime.ReadMemStats(&after)
			got := string(b)
			if c.wantGRPC != "" {
				status := resp.Trailer.Get("Grpc-Status") + resp.Header.Get("Grpc-Status")
				msg, _ := neturl.PathUnescape(resp.Trailer.Get("Grpc-Message") + resp.Header.Get("Grpc-Message"))
				got = status + " " + msg
				if status != c.wantGRPC {
					t.Errorf("grpc-status %q, want %s (resource exhausted): %s", status, c.wantGRPC, got)
				}
			} else if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(got, `"code":"resource_exhausted"`) {
				t.Errorf("HTTP %d %s, want 429 and resource exhausted", resp.StatusCode, got)
			}
			if !strings.Contains(got, c.says) {
				t.Errorf("%q does not say %q", got, c.says)
			}
			// Inflating it all would allocate its 256 MiB at least (it
			// allocated 1.5 GiB); inflating 8 MiB allocates about 20 MiB,
			// twice that under the race detector.
			if n := after.TotalAlloc - before.TotalAlloc; n > 128<<20 {
				t.Errorf("the gateway allocated %d MiB for a message it refused", n>>20)
			}
		})
	}
	t.Run("a message said to be gzip that is not is refused as such", func(t *testing.T) {
		// internal, as gRPC's servers answer a message they cannot
		// decompress (grpc/doc/statuscodes.md)
		resp, _ := post(t, url, "application/grpc-web+json", string(envelope(true, []byte(`{"name":"x"}`))), "Grpc-Encoding", "gzip")
		msg, _ := neturl.PathUnescape(resp.Header.Get("Grpc-Message"))
		if got := resp.Header.Get("Grpc-Status"); got != "13" || !strings.HasPrefix(msg, "a message is not gzip, as the request's grpc-encoding says; ") {
			t.Errorf("grpc-status %q, %q; want 13 (internal), saying it is not gzip", got, msg)
		}
	})
	t.Run("a compressed message within the limit is served", func(t *testing.T) {
		for _, ct := range []string{"application/grpc-web+json", "application/grpc-web+proto"} {
			msg := gzipped(`{"name":"`, 1000, `"}`)
			if ct == "application/grpc-web+proto" {
				msg = gzipped(string(protowire.AppendVarint([]byte{0x0a}, 1000)), 1000, "")
			}
			// gRPC-Web's status is in the trailers, the body's last frame;
			// the reply comes compressed, as the request did.
			resp, body := post(t, url, ct, string(envelope(true, msg)), "Grpc-Encoding", "gzip")
			var frames strings.Builder
			for rest := []byte(body); len(rest) >= 5; {
				n := int(binary.BigEndian.Uint32(rest[1:5]))
				frame := rest[5 : 5+n]
				if rest[0]&1 != 0 {
					zr, err := gzip.NewReader(bytes.NewReader(frame))
					if err != nil {
						t.Fatalf("%s: a frame of the reply is not gzip: %v", ct, err)
					}
					frame, _ = io.ReadAll(zr)
				}
				frames.Write(frame)
				rest = rest[5+n:]
			}
			if got := strings.ToLower(frames.String()); !strings.Contains(got, "hello, xxx") || !strings.Contains(got, "grpc-status: 0") {
				t.Errorf("%s: %q, %.300q", ct, resp.Header.Get("Grpc-Status"), got)
			}
		}
	})
}
