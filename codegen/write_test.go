package codegen

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"parigot.dev/parigot/internal/genfile"
)

const shopProto = `syntax = "proto3";
package shop.v1;
option go_package = "example.com/app/gen/shop/v1;shopv1";

service Shop {
  rpc Buy(BuyRequest) returns (BuyResponse);
}
message BuyRequest { string item = 1; }
message BuyResponse {}
`

// A renamed proto's old files go, and only they: what parigot did not
// write stays, even a protoc-gen-go file beside them.
func TestARenamedProtoTakesItsGeneratedFiles(t *testing.T) {
	dir := writeApp(t, map[string]string{"proto/shop/v1/shop.proto": shopProto})
	input := func(file string) Input {
		return Input{
			AppDir: dir, DisplayDir: "app", Module: testModule,
			Sets: []ProtoSet{{Root: "proto", Files: []string{file}}},
		}
	}
	mustGenerate(t, input("proto/shop/v1/shop.proto"))
	gen := filepath.Join(dir, "gen/shop/v1")
	// Files of the user's in the same directory: a protoc-gen-go file of
	// another proto, one of the same name's proto generated elsewhere (its
	// source differs), Go code of their own, and a file that only looks
	// generated.
	own := map[string]string{
		"extra.pb.go":              messageHeader + "\n// source: shop/v1/extra.proto\n\npackage shopv1\n",
		"other.pb.go":              messageHeader + "\n// source: other/shop.proto\n\npackage shopv1\n",
		"helpers.go":               "package shopv1\n",
		"notes.pb.go":              "package shopv1\n",
		"manual_id.go":             stubHeader + "\n\npackage shopv1\n",
		"stale.pb.gox":             stubHeader + "\n",
		"other_vtproto.pb.go.orig": stubHeader + "\n",
	}
	for name, content := range own {
		if err := os.WriteFile(filepath.Join(gen, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A stale parigot sibling whose source is another proto's: it goes, but
	// does not take other.pb.go with it.
	if err := os.WriteFile(filepath.Join(gen, "other_parigot.pb.go"), []byte(stubHeader+"\n// source: shop/v1/other.proto\n\npackage shopv1\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	if err := os.Rename(filepath.Join(dir, "proto/shop/v1/shop.proto"), filepath.Join(dir, "proto/shop/v1/store.proto")); err != nil {
		t.Fatal(err)
	}
	res := mustGenerate(t, input("proto/shop/v1/store.proto"))

	t.Run("the old proto's files are removed and said to be", func(t *testing.T) {
		wantRemoved(t, dir, res, "gen/shop/v1/other_parigot.pb.go", "gen/shop/v1/shop.pb.go",
			"gen/shop/v1/shop_parigot.pb.go", "gen/shop/v1/shop_parigot_native.pb.go", "gen/shop/v1/shop_vtproto.pb.go")
	})
	t.Run("the new proto's files are there", func(t *testing.T) {
		for _, f := range []string{"store.pb.go", "store_parigot.pb.go", "store_parigot_native.pb.go", "store_vtproto.pb.go"} {
			if _, err := os.Stat(filepath.Join(gen, f)); err != nil {
				t.Error(err)
			}
		}
	})
	t.Run("files parigot did not write stay", func(t *testing.T) {
		for name := range own {
			if _, err := os.Stat(filepath.Join(gen, name)); err != nil {
				t.Error(err)
			}
		}
	})
}

// A proto whose go_package moves, or that the app no longer compiles,
// takes its old directory's files with it, though nothing is written
// there any more; a directory of another app inside this one (with a
// manifest of its own), and the build's output, are not looked in.
func TestAProtoThatMovedOrWentTakesItsOldDirectorysFiles(t *testing.T) {
	const extraProto = `syntax = "proto3";
package extra.v1;
option go_package = "example.com/app/gen/extra/v1;extrav1";
message Note { string text = 1; }
`
	dir := writeApp(t, map[string]string{"proto/shop/v1/shop.proto": shopProto, "proto/extra/v1/extra.proto": extraProto})
	input := func(files ...string) Input {
		return Input{
			AppDir: dir, DisplayDir: "app", Module: testModule,
			Sets:    []ProtoSet{{Root: "proto", Files: files}},
			AppDirs: appDirs(t, dir),
		}
	}
	mustGenerate(t, input("proto/shop/v1/shop.proto", "proto/extra/v1/extra.proto"))
	// What another app inside this one generated, and what the build
	// keeps: the same files, which are not this compilation's to remove.
	for _, other := range []string{"nested/gen/shop/v1", "build/gen/shop/v1"} {
		if err := os.CopyFS(filepath.Join(dir, other), os.DirFS(filepath.Join(dir, "gen/shop/v1"))); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "nested", "parigot.hcl"), []byte("app \"nested\" {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	moved := strings.Replace(shopProto, "example.com/app/gen/shop/v1;shopv1", "example.com/app/gen/store/v1;storev1", 1)
	if err := os.WriteFile(filepath.Join(dir, "proto/shop/v1/shop.proto"), []byte(moved), 0o644); err != nil {
		t.Fatal(err)
	}
	res := mustGenerate(t, input("proto/shop/v1/shop.proto"))
	wantRemoved(t, dir, res, "gen/extra/v1/extra.pb.go", "gen/extra/v1/extra_vtproto.pb.go", "gen/shop/v1/shop.pb.go",
		"gen/shop/v1/shop_parigot.pb.go", "gen/shop/v1/shop_parigot_native.pb.go", "gen/shop/v1/shop_vtproto.pb.go")
	for _, kept := range []string{"gen/store/v1/shop.pb.go", "nested/gen/shop/v1/shop_parigot.pb.go", "build/gen/shop/v1/shop_parigot.pb.go"} {
		if _, err := os.Stat(filepath.Join(dir, kept)); err != nil {
			t.Errorf("%s: %v, want it kept", kept, err)
		}
	}
}

// An app whose last proto went (its proto blocks removed from parigot.hcl)
// takes what they generated, as an app with protos left does.
func TestAnAppWithNoProtoLeftTakesItsGeneratedFiles(t *testing.T) {
	dir := writeApp(t, map[string]string{"proto/shop/v1/shop.proto": shopProto})
	in := Input{AppDir: dir, DisplayDir: "app", Module: testModule,
		Sets: []ProtoSet{{Root: "proto", Files: []string{"proto/shop/v1/shop.proto"}}}}
	mustGenerate(t, in)
	own := filepath.Join(dir, "gen/shop/v1/helpers.go")
	if err := os.WriteFile(own, []byte("package shopv1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in.Sets, in.AppDirs = nil, appDirs(t, dir)
	res := mustGenerate(t, in)
	wantRemoved(t, dir, res, "gen/shop/v1/shop.pb.go", "gen/shop/v1/shop_parigot.pb.go",
		"gen/shop/v1/shop_parigot_native.pb.go", "gen/shop/v1/shop_vtproto.pb.go")
	if _, err := os.Stat(own); err != nil {
		t.Errorf("the app's own file beside them: %v, want it kept", err)
	}
}

// appDirs is the directories of the app in dir, as the builder finds them.
func appDirs(t *testing.T, dir string) []string {
	t.Helper()
	dirs, err := genfile.AppDirs(dir, "parigot.hcl", "build")
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// The sets of an app import from each other's roots (protoc's -I flags, the
// modules of one buf.yaml): a proto of one root imports a shared type from
// another's, which is generated once, and a mistake in that file is shown
// at its own path.
func TestASetImportsFromTheOtherSetsRoots(t *testing.T) {
	const money = "syntax = \"proto3\";\npackage acme.type.v1;\noption go_package = \"example.com/app/gen/acme/type/v1;typev1\";\nmessage Money { string currency = 1; int64 units = 2; }\n"
	const shop = "syntax = \"proto3\";\npackage shop.v1;\noption go_package = \"example.com/app/gen/shop/v1;shopv1\";\nimport \"acme/type/v1/money.proto\";\nmessage Price { acme.type.v1.Money amount = 1; }\n"
	dir := writeApp(t, map[string]string{"proto/shop/v1/shop.proto": shop, "vendorproto/acme/type/v1/money.proto": money})
	in := Input{AppDir: dir, DisplayDir: "app", Module: testModule, Sets: []ProtoSet{
		{Root: "proto", Files: []string{"proto/shop/v1/shop.proto"}},
		{Root: "vendorproto", Files: []string{"vendorproto/acme/type/v1/money.proto"}},
	}}
	res := mustGenerate(t, in)
	for _, f := range []string{"gen/shop/v1/shop.pb.go", "gen/acme/type/v1/money.pb.go"} {
		if !slices.Contains(rel(t, dir, res.Files), f) {
			t.Errorf("%s was not generated: %q", f, rel(t, dir, res.Files))
		}
	}

	broken := strings.Replace(money, "int64 units = 2;", "int64 units = 2; Nope n = 3;", 1)
	if err := os.WriteFile(filepath.Join(dir, "vendorproto/acme/type/v1/money.proto"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	_, diags := Generate(t.Context(), in)
	if !diags.HasErrors() {
		t.Fatal("a mistake in the imported file: no error")
	}
	for _, d := range diags {
		if d.Subject == nil || d.Subject.Filename != filepath.Join("app", "vendorproto", "acme", "type", "v1", "money.proto") {
			t.Errorf("%s: %s, at %v; want it at app/vendorproto/acme/type/v1/money.proto", d.Summary, d.Detail, d.Subject)
		}
	}
}

// A renamed proto takes its old <name>.pb.go with it whatever its syntax,
// though only a proto3 file gets a sibling (<name>_vtproto.pb.go) that
// goes too: parigot's message files say they are parigot's. A proto with
// comments above its syntax line, which protoc-gen-go writes above its
// header, and a deprecated one, whose header names no source, are no
// exception. What the user wrote beside them stays.
func TestARenamedProtoOfAnySyntaxTakesItsMessageFile(t *testing.T) {
	const goPackage = `option go_package = "example.com/app/gen/note/v1;notev1";`
	for _, tc := range []struct {
		name, head string
		removed    []string
	}{
		{"proto2", `syntax = "proto2";`, nil},
		{"edition 2023", `edition = "2023";`, nil},
		{"edition 2024", `edition = "2024";`, nil},
		{"deprecated proto2", "syntax = \"proto2\";\noption deprecated = true;", nil},
		{"proto3 with comments above its syntax", "// Copyright the app's authors.\n\n// The notes.\nsyntax = \"proto3\";", []string{"gen/note/v1/note_vtproto.pb.go"}},
		{"deprecated proto3", "syntax = \"proto3\";\noption deprecated = true;", []string{"gen/note/v1/note_vtproto.pb.go"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proto := tc.head + "\npackage note.v1;\n" + goPackage + "\nmessage Note { optional string text = 1; }\n"
			if strings.HasPrefix(tc.head, "edition") {
				proto = strings.Replace(proto, "optional ", "", 1)
			}
			dir := writeApp(t, map[string]string{"proto/note/v1/note.proto": proto})
			input := func(file string) Input {
				return Input{AppDir: dir, DisplayDir: "app", Module: testModule,
					Sets: []ProtoSet{{Root: "proto", Files: []string{file}}}}
			}
			mustGenerate(t, input("proto/note/v1/note.proto"))
			gen := filepath.Join(dir, "gen/note/v1")
			own := map[string]string{
				"helpers.go":   "package notev1\n",
				"manual.pb.go": messageHeader + "\n// source: note/v1/manual.proto\n\npackage notev1\n",
			}
			for name, content := range own {
				if err := os.WriteFile(filepath.Join(gen, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Rename(filepath.Join(dir, "proto/note/v1/note.proto"), filepath.Join(dir, "proto/note/v1/memo.proto")); err != nil {
				t.Fatal(err)
			}
			res := mustGenerate(t, input("proto/note/v1/memo.proto"))
			wantRemoved(t, dir, res, append(tc.removed, "gen/note/v1/note.pb.go")...)
			if _, err := os.Stat(filepath.Join(gen, "memo.pb.go")); err != nil {
				t.Error(err)
			}
			for name := range own {
				if _, err := os.Stat(filepath.Join(gen, name)); err != nil {
					t.Errorf("%s, the user's: %v, want it kept", name, err)
				}
			}
		})
	}
}
