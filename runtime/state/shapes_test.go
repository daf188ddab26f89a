package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"

	"parigot.dev/parigot/manifest"
)

// compiled is the FileDescriptorSet, in binary form, of a .proto file of
// package bank holding src.
func compiled(t *testing.T, src string) []byte {
	t.Helper()
	c := protocompile.Compiler{Resolver: &protocompile.SourceResolver{
		Accessor: protocompile.SourceAccessorFromMap(map[string]string{"bank.proto": "syntax = \"proto3\";\npackage bank;\n" + src}),
	}}
	files, err := c.Compile(context.Background(), "bank.proto")
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{protodesc.ToFileDescriptorProto(files[0])}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A run records the shape of what its stores and topics hold; the next
// one, whose protos would misread it, is refused with what they would
// misread and what to do, and records nothing, so that it is refused
// again until the protos read it right or the record is removed.
func TestARunWhoseProtosWouldMisreadTheDataIsRefused(t *testing.T) {
	const service = "service Audit { rpc Record(Transfer) returns (Account); }\n"
	v1 := compiled(t, service+"message Account { int64 balance = 1; }\nmessage Transfer { string id = 1; int64 amount = 2; }")
	added := compiled(t, service+"message Account { int64 balance = 1; string currency = 3; }\nmessage Transfer { string id = 1; int64 amount = 2; }")
	renumbered := compiled(t, service+"message Account { int64 balance = 2; }\nmessage Transfer { string id = 1; sint64 amount = 2; }")
	app := &manifest.App{
		Stores: []*manifest.Store{{Name: "accounts", Value: "bank.Account"}, {Name: "bytes"}},
		Services: []*manifest.Guest{{Name: "audit",
			Subscriptions: []*manifest.Subscription{{Topic: "transfers", Method: "bank.Audit/Record"}}}},
	}
	dir := filepath.Join(t.TempDir(), "data")

	if err := CheckShapes(dir, app, v1); err != nil {
		t.Fatalf("a first run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ShapesFile)); err != nil {
		t.Fatalf("a first run recorded nothing: %v", err)
	}
	if err := CheckShapes(dir, app, added); err != nil {
		t.Fatalf("a field added: %v", err)
	}

	err := CheckShapes(dir, app, renumbered)
	var refused *ShapesError
	if !errors.As(err, &refused) {
		t.Fatalf("a field renumbered and one retyped: %v, want a *ShapesError", err)
	}
	want := "this build's protos would misread what the data in " + dir + " holds, written by an earlier run:\n" +
		"  store accounts (bank.Account): field balance moved from number 1 to 2: what was written before reads as without it\n" +
		"  topic transfers (bank.Transfer): field amount (number 2) changed from int64 to sint64: what was written before is misread, or does not decode\n" +
		"Keep each field's number and wire type (give a new field a number of its own beside the old one), or read both shapes and rewrite every value in the new one (docs/STATE.md#changing-what-the-data-holds). " +
		"Once what the data holds is to be read with these protos, remove " + filepath.Join(dir, ShapesFile) + ", where each run records the shape of what it writes, and run again"
	if err.Error() != want {
		t.Errorf("refused with:\n%s\nwant:\n%s", err, want)
	}
	if err := CheckShapes(dir, app, renumbered); !errors.As(err, &refused) {
		t.Errorf("a second run of the same protos: %v, want refused again", err)
	}

	// Another value line compares the messages field by field.
	app.Stores[0].Value = "bank.Transfer"
	if err := CheckShapes(dir, app, added); !errors.As(err, &refused) || len(refused.Changes) != 1 || refused.Changes[0].Was != "bank.Account" || refused.Changes[0].Is != "bank.Transfer" {
		t.Errorf("a store's value changed from bank.Account to bank.Transfer: %v", err)
	}

	// A directory another run holds is refused as the run would be.
	_, release, err := JetStreamDir(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	var inUse *InUseError
	if err := CheckShapes(dir, app, v1); !errors.As(err, &inUse) {
		t.Errorf("a directory another run holds: %v, want an *InUseError", err)
	}
	release()

	if err := os.Remove(filepath.Join(dir, ShapesFile)); err != nil {
		t.Fatal(err)
	}
	if err := CheckShapes(dir, app, renumbered); err != nil {
		t.Errorf("with the record removed: %v", err)
	}
}
