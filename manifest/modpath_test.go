package manifest

import "testing"

func TestCheckModulePath(t *testing.T) {
	for _, c := range []struct {
		name, path, err string // err "": accepted
	}{
		{"a domain and a path is a module path", "example.com/shop", ""},
		{"a single word is a module path, as go mod init takes it", "shop", ""},
		{"a major version suffix from v2 is allowed", "example.com/shop/v2", ""},
		{"a space is refused, naming the character", "example.com/my shop", `"example.com/my shop" is not a Go module path: invalid char ' '`},
		{"a leading slash is refused", "/shop", `"/shop" is not a Go module path: empty path element`},
		{"a relative path is refused as a file path", "./shop", `"./shop" is not a Go module path: it is a relative file path, not a module path`},
		{"a trailing slash is refused", "example.com/shop/", `"example.com/shop/" is not a Go module path: trailing slash`},
		{"a double slash is refused", "example.com//shop", `"example.com//shop" is not a Go module path: double slash`},
		{"a backslash is refused", `example.com\shop`, `"example.com\\shop" is not a Go module path: invalid char '\\'`},
		{"an empty path is refused", "", `"" is not a Go module path: empty string`},
		{"a version suffix of v1 is refused", "example.com/shop/v1", `"example.com/shop/v1" is not a Go module path: a major version suffix is /v2 or later, and gopkg.in paths end in one like .v3`},
		{"a gopkg.in path without its version is refused", "gopkg.in/yaml", `"gopkg.in/yaml" is not a Go module path: a major version suffix is /v2 or later, and gopkg.in paths end in one like .v3`},
		{"an element reserved on Windows is refused", "example.com/con", `"example.com/con" is not a Go module path: "con" disallowed as path element component on Windows`},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := CheckModulePath(c.path)
			switch {
			case c.err == "" && err != nil:
				t.Errorf("CheckModulePath(%q) = %v, want nil", c.path, err)
			case c.err != "" && (err == nil || err.Error() != c.err):
				t.Errorf("CheckModulePath(%q) = %v, want %s", c.path, err, c.err)
			}
		})
	}
}
