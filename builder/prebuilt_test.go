package builder

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"parigot.dev/parigot/internal/buildinfo"
)

// builtShopManifest is the parigot.hcl of builtShop: its guests' sources
// and its proto file are not there.
const builtShopManifest = shopHeader + `
proto "books" {
  root  = "proto"
  files = ["proto/books/v1/books.proto"]
}
service "books" {
  source         = "./books"
  implements     = ["books.v1.Books"]
  method_timeout = "50ms"
}
program "buyer" {
  source   = "./buyer"
  requires = [service.books]
}
`

// builtShop is the app directory of a machine that runs shop as another
// machine built it: parigot.hcl and build/, without the guests' sources
// and protos, which only the build reads.
func builtShop(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"parigot.hcl":              builtShopManifest,
		"build/books.wasm":         "wasm",
		"build/buyer.wasm":         "wasm",
		"build/" + DescriptorsFile: "",
	})
	app, err := LoadBuilt(dir)
	if err != nil {
		t.Fatal(rendered(err))
	}
	if err := writeRecord(app); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestABuildDirectoryRunsAsItIsWithoutTheAppsSources(t *testing.T) {
	dir := builtShop(t)
	var said bytes.Buffer
	res, err := Prebuilt(dir, &said)
	if err != nil {
		t.Fatal(rendered(err))
	}
	if said.Len() > 0 {
		t.Errorf("Prebuilt said %q of a build of this parigot.hcl by this parigot", said.String())
	}
	for _, g := range []string{"books", "buyer"} {
		if want := filepath.Join(dir, BuildDir, g+".wasm"); res.Wasm[g] != want {
			t.Errorf("guest %s runs %q, want %q", g, res.Wasm[g], want)
		}
	}
}

func TestABuildDirectoryThatIsNotTheManifestsIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, dir string)
		want   string
	}{
		{"a guest's wasm is missing", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "build/buyer.wasm"))
		}, "build/buyer.wasm is missing: parigot.hcl declares the program buyer, and the build directory was made without it"},
		{"the descriptors are missing", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "build", DescriptorsFile))
		}, "build/descriptors.binpb is missing (the run serves the app's protos from it"},
		{"the build recorded nothing", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "build", RecordFile))
		}, "build/parigot-build.json is missing (parigot build writes it"},
		{"a method timeout changed since the build", func(t *testing.T, dir string) {
			editManifest(t, dir, `"50ms"`, `"60ms"`)
		}, "build was built from another parigot.hcl than "},
		{"a service was renamed since the build", func(t *testing.T, dir string) {
			editManifest(t, dir, "books", "novels")
		}, "build was built from another parigot.hcl than "},
		{"there is no build directory", func(t *testing.T, dir string) {
			os.RemoveAll(filepath.Join(dir, BuildDir))
		}, "build is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := builtShop(t)
			tc.change(t, dir)
			_, err := Prebuilt(dir, nil)
			var pe *PrebuiltError
			if !errors.As(err, &pe) {
				t.Fatalf("Prebuilt: %v, want a *PrebuiltError", rendered(err))
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasSuffix(err.Error(), ": run parigot build for this parigot.hcl where Go is installed, and copy its build/ here") {
				t.Errorf("Prebuilt: %v\nwant it to say %q, and what to do", err, tc.want)
			}
		})
	}
}

func TestABuildDirectoryRunsAfterAnEditOfACommentOrTheLayout(t *testing.T) {
	dir := builtShop(t)
	edited := "# The shop, as deployed.\n" + strings.NewReplacer(
		"  ", "    ", // indented otherwise
		"}\n", "}\n\n",
		`"./buyer"`, `"./buyer" // its main package`,
	).Replace(builtShopManifest)
	writeFiles(t, dir, map[string]string{"parigot.hcl": edited})
	if _, err := Prebuilt(dir, nil); err != nil {
		t.Fatalf("Prebuilt of a parigot.hcl whose comments and indentation were edited: %v", rendered(err))
	}
}

// A record of a parigot from before the record kept what parigot.hcl
// says (manifest_tokens) names its bytes: the same bytes run, and any
// other, a comment too, is refused as before, saying why.
func TestABuildDirectoryRecordedByAnEarlierParigotIsComparedByteForByte(t *testing.T) {
	dir := builtShop(t)
	rec := `{"parigot": "` + buildinfo.Read().String() + `", "manifest": "` + mustRecord(t, dir).Manifest + `"}`
	writeFiles(t, dir, map[string]string{"build/" + RecordFile: rec})
	if _, err := Prebuilt(dir, nil); err != nil {
		t.Fatalf("Prebuilt of the parigot.hcl the earlier record names: %v", rendered(err))
	}
	writeFiles(t, dir, map[string]string{"parigot.hcl": builtShopManifest + "# edited since\n"})
	_, err := Prebuilt(dir, nil)
	want := filepath.Join(dir, BuildDir) + " was built from another parigot.hcl than " + filepath.Join(dir, "parigot.hcl") +
		" (its record, written by an earlier parigot, holds the file's bytes, so an edited comment or indentation counts too): run parigot build for this parigot.hcl where Go is installed, and copy its build/ here"
	var pe *PrebuiltError
	if !errors.As(err, &pe) || err.Error() != want {
		t.Errorf("Prebuilt after a comment was added: %v\nwant %s", err, want)
	}
}

// editManifest replaces every old with new in the parigot.hcl in dir.
func editManifest(t *testing.T, dir, old, new string) {
	t.Helper()
	file := filepath.Join(dir, "parigot.hcl")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q", file, old)
	}
	writeFiles(t, dir, map[string]string{"parigot.hcl": strings.ReplaceAll(string(b), old, new)})
}

func TestABuildDirectoryOfAnotherParigotRunsAndIsSaidSo(t *testing.T) {
	dir := builtShop(t)
	got := mustRecord(t, dir)
	rec := `{"parigot": "v0.1.0", "manifest": "` + got.Manifest + `", "manifest_tokens": "` + got.ManifestTokens + `"}`
	writeFiles(t, dir, map[string]string{"build/" + RecordFile: rec})
	var said bytes.Buffer
	if _, err := Prebuilt(dir, &said); err != nil {
		t.Fatal(rendered(err))
	}
	want := "parigot: note: " + filepath.Join(dir, BuildDir) + " was built by parigot v0.1.0, and this is parigot " + buildinfo.Read().String() + ": its guests run if this parigot has every host function they import, and are refused as they start otherwise\n"
	if said.String() != want {
		t.Errorf("Prebuilt said %q, want %q", said.String(), want)
	}
}

func mustRecord(t *testing.T, dir string) Record {
	t.Helper()
	app, err := LoadBuilt(dir)
	if err != nil {
		t.Fatal(rendered(err))
	}
	rec, err := recordOf(app)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestABuildWithoutTheGoCommandSaysToInstallIt(t *testing.T) {
	_, err := Build(t.Context(), Options{Dir: builtShop(t), GoCommand: filepath.Join(t.TempDir(), "go")})
	var noGo *NoGoError
	if !errors.As(err, &noGo) || !strings.Contains(err.Error(), "install Go") {
		t.Fatalf("Build: %v, want a *NoGoError that says to install Go", err)
	}
}
