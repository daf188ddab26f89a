package codegen

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestVTProtoVersionMatchesGoMod(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*github\.com/planetscale/vtprotobuf (v\S+)`).FindSubmatch(b)
	if m == nil || string(m[1]) != vtprotoVersion {
		t.Errorf("go.mod requires vtprotobuf %q, vtprotoVersion is %q: keep them equal", m, vtprotoVersion)
	}
}

func TestGenerateVT(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"proto/a/v1/a.proto": `syntax = "proto3";
package a.v1;
import "google/protobuf/timestamp.proto";
import "parigot/id/v1/id.proto";
import "b/v1/b.proto";
message A {
  google.protobuf.Timestamp at = 1;
  parigot.id.v1.Id id = 2;
  b.v1.B b = 3;
}
`,
		// proto2: protobuf-go keeps serving it (required fields, extensions).
		"proto/b/v1/b.proto": `syntax = "proto2";
package b.v1;
message B { required string name = 1; extensions 100 to 200; }
`,
		// proto3, but in a package with a proto2 file: left out too.
		"proto/b/v1/b3.proto": `syntax = "proto3";
package b.v1;
message B3 { string name = 1; }
`,
		"proto/c/v1/c.proto": `syntax = "proto3";
package c.v1;
enum OnlyAnEnum { ONLY_AN_ENUM_UNSPECIFIED = 0; }
`,
	})
	res := mustGenerate(t, Input{
		AppDir: dir, DisplayDir: "app", Module: testModule,
		Sets: []ProtoSet{{Root: "proto", Files: []string{"proto/a/v1/a.proto", "proto/b/v1/b.proto", "proto/b/v1/b3.proto", "proto/c/v1/c.proto"}}},
	})
	got := rel(t, dir, res.Files)

	t.Run("proto3 packages get fast marshalling", func(t *testing.T) {
		if !slices.Contains(got, "gen/a/v1/a_vtproto.pb.go") {
			t.Errorf("Files = %q, want gen/a/v1/a_vtproto.pb.go among them", got)
		}
	})
	t.Run("packages with a proto2 file and files without messages get none", func(t *testing.T) {
		for _, f := range got {
			if strings.HasSuffix(f, vtSuffix) && f != "gen/a/v1/a_vtproto.pb.go" {
				t.Errorf("generated %s", f)
			}
		}
	})
	t.Run("the file says who generated it, and no build's version", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(dir, "gen/a/v1/a_vtproto.pb.go"))
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		want := stubHeader + "\n// Fast marshalling by vtprotobuf " + vtprotoVersion + " (github.com/planetscale/vtprotobuf), run in-process.\n// source: a/v1/a.proto\n\npackage av1\n"
		if !strings.HasPrefix(src, want) {
			t.Errorf("file starts\n%s\nwant\n%s", src[:min(len(src), len(want))], want)
		}
		for _, w := range []string{
			`"github.com/planetscale/vtprotobuf/types/known/timestamppb"`, // well-known types through vtprotobuf's helpers
			"interface{}(m.B).(interface",                                 // other packages' messages: checked, with a fallback
			"proto.Marshal(m.B)",
		} {
			if !strings.Contains(strings.Join(strings.Fields(src), " "), strings.Join(strings.Fields(w), " ")) {
				t.Errorf("a_vtproto.pb.go lacks %s:\n%s", w, src)
			}
		}
	})
}

// Every well-known type of knownTwins, taken or returned by a method, gets
// the fast path in the stubs (UnaryMethodAs, converted to its twin), and
// the conversions compile: a twin named wrong would break an app's build.
func TestEveryWellKnownTwinIsConvertedAndCompiles(t *testing.T) {
	dir := writeApp(t, map[string]string{"proto/k/v1/k.proto": `syntax = "proto3";
package k.v1;
import "google/protobuf/duration.proto";
import "google/protobuf/empty.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
service Known {
  rpc A(google.protobuf.Empty) returns (google.protobuf.DoubleValue);
  rpc B(google.protobuf.FloatValue) returns (google.protobuf.Int64Value);
  rpc C(google.protobuf.UInt64Value) returns (google.protobuf.Int32Value);
  rpc D(google.protobuf.UInt32Value) returns (google.protobuf.BoolValue);
  rpc E(google.protobuf.StringValue) returns (google.protobuf.BytesValue);
  rpc F(google.protobuf.Timestamp) returns (google.protobuf.Duration);
  rpc G(google.protobuf.FieldMask) returns (google.protobuf.Empty);
}
`})
	mustGenerate(t, Input{AppDir: dir, DisplayDir: "app", Module: testModule,
		Sets: []ProtoSet{{Root: "proto", Files: []string{"proto/k/v1/k.proto"}}}})
	b, err := os.ReadFile(filepath.Join(dir, "gen/k/v1/k_parigot.pb.go"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	if n := strings.Count(src, "guest.UnaryMethodAs("); n != 7 || strings.Contains(src, "guest.UnaryMethod(") || strings.Contains(src, "guest.Invoke(") {
		t.Errorf("%d of 7 methods exported with UnaryMethodAs, and UnaryMethod or Invoke used: %v, %v:\n%s",
			n, strings.Contains(src, "guest.UnaryMethod("), strings.Contains(src, "guest.Invoke("), src)
	}
	for full, twin := range knownTwins {
		if conv := "(*" + path.Base(string(twin.GoImportPath)) + "1." + twin.GoName + ")(m)"; !strings.Contains(src, conv) {
			t.Errorf("%s is not converted to its twin (no %s)", full, conv)
		}
	}
	if testing.Short() {
		return
	}
	makeModule(t, dir, nil)
	cmd := exec.Command("go", "build", "./...")
	cmd.Dir = dir
	cmd.Env = append(offlineEnv(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("go build: %v\n%s", err, out)
	}
}
