package templates

import (
	"io/fs"
	"strings"
	"testing"
	"text/template"
)

func TestInit(t *testing.T) {
	var names []string
	err := fs.WalkDir(Init, InitRoot, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("the app's files are all embedded, dot-files included", func(t *testing.T) {
		want := map[string]bool{
			"init/parigot.hcl.tmpl": false, "init/go.mod.tmpl": false, "init/.gitignore.tmpl": false,
			"init/README.md.tmpl": false, "init/proto/_pkg_/v1/_pkg_.proto.tmpl": false,
			"init/_service_/main.go.tmpl": false, "init/_service_/main_test.go.tmpl": false,
			"init/_program_/main.go.tmpl": false,
		}
		for _, n := range names {
			if _, ok := want[n]; ok {
				want[n] = true
			}
		}
		for n, found := range want {
			if !found {
				t.Errorf("%s is not embedded", n)
			}
		}
	})

	t.Run("every init template is a .tmpl that parses", func(t *testing.T) {
		for _, n := range names {
			if !strings.HasSuffix(n, ".tmpl") {
				t.Errorf("%s does not end in .tmpl", n)
				continue
			}
			if _, err := template.New(n).Option("missingkey=error").ParseFS(Init, n); err != nil {
				t.Errorf("%s: %v", n, err)
			}
		}
	})

	t.Run("the codegen templates do not include the init tree", func(t *testing.T) {
		if _, err := fs.Stat(FS, InitRoot); err == nil {
			t.Error("FS holds init/")
		}
	})
}
