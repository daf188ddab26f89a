package builder

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"parigot.dev/parigot/internal/progress"
)

// A manifest whose services no longer match its protos fails the build,
// and leaves the app's generated code as it was: a mistake in parigot.hcl
// or a .proto costs no files, not even those the protos would no longer
// generate.
func TestAFailedCheckOfTheManifestLeavesTheGeneratedCode(t *testing.T) {
	protoBlock := `
proto "shop" {
  root  = "proto"
  files = ["proto/shop/v1/shop.proto"]
}
`
	service := `
service "shop" {
  source     = "./shop"
  implements = ["shop.v1.Shop"]
}
`
	shopProto := func(service string) string {
		return `syntax = "proto3";
package shop.v1;
option go_package = "example.com/shop/gen/shop/v1;shopv1";
message Item { string name = 1; }
service ` + service + ` {
  rpc Get(Item) returns (Item);
}
`
	}
	for _, tc := range []struct {
		name  string
		files map[string]string // written over the app that built
		want  string            // in the build's error
	}{
		{
			name:  "the proto block removed",
			files: map[string]string{"parigot.hcl": shopHeader + service},
			want:  `Unknown proto service "shop.v1.Shop"`,
		},
		{
			name:  "the proto service renamed",
			files: map[string]string{"proto/shop/v1/shop.proto": shopProto("Store")},
			want:  `Unknown proto service "shop.v1.Shop"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{
				"parigot.hcl":              shopHeader + protoBlock + service,
				"proto/shop/v1/shop.proto": shopProto("Shop"),
			})
			if err := generateForTest(dir, progress.New(nil, false)); err != nil {
				t.Fatal(rendered(err))
			}
			before := generatedFiles(t, dir)
			if len(before) == 0 {
				t.Fatal("the first build generated no files")
			}

			writeFiles(t, dir, tc.files)
			err := generateForTest(dir, progress.New(nil, false))
			if err == nil || !strings.Contains(rendered(err), tc.want) {
				t.Fatalf("the build's error:\n%s\nwant one with %q", rendered(err), tc.want)
			}
			after := generatedFiles(t, dir)
			for name, content := range before {
				if got, ok := after[name]; !ok {
					t.Errorf("%s is gone", name)
				} else if got != content {
					t.Errorf("%s changed", name)
				}
			}
		})
	}
}

// A build that removes generated files says so, each with why, and counts
// them in its summary.
func TestABuildSaysWhatItRemoved(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"parigot.hcl": shopHeader + `
proto "shop" {
  root  = "proto"
  files = ["proto/shop/v1/shop.proto"]
}
`,
		"proto/shop/v1/shop.proto": "syntax = \"proto3\";\npackage shop.v1;\noption go_package = \"example.com/shop/gen/shop/v1;shopv1\";\nmessage Item { string name = 1; }\n",
	})
	if err := generateForTest(dir, progress.New(nil, false)); err != nil {
		t.Fatal(rendered(err))
	}
	writeFiles(t, dir, map[string]string{"parigot.hcl": shopHeader})
	var said strings.Builder
	if err := generateForTest(dir, progress.New(&said, false)); err != nil {
		t.Fatal(rendered(err))
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^parigot: note: removed gen/shop/v1/shop\.pb\.go: the app's protos no longer generate it$`),
		regexp.MustCompile(`(?m)^parigot: generated Go code: 0 files, 0 changed, 2 removed \(`),
	} {
		if !want.MatchString(said.String()) {
			t.Errorf("the build said:\n%s\nwant a line matching %s", said.String(), want)
		}
	}
}

// generateForTest runs what Build does before it compiles the guests.
// What it says goes to progress.
func generateForTest(dir string, progress *progress.Reporter) error {
	app, err := loadForCode(dir, progress)
	if err != nil {
		return err
	}
	_, unlock, err := lockAndGenerate(context.Background(), app, dir, progress)
	if err != nil {
		return err
	}
	unlock()
	return nil
}

// generatedFiles is the content of the files under dir's gen directory,
// by slash-separated name.
func generatedFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	root := filepath.Join(dir, "gen")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Vet (parigot check) changes nothing on disk: not the generated code of
// protos that changed, nor that of a proto block removed, which a build
// would take away; and it says whether the protos themselves compiled.
func TestVetWritesAndRemovesNothing(t *testing.T) {
	dir := t.TempDir()
	protoBlock := "\nproto \"shop\" {\n  root  = \"proto\"\n  files = [\"proto/shop/v1/shop.proto\"]\n}\n"
	item := "syntax = \"proto3\";\npackage shop.v1;\noption go_package = \"example.com/shop/gen/shop/v1;shopv1\";\nmessage Item { string name = 1; }\n"
	writeFiles(t, dir, map[string]string{"parigot.hcl": shopHeader + protoBlock, "proto/shop/v1/shop.proto": item})
	if err := generateForTest(dir, progress.New(nil, false)); err != nil {
		t.Fatal(rendered(err))
	}
	before := generatedFiles(t, dir)
	for _, tc := range []struct {
		name     string
		files    map[string]string
		protosOK bool
		want     string // in the error; none when ""
	}{
		{"a message added", map[string]string{"proto/shop/v1/shop.proto": item + "message Other { string id = 1; }\n"}, true, ""},
		{"the proto block removed", map[string]string{"parigot.hcl": shopHeader}, true, ""},
		{"a service implementing a proto service no proto defines", map[string]string{"parigot.hcl": shopHeader + protoBlock + "service \"shop\" {\n  source     = \"./shop\"\n  implements = [\"shop.v1.Shop\"]\n}\n"}, true, `Unknown proto service "shop.v1.Shop"`},
		{"a .proto that does not compile", map[string]string{"parigot.hcl": shopHeader + protoBlock, "proto/shop/v1/shop.proto": item + "message Bad { Strng id = 1; }\n"}, false, "unknown type Strng"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			writeFiles(t, dir, tc.files)
			app, err := LoadDeclared(dir)
			if err != nil {
				t.Fatal(rendered(err))
			}
			protosOK, err := Vet(context.Background(), app, dir)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Vet: %s", rendered(err))
			case tc.want != "" && (err == nil || !strings.Contains(rendered(err), tc.want)):
				t.Errorf("Vet: %v; want an error with %q", err, tc.want)
			case protosOK != tc.protosOK:
				t.Errorf("Vet says the protos compiled: %v, want %v", protosOK, tc.protosOK)
			}
			after := generatedFiles(t, dir)
			if len(after) != len(before) {
				t.Errorf("%d generated files after Vet, %d before", len(after), len(before))
			}
			for name, content := range before {
				if after[name] != content {
					t.Errorf("%s changed or is gone", name)
				}
			}
		})
	}
}
