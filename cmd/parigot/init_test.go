package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"parigot.dev/parigot/internal/srctree"
	"parigot.dev/parigot/manifest"
)

func TestNewScaffold(t *testing.T) {
	tests := []struct {
		name, dir, module string
		want              scaffold
	}{
		{"a plain name names everything", "shop", "",
			scaffold{Name: "shop", Module: "shop", Pkg: "shop", Type: "Shop", Service: "shop", Program: "hello"}},
		{"the last element of a path is the name", "/tmp/apps/shop/", "example.com/acme/shop",
			scaffold{Name: "shop", Module: "example.com/acme/shop", Pkg: "shop", Type: "Shop", Service: "shop", Program: "hello"}},
		{"dashes and underscores leave the proto package and join the type", "my-big_shop", "",
			scaffold{Name: "my-big_shop", Module: "my-big_shop", Pkg: "mybigshop", Type: "MyBigShop", Service: "my-big_shop", Program: "hello"}},
		{"a service is not named after a directory parigot uses", "gen", "",
			scaffold{Name: "gen", Module: "gen", Pkg: "gen", Type: "Gen", Service: "gen-service", Program: "hello"}},
		{"the program gives way to a service called hello", "hello", "",
			scaffold{Name: "hello", Module: "hello", Pkg: "hello", Type: "Hello", Service: "hello", Program: "hello-client"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := newScaffold(tc.dir, tc.module)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got %+v\nwant %+v", *got, tc.want)
			}
		})
	}

	for _, tc := range []struct{ name, dir, module, msg string }{
		{"an uppercase name is refused, with the name to give instead", "Shop", "", "cannot name an app: the last element of NAME is the app's name, and app names start with a lowercase letter, hold only lowercase letters, digits, \"_\" and \"-\", and are at most 64 characters long (for example parigot init shop)"},
		{"a name with a dot is refused", "shop.v2", "", "cannot name an app"},
		{"the name given instead is in the directory asked for", filepath.Join("apps", "Shop"), "", "(for example parigot init " + filepath.Join("apps", "shop") + ")"},
		{"a name with a dot and a space gives one with dashes", "My Shop.v2", "", "(for example parigot init my-shop-v2)"},
		{"a name starting with a digit gives one starting with a letter", "2shop", "", "(for example parigot init app-2shop)"},
		{"a name of nothing usable gives the usual example", "ÄÖ", "", "(for example parigot init shop)"},
		{"a name longer than the manifest allows is refused", strings.Repeat("shop", 17), "", "at most 64 characters long"},
		{"a module with a space is refused", "shop", "example.com/my shop", "is not a Go module path"},
		{"an absolute module is refused", "shop", "/shop", "is not a Go module path"},
		{"a module with a space says which character is wrong and what to give",
			"shop", "example.com/my shop", `--module: "example.com/my shop" is not a Go module path: invalid char ' '; give one like example.com/shop`},
		{"a module ending in /v1 is refused as go mod init refuses it", "shop", "example.com/shop/v1", "a major version suffix is /v2 or later"},
		{"a relative module is refused as a file path", "shop", "./shop", "it is a relative file path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newScaffold(tc.dir, tc.module)
			if _, ok := err.(usageError); !ok || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %v (%T), want a usage error saying %q", err, err, tc.msg)
			}
		})
	}
}

func TestFindParigot(t *testing.T) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the tree this test was built from is found", func(t *testing.T) {
		if got := srctree.BuiltFrom(); got != repo {
			t.Errorf("srctree.BuiltFrom() = %q, want %q", got, repo)
		}
	})
	t.Run("the flag wins over the environment", func(t *testing.T) {
		t.Setenv(parigotSrcEnv, t.TempDir())
		src, err := findParigot(repo)
		if err != nil || src.Dir != repo || src.How != "--parigot" {
			t.Errorf("findParigot = %+v, %v", src, err)
		}
	})
	t.Run("the environment wins over the built-in tree", func(t *testing.T) {
		t.Setenv(parigotSrcEnv, repo)
		src, err := findParigot("")
		if err != nil || src.Dir != repo || src.How != "$"+parigotSrcEnv {
			t.Errorf("findParigot = %+v, %v", src, err)
		}
	})
	t.Run("a directory of another module is refused", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/other\n"), 0o644)
		t.Setenv(parigotSrcEnv, dir)
		if _, err := findParigot(""); err == nil || !strings.Contains(err.Error(), `declares module "example.com/other"`) {
			t.Errorf("error %v", err)
		}
	})
}

