package gateway

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"parigot.dev/parigot/runtime/internal/abi"
)

// A gRPC or gRPC-Web request the gateway cannot read is refused before
// its method is called, with the code gRPC's own servers give it
// (grpc/doc/statuscodes.md): internal for a message it could not read
// (cut short, or said to be compressed and not), unimplemented for a
// compression it does not read and for a unary call without a message.
// (gRPC's libraries never answer invalid argument, which is a method's
// word on a request it has read.) The message says what was wrong, and
// what a request must be. Both of the gateway's servers answer so:
// net/http's in checkGRPCBody, which reads the request before vanguard
// does; grpc-go's transport itself (see grpcUnread), in its own words.

// grpcRequestForm is what a gRPC request's body must be, as a refusal
// says it.
const grpcRequestForm = "a gRPC request is one message after a 5-byte prefix: a flag (1 if the message is compressed with the grpc-encoding the request names, which the gateway reads for gzip; 0 if not) and the message's length in bytes, 4 bytes big-endian"

// errNoMessage is the refusal of a unary call whose request holds no
// message.
var errNoMessage = connect.NewError(connect.CodeUnimplemented, errors.New("the request has no message: a unary method takes exactly one; "+grpcRequestForm))

// grpcContentTypes are the content types of gRPC and gRPC-Web that the
// gateway serves, as a refusal lists them.
const grpcContentTypes = "application/grpc, application/grpc+proto or application/grpc+json (gRPC); application/grpc-web, application/grpc-web+proto or application/grpc-web+json (gRPC-Web)"

// grpcServed reports whether ct, a media type beginning with
// application/grpc, is one of grpcContentTypes.
func grpcServed(ct string) bool {
	base, codec, _ := strings.Cut(ct, "+")
	return (base == "application/grpc" || base == "application/grpc-web") && (codec == "" || codec == "proto" || codec == "json")
}

// unservedGRPCType is the refusal of a request of content type ct, which
// begins with application/grpc and is not one the gateway serves.
func unservedGRPCType(ct string) string {
	return fmt.Sprintf("Content-Type %q is not one the gateway serves: send %s", ct, grpcContentTypes)
}

// checkGRPCBody refuses a gRPC or gRPC-Web call (procedures: each
// method's path, and its request's type) whose request it cannot read, as
// said above, in a response of headers only. A call in JSON
// (application/grpc+json, application/grpc-web+json) whose message is not
// its method's request is refused with invalid argument, as checkJSON
// does for Connect: vanguard would report the decoding error, then end the
// call a second time with its own status ("unary request has zero
// messages"), which the client reads as unimplemented. A message
// compressed with gzip is inflated to be checked, up to MaxBody bytes: one
// that inflates past them is refused with resource exhausted.
func checkGRPCBody(procedures map[string]protoreflect.MessageDescriptor, types *dynamicpb.Types, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct := mediaType(r.Header.Get("Content-Type"))
		input, isCall := procedures[r.URL.Path]
		web := strings.HasPrefix(ct, "application/grpc-web")
		if !isCall || r.Body == nil || !strings.HasPrefix(ct, "application/grpc") || !web && r.ProtoMajor < 2 {
			// (vanguard tells gRPC over HTTP/1.1 that it needs HTTP/2)
			h.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err != nil {
			h.ServeHTTP(w, r) // vanguard says what is wrong with a body it cannot read
			return
		}
		if ce := unreadableGRPC(body, r.Header.Get("Grpc-Encoding"), strings.HasSuffix(ct, "+json"), input, types); ce != nil {
			refuseGRPCCall(w, ct, ce.Code(), ce.Message())
			return
		}
		h.ServeHTTP(w, r)
	})
}

// unreadableGRPC says why body, the body of a gRPC or gRPC-Web call whose
// messages are compressed with encoding (its grpc-encoding header) and are
// JSON (isJSON) or protobuf, is not a request of type input; nil if it is.
// gRPC-Web's trailers, a frame of its own, are passed over.
func unreadableGRPC(body []byte, encoding string, isJSON bool, input protoreflect.MessageDescriptor, types *dynamicpb.Types) *connect.Error {
	messages := 0
	for rest := body; len(rest) > 0; {
		if len(rest) < 5 {
			return connect.NewError(connect.CodeInternal, fmt.Errorf("the request ends %d bytes into a message's 5-byte prefix; %s", len(rest), grpcRequestForm))
		}
		flags, n := rest[0], int(binary.BigEndian.Uint32(rest[1:5]))
		if n > len(rest)-5 {
			return connect.NewError(connect.CodeInternal, fmt.Errorf("the request ends inside a message: its prefix says %d bytes, and %d came; %s", n, len(rest)-5, grpcRequestForm))
		}
		msg := rest[5 : 5+n]
		rest = rest[5+n:]
		if flags&0x80 != 0 {
			continue // (gRPC-Web) trailers
		}
		messages++
		if flags&1 != 0 {
			var ce *connect.Error
			if msg, ce = inflateGRPC(msg, encoding, isJSON); ce != nil {
				return ce
			}
		}
		if !isJSON {
			continue // protobuf's bytes are the service's to read
		}
		if err := notRequest(msg, input, types); err != nil {
			return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("the request is not a %s: %v", input.FullName(), err))
		}
	}
	if messages == 0 {
		return errNoMessage
	}
	return nil
}

// inflateGRPC is msg, a message whose prefix says it is compressed with
// encoding, inflated (a JSON message, up to MaxBody bytes); or why not.
// A protobuf message is only checked, up to abi.MaxPayload bytes.
func inflateGRPC(msg []byte, encoding string, isJSON bool) ([]byte, *connect.Error) {
	switch enc := strings.TrimSpace(encoding); {
	case enc == "" || strings.EqualFold(enc, "identity"):
		return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("a message's prefix says it is compressed, but the request names no grpc-encoding; %s", grpcRequestForm))
	case !strings.EqualFold(enc, "gzip"):
		return nil, connect.NewError(connect.CodeUnimplemented, fmt.Errorf("grpc-encoding %q is not one the gateway reads: send messages uncompressed, or compressed with gzip", enc))
	}
	var out bytes.Buffer
	dst := io.Writer(&out)
	limit := int64(MaxBody)
	if !isJSON {
		// Only whether it is gzip, and not too large: connect-go inflates
		// it again for the method.
		dst, limit = io.Discard, abi.MaxPayload
	}
	d := &inflater{limit: limit, coded: true}
	err := d.Reset(bytes.NewReader(msg))
	if err == nil {
		_, err = io.Copy(dst, d)
	}
	if ce := new(connect.Error); errors.As(err, &ce) {
		return nil, ce // past the limit
	}
	if err != nil {
		return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("a message is not gzip, as the request's grpc-encoding says; %s", grpcRequestForm))
	}
	return out.Bytes(), nil
}

// grpcUnread is the status of a gRPC call whose request grpc-go's
// transport could not read (err, from RecvMsg): a call without a message
// is unimplemented, as checkGRPCBody says it for net/http's. Any other
// error is grpc-go's as it is, and grpc-go has already answered the client
// with it: a message cut short ("unexpected EOF") or said to be compressed
// and not is internal, a compression the gateway does not read
// unimplemented, in grpc-go's words.
func grpcUnread(err error) error {
	if errors.Is(err, io.EOF) {
		return status.Error(codes.Code(errNoMessage.Code()), errNoMessage.Message())
	}
	return err
}
