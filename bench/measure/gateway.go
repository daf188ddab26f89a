package measure

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"parigot.dev/parigot/bench/internal/bookstoregrpc"
	"parigot.dev/parigot/builder"
	bookstorev1 "parigot.dev/parigot/examples/bookstore/gen/bookstore/v1"
	"parigot.dev/parigot/runtime/gateway"
	"parigot.dev/parigot/runtime/host"
)

// The gateway benchmark calls bookstore.v1.Bookstore/GetBook of
// examples/bookstore with grpc-go, through parigot's gateway in single mode
// (the books service in wasm behind it) and, in the same run, from a plain
// grpc-go server doing the same work natively: decode the request, find
// the book, encode it.

// bookTitle is what GetBook of id "1" returns, in both servers.
const bookTitle = "The Go Programming Language"

// Bookstore is examples/bookstore running in single mode with its gateway
// on a free port of loopback.
type Bookstore struct {
	Addr string // host:port of the gateway
	stop context.CancelFunc
	done chan error
}

// StartBookstore builds examples/bookstore (if stale) and runs it as
// `parigot run` does, its gateway on 127.0.0.1 and a free port.
func StartBookstore(ctx context.Context) (*Bookstore, error) {
	repo, err := Repo()
	if err != nil {
		return nil, err
	}
	res, err := builder.Build(ctx, builder.Options{Dir: filepath.Join(repo, "examples", "bookstore")})
	if err != nil {
		return nil, err
	}
	gws, err := gateway.FromManifest(res.App, "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	schema, err := gateway.LoadSchema(builder.DescriptorsPath(res.App))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	b := &Bookstore{stop: cancel, done: make(chan error, 1)}
	listening := make(chan string, 1)
	go func() {
		_, err := gateway.RunSingle(ctx, gateway.SingleOptions{
			// A busy machine must not fail a call on its budget: the
			// figures are latencies, measured either way.
			Guests: host.ScaledGuests(res.App, res.Wasm, 100), Gateways: gws, Schema: schema,
			Stdout: io.Discard, Stderr: io.Discard, Listening: func(_, url string) { listening <- url },
		})
		b.done <- err
	}()
	select {
	case url := <-listening:
		b.Addr = strings.TrimPrefix(url, "http://")
		return b, nil
	case err := <-b.done:
		cancel()
		return nil, fmt.Errorf("the bookstore did not start: %v", err)
	}
}

// Stop stops the bookstore and waits for it.
func (b *Bookstore) Stop() {
	b.stop()
	<-b.done
}

// plainBookstore is bookstore.v1.Bookstore served natively by grpc-go,
// through the stubs protoc-gen-go-grpc generated, with the books
// service's logic for GetBook.
type plainBookstore struct {
	bookstoregrpc.UnimplementedBookstoreServer
}

var shelf = map[string]*bookstorev1.Book{
	"1": {Id: "1", Title: bookTitle, Author: "Alan Donovan, Brian Kernighan"},
}

func (plainBookstore) GetBook(_ context.Context, req *bookstorev1.GetBookRequest) (*bookstorev1.Book, error) {
	if b := shelf[req.GetId()]; b != nil {
		return b, nil
	}
	return nil, status.Errorf(codes.NotFound, "no book has id %q", req.GetId())
}

// GRPCGetBook makes n GetBook calls with grpc-go (one client connection)
// from callers goroutines to addr: the gateway's address, or "" for a plain
// grpc-go server started here.
func GRPCGetBook(ctx context.Context, addr string, n, callers int) (Stats, error) {
	if addr == "" {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return Stats{}, err
		}
		srv := grpc.NewServer()
		bookstoregrpc.RegisterBookstoreServer(srv, plainBookstore{})
		go srv.Serve(lis)
		defer srv.Stop()
		addr = lis.Addr().String()
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return Stats{}, err
	}
	defer conn.Close()
	client := bookstoregrpc.NewBookstoreClient(conn)
	call := func() error {
		resp, err := client.GetBook(ctx, &bookstorev1.GetBookRequest{Id: "1"})
		if err != nil {
			return err
		}
		if resp.GetTitle() != bookTitle {
			return fmt.Errorf("GetBook returned %v", resp)
		}
		return nil
	}
	// Warm up: connect, and let HTTP/2 flow control windows grow.
	if _, err := fanOut(min(n, 1000), callers, call); err != nil {
		return Stats{}, err
	}
	return fanOut(n, callers, call)
}