func TestScaffoldFiles(t *testing.T) {
	repo, _ := filepath.Abs("../..")
	s, err := newScaffold("shop", "example.com/shop")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.useParigot(parigotSource{Dir: repo}); err != nil {
		t.Fatal(err)
	}
	files, err := s.files()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the go.mod requires parigot from the tree, and protobuf and vtprotobuf directly", func(t *testing.T) {
		mod := string(files["go.mod"])
		for _, want := range []string{
			"module example.com/shop\n",
			"\tparigot.dev/parigot v0.0.0\n",
			"\tgoogle.golang.org/protobuf v",
			"\tgithub.com/planetscale/vtprotobuf v",
			"\tgithub.com/tetratelabs/wazero v",
			"replace parigot.dev/parigot => " + repo + "\n",
		} {
			if !strings.Contains(mod, want) {
				t.Errorf("go.mod lacks %q:\n%s", want, mod)
			}
		}
		if strings.Contains(mod, "protobuf v1.36.12 // indirect") || strings.Contains(mod, "vtprotobuf v0.6.1-0.20240319094008-0393e58bdf10 // indirect") || strings.Contains(mod, "{{") {
			t.Errorf("go.mod:\n%s", mod)
		}
	})
	t.Run("the manifest has a gateway, commented out, that is valid once uncommented", func(t *testing.T) {
		text := string(files["parigot.hcl"])
		if !strings.Contains(text, "\n# gateway \"public\" {\n#   listen   = \"127.0.0.1:8080\"\n#   services = [service.shop]\n#   # cors_origins = [\"http://localhost:5173\"]") {
			t.Fatalf("parigot.hcl has no commented gateway:\n%s", text)
		}
		uncommented := regexp.MustCompile(`(?m)^# (gateway|  listen|  services|})`).ReplaceAllString(text, "$1")
		uncommented = regexp.MustCompile(`(?m)^#   # cors_origins`).ReplaceAllString(uncommented, "  cors_origins")
		dir := t.TempDir()
		for name, content := range files {
			p := filepath.Join(dir, filepath.FromSlash(name))
			os.MkdirAll(filepath.Dir(p), 0o755)
			os.WriteFile(p, content, 0o644)
		}
		app, diags := manifest.Parse(manifest.FileName, []byte(uncommented), dir)
		var errs []string
		for _, d := range diags {
			if d.Severity == hcl.DiagError {
				errs = append(errs, d.Error())
			}
		}
		if len(errs) > 0 || len(app.Gateways) != 1 || app.Gateways[0].Services[0] != "shop" || len(app.Gateways[0].CORSOrigins) != 1 {
			t.Errorf("uncommented, the gateway is %+v: %v", app.Gateways, errs)
		}
	})
	t.Run("every file lands at its place", func(t *testing.T) {
		for _, f := range []string{"parigot.hcl", "go.mod", ".gitignore", "README.md", "proto/shop/v1/shop.proto", "shop/main.go", "shop/main_test.go", "hello/main.go"} {
			if _, ok := files[f]; !ok {
				t.Errorf("no %s among %d files", f, len(files))
			}
		}
	})
}

func TestScaffoldCreate(t *testing.T) {
	repo, _ := filepath.Abs("../..")
	src := parigotSource{Dir: repo}
	newShop := func(t *testing.T) *scaffold {
		s, err := newScaffold("shop", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.useParigot(src); err != nil {
			t.Fatal(err)
		}
		return s
	}

	t.Run("an app is written into an empty directory, with its generated code", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "shop")
		os.Mkdir(dir, 0o755)
		if _, err := newShop(t).create(context.Background(), dir, src, nil); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"go.sum", "gen/shop/v1/shop.pb.go", "gen/shop/v1/shop_vtproto.pb.go", "gen/shop/v1/shop_parigot.pb.go"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Error(err)
			}
		}
	})

	t.Run("a failure removes the directories init created", func(t *testing.T) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "a", "b", "shop")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		s := newShop(t)
		s.Type = "" // an invalid proto: generation fails
		if _, err := s.create(ctx, dir, src, nil); err == nil {
			t.Fatal("no error")
		}
		if entries, _ := os.ReadDir(parent); len(entries) != 0 {
			t.Errorf("%s holds %d entries after a failed init", parent, len(entries))
		}
	})

	t.Run("a failure leaves an empty directory empty", func(t *testing.T) {
		dir := t.TempDir()
		s := newShop(t)
		s.Type = ""
		if _, err := s.create(context.Background(), dir, src, nil); err == nil {
			t.Fatal("no error")
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%s holds %d entries after a failed init", dir, len(entries))
		}
	})
}
