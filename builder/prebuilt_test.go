package builder

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// builtShopManifest is the parigot.hcl of builtShop: its guests' sources
// and its proto file are not there.
const builtShopManifest = shopHeader + `
proto "books" {
  root  = "proto"
  files = ["proto/books/v1/books.proto"]
}
service "books" {
  source     = "./books"
  implements = ["books.v1.Books"]
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
		{"parigot.hcl changed since the build", func(t *testing.T, dir string) {
			// Its bytes are what the build recorded: a comment differs.
			writeFiles(t, dir, map[string]string{"parigot.hcl": builtShopManifest + "# edited since\n"})
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

func TestABuildDirectoryOfAnotherParigotRunsAndIsSaidSo(t *testing.T) {
	dir := builtShop(t)
	rec := `{"parigot": "v0.1.0", "manifest": "` + mustRecord(t, dir).Manifest + `"}`
	writeFiles(t, dir, map[string]string{"build/" + RecordFile: rec})
	var said bytes.Buffer
	if _, err := Prebuilt(dir, &said); err != nil {
		t.Fatal(rendered(err))
	}
	want := "parigot: note: " + filepath.Join(dir, BuildDir) + " was built by parigot v0.1.0, and this is parigot " + parigotVersion() + ": its guests run if this parigot has every host function they import, and are refused as they start otherwise\n"
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
