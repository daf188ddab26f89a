package gateway

import (
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	"parigot.dev/parigot/internal/testtool"
)

// callableProto is a service of which a client may call Note alone:
// RecordCreated is a subscription target (see startCallable), Watch
// streams.
const callableProto = `syntax = "proto3";
package events.v1;
message Created { string id = 1; }
service Stats {
  rpc RecordCreated(Created) returns (Created);
  rpc Note(Created) returns (Created);
  rpc Watch(Created) returns (stream Created);
}
`

func startCallable(t *testing.T) *Server {
	t.Helper()
	srv, _ := startLogged(t, "events/v1/events.proto", callableProto, Spec{Services: []string{"events.v1.Stats"},
		Subscribed: map[string][]Subscriber{"events.v1.Stats/RecordCreated": {{Topic: "created", Service: "stats"}}}})
	return srv
}

// TestReflectionDescribesOnlyWhatAClientMayCall: reflection describes a
// served service without the methods the gateway refuses (a subscription
// target) or cannot serve (a streaming one), so that a client that lists
// and describes a service sees no method that then fails; the other
// messages of its file stay. Both servers, and grpcurl.
func TestReflectionDescribesOnlyWhatAClientMayCall(t *testing.T) {
	srv := startCallable(t)
	for _, c := range []struct {
		name   string
		client *http.Client
		opt    connect.ClientOption
	}{
		{"gRPC (grpc-go's server)", h2cClient(), connect.WithGRPC()},
		{"gRPC-Web over HTTP/2 (net/http's server)", h2cClient(), connect.WithGRPCWeb()},
	} {
		t.Run(c.name, func(t *testing.T) {
			stream := grpcreflect.NewClient(c.client, srv.URL(), c.opt).NewStream(t.Context())
			defer stream.Close()
			files, err := stream.FileContainingSymbol("events.v1.Stats")
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(files, func(f *descriptorpb.FileDescriptorProto) bool { return f.GetName() == "events/v1/events.proto" })
			if i < 0 {
				t.Fatalf("no events/v1/events.proto among %d files", len(files))
			}
			var methods []string
			for _, m := range files[i].GetService()[0].GetMethod() {
				methods = append(methods, m.GetName())
			}
			if fmt.Sprint(methods) != "[Note]" || len(files[i].GetMessageType()) != 1 {
				t.Errorf("reflection describes methods %v and %d messages, want [Note] and Created", methods, len(files[i].GetMessageType()))
			}
			if _, err := stream.FileContainingSymbol("events.v1.Stats.RecordCreated"); err == nil {
				t.Error("reflection describes events.v1.Stats.RecordCreated, which the gateway refuses")
			}
		})
	}
	t.Run("grpcurl", func(t *testing.T) {
		grpcurl := testtool.Find(t, "grpcurl", testtool.Grpcurl)
		addr := strings.TrimPrefix(srv.URL(), "http://")
		out, err := exec.CommandContext(t.Context(), grpcurl, "-plaintext", addr, "list", "events.v1.Stats").CombinedOutput()
		if err != nil || string(out) != "events.v1.Stats.Note\n" {
			t.Errorf("grpcurl list events.v1.Stats: %v\n%s", err, out)
		}
		out, err = exec.CommandContext(t.Context(), grpcurl, "-plaintext", addr, "describe", "events.v1.Stats.RecordCreated").CombinedOutput()
		if err == nil {
			t.Errorf("grpcurl describes the refused events.v1.Stats.RecordCreated:\n%s", out)
		}
	})
}
