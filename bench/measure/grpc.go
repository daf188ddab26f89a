package measure

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"

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
	return grpcCalls(ctx, lis.Addr().String(), n, size, callers)
}

// grpcCalls makes n unary calls to the echo service at addr from callers
// goroutines sharing one client connection, after a warm-up.
func grpcCalls(ctx context.Context, addr string, n, size, callers int) (Stats, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
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

// envGRPCServer makes a process that calls MaybeRunChild serve the grpc-go
// echo service for GRPCTwoProcesses: it prints its address and serves until
// its stdin closes.
const envGRPCServer = "PARIGOT_BENCH_GRPC_SERVER"

// runGRPCServer is the server process of GRPCTwoProcesses.
func runGRPCServer() {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv := grpc.NewServer()
	srv.RegisterService(&echoService, struct{}{})
	go srv.Serve(lis)
	fmt.Println(lis.Addr().String())
	io.Copy(io.Discard, os.Stdin) // until the benchmark is done with it
	srv.Stop()
	os.Exit(0)
}

// GRPCTwoProcesses is GRPC with the server in a process of its own (this
// same binary, see MaybeRunChild) and the client in this one: what split
// mode is compared with, where each call crosses between processes.
func GRPCTwoProcesses(ctx context.Context, n, size, callers int) (Stats, error) {
	exe, err := os.Executable()
	if err != nil {
		return Stats{}, err
	}
	cmd := &exec.Cmd{Path: exe, Args: []string{"parigot"}, Env: append(os.Environ(), envGRPCServer+"=1"), Stderr: os.Stderr}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return Stats{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return Stats{}, err
	}
	if err := cmd.Start(); err != nil {
		return Stats{}, err
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return Stats{}, fmt.Errorf("the grpc-go server process: %w", err)
	}
	return grpcCalls(ctx, strings.TrimSpace(addr), n, size, callers)
}
