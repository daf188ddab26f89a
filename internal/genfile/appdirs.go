package genfile

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// AppDirs is every directory of the app in appDir that may hold one of its
// Go packages, appDir first: those the go command's ./... walks into (not
// hidden ones, "_" ones, testdata or vendor), but for the directories of
// appDir named in skip (its build output, say) and those of other modules
// or apps (a go.mod, or a manifest named manifestName, of their own: an
// example app inside another's tree). Generated files of the app can be
// in any of them, and in no other: what removes the stale ones looks
// there. A directory that cannot be read is left out.
func AppDirs(appDir, manifestName string, skip ...string) ([]string, error) {
	skipped := map[string]bool{}
	for _, s := range skip {
		skipped[filepath.Join(appDir, s)] = true
	}
	var dirs []string
	err := filepath.WalkDir(appDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == appDir {
				return err
			}
			return nil
		}
		if !d.IsDir() {
			return nil
		}
		if p != appDir && !isAppDir(p, d.Name(), manifestName, skipped) {
			return filepath.SkipDir
		}
		dirs = append(dirs, p)
		return nil
	})
	return dirs, err
}

func isAppDir(p, name, manifestName string, skipped map[string]bool) bool {
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor" || skipped[p] {
		return false
	}
	for _, other := range []string{"go.mod", manifestName} { // another module, another app
		if other == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(p, other)); err == nil {
			return false
		}
	}
	return true
}
