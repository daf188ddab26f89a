package manifest

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/module"
)

// CheckModulePath returns an error unless path is a Go module path as
// go mod init accepts it: golang.org/x/mod/module's rules for import paths
// (elements of letters, digits and "-._~" joined by "/", none reserved on
// Windows) and a major version suffix only from /v2 (gopkg.in paths end in
// .vN). The manifest's module attribute and parigot init's --module are
// both held to it. The error says what is wrong; the caller adds what to
// write instead.
func CheckModulePath(path string) error {
	var reason string
	if err := module.CheckImportPath(path); err != nil {
		reason = err.Error()
		var invalid *module.InvalidPathError
		if errors.As(err, &invalid) {
			reason = invalid.Err.Error()
		}
		if path == "." || path == ".." || strings.HasPrefix(path, "./") || strings.HasPrefix(path, "../") {
			reason = "it is a relative file path, not a module path"
		}
	} else if _, _, ok := module.SplitPathVersion(path); !ok {
		reason = "a major version suffix is /v2 or later, and gopkg.in paths end in one like .v3"
	}
	if reason == "" {
		return nil
	}
	return fmt.Errorf("%q is not a Go module path: %s", path, reason)
}
