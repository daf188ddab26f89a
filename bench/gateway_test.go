package bench

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"parigot.dev/parigot/bench/internal/bookstoregrpc"
	"parigot.dev/parigot/bench/measure"
	bookstorev1 "parigot.dev/parigot/examples/bookstore/gen/bookstore/v1"
	"parigot.dev/parigot/runtime/apptest"
)

// TestGatewayWithGRPCGo calls examples/bookstore through its gateway with
// grpc-go, the gRPC client most Go services use, over HTTP/2 cleartext,
// through the stubs protoc-gen-go-grpc generated for the bookstore's proto
// (internal/bookstoregrpc). It lives in the bench module so that grpc-go
// never becomes a requirement of parigot's.
func TestGatewayWithGRPCGo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bookstore")
	}
	b, err := measure.StartBookstore(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	conn, err := grpc.NewClient(b.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	books := bookstoregrpc.NewBookstoreClient(conn)

	t.Run("a unary call returns the book", func(t *testing.T) {
		resp, err := books.GetBook(t.Context(), &bookstorev1.GetBookRequest{Id: "1"})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetTitle() != "The Go Programming Language" {
			t.Errorf("GetBook(1) = %v", resp)
		}
	})
	t.Run("a call that changes state is seen by the next", func(t *testing.T) {
		added, err := books.AddBook(t.Context(), &bookstorev1.AddBookRequest{Book: &bookstorev1.Book{Title: "gRPC: Up and Running"}})
		if err != nil {
			t.Fatal(err)
		}
		list, err := books.ListBooks(t.Context(), &bookstorev1.ListBooksRequest{})
		if err != nil || len(list.GetBooks()) != 3 || list.GetBooks()[2].GetId() != added.GetId() {
			t.Errorf("ListBooks after AddBook: %v, %v", list, err)
		}
	})
	t.Run("the service's error arrives as its gRPC status", func(t *testing.T) {
		_, err := books.GetBook(t.Context(), &bookstorev1.GetBookRequest{Id: "42"})
		if s := status.Convert(err); s.Code() != codes.NotFound || s.Message() != `no book has id "42"` {
			t.Errorf("GetBook(42): %v, want NotFound", err)
		}
	})
	t.Run("an unknown method is unimplemented", func(t *testing.T) {
		err := conn.Invoke(t.Context(), "/bookstore.v1.Bookstore/Burn", &bookstorev1.GetBookRequest{}, new(bookstorev1.Book))
		if status.Code(err) != codes.Unimplemented {
			t.Errorf("Burn: %v, want Unimplemented", err)
		}
	})
	t.Run("a client's deadline ends the call with DeadlineExceeded", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Nanosecond)
		defer cancel()
		_, err := books.GetBook(ctx, &bookstorev1.GetBookRequest{Id: "1"})
		if status.Code(err) != codes.DeadlineExceeded {
			t.Errorf("%v, want DeadlineExceeded", err)
		}
	})
	t.Run("the standard health check says SERVING", func(t *testing.T) {
		resp, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{Service: "bookstore.v1.Bookstore"})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("%v, %v", resp, err)
		}
	})
}

// BenchmarkGateway measures a unary GetBook with grpc-go: through the
// gateway to the bookstore's wasm service in single mode, and from a plain
// grpc-go server doing the same work, in the same run. A third way,
// grpc-go-to-wasm, is a grpc-go server whose GetBook calls the same wasm
// service in memory (apptest's native call): what a gateway built on
// grpc-go's own HTTP/2 transport could at best reach for gRPC clients.
//
//	cd bench && go test -run '^$' -bench Gateway -benchtime=20000x
func BenchmarkGateway(b *testing.B) {
	ctx := context.Background()
	store, err := measure.StartBookstore(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Stop()
	toWasm := grpcToWasm(b)
	for _, way := range []string{"grpc-go", "grpc-go-to-wasm", "gateway"} {
		for _, c := range callers {
			b.Run(fmt.Sprintf("%s/callers=%d", way, c), func(b *testing.B) {
				addr := map[string]string{"grpc-go": "", "grpc-go-to-wasm": toWasm, "gateway": store.Addr}[way]
				st, err := measure.GRPCGetBook(ctx, addr, b.N, c)
				b.StopTimer()
				report(b, st, err)
			})
		}
	}
}

// grpcToWasm serves bookstore.v1.Bookstore with grpc-go, each GetBook a
// call of the bookstore's books service (wasm, single mode) in memory, and
// returns its address.
func grpcToWasm(b *testing.B) string {
	app := apptest.Start(b, "../examples/bookstore", apptest.Single)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer()
	bookstoregrpc.RegisterBookstoreServer(srv, wasmBookstore{app: app})
	go srv.Serve(lis)
	b.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// wasmBookstore answers GetBook by calling the books service of app.
type wasmBookstore struct {
	bookstoregrpc.UnimplementedBookstoreServer
	app *apptest.App
}

func (w wasmBookstore) GetBook(ctx context.Context, req *bookstorev1.GetBookRequest) (*bookstorev1.Book, error) {
	resp := new(bookstorev1.Book)
	if err := w.app.Call(ctx, "bookstore.v1.Bookstore", "GetBook", req, resp); err != nil {
		return nil, err
	}
	return resp, nil
}
