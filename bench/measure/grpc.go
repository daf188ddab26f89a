package measure

import (
	"bytes"
	"context"
	"fmt"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// echoService is a unary gRPC service, bench.Echo/Echo, described by hand so
// that no protoc plugin is needed. Its handler does what the parigot
// service does: decode the request, build a reply, return it for encoding.
var echoService = grpc.ServiceDesc{
	ServiceName: "bench.Echo",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Echo",
		Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			req := new(wrapperspb.BytesValue)
			if err := dec(req); err != nil {
				return nil, err
			}
			return wrapperspb.Bytes(req.GetValue()), nil
		},
	}},
}

// GRPC makes n unary grpc-go calls over loopback TCP (one client
// connection, as a client would normally share it) from callers goroutines.
func GRPC(ctx context.Context, n, size, callers int) (Stats, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Stats{}, err
	}
	srv := grpc.NewServer()
	srv.RegisterService(&echoService, struct{}{})
	go srv.Serve(lis)
	defer srv.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return Stats{}, err
	}
	defer conn.Close()
	payload := bytes.Repeat([]byte{'p'}, size)
	call := func() error {
		resp := new(wrapperspb.BytesValue)
		if err := conn.Invoke(ctx, "/bench.Echo/Echo", wrapperspb.Bytes(payload), resp); err != nil {
			return err
		}
		if len(resp.GetValue()) != size {
			return fmt.Errorf("reply of %d bytes, want %d", len(resp.GetValue()), size)
		}
		return nil
	}
	// Warm up: connect, and let HTTP/2 flow control windows grow.
	if _, err := fanOut(min(n, 1000), callers, call); err != nil {
		return Stats{}, err
	}
	return fanOut(n, callers, call)
}
