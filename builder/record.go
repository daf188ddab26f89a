package builder

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"parigot.dev/parigot/internal/buildinfo"
	"parigot.dev/parigot/internal/genfile"
	"parigot.dev/parigot/manifest"
)

// RecordFile is the file, in BuildDir, in which a build records what it
// was made from, for a run of the build directory as it is (Prebuilt),
// which may be on another machine.
const RecordFile = "parigot-build.json"

// Record is what a build was made from.
type Record struct {
	// Parigot is the parigot that built it (buildinfo.Parigot): the guests
	// it compiled speak that parigot's guest/host contract.
	Parigot string `json:"parigot"`
	// Manifest is a SHA-256 of the parigot.hcl the build read, in hex:
	// its bytes, which parigots from before ManifestTokens compare. It is
	// written still, so that such a parigot runs a build of a later one
	// made from the same file.
	Manifest string `json:"manifest"`
	// ManifestTokens is what that parigot.hcl says (manifest.Digest):
	// editing a comment or the indentation since keeps it. Empty in the
	// record of a parigot from before it was kept.
	ManifestTokens string `json:"manifest_tokens,omitempty"`
}

// RecordPath is where the record of app's last build is.
func RecordPath(app *manifest.App) string {
	return filepath.Join(app.Dir, BuildDir, RecordFile)
}

// recordOf is the record of a build of app by this parigot.
func recordOf(app *manifest.App) (Record, error) {
	// The bytes the manifest was parsed from, which it keeps for its
	// diagnostics: what the build was made from, not the file as it may
	// be by now.
	src, ok := app.Sources[app.File]
	if !ok {
		var err error
		if src, err = os.ReadFile(app.File); err != nil {
			return Record{}, fmt.Errorf("reading %s: %w", app.File, err)
		}
	}
	sum := sha256.Sum256(src)
	return Record{Parigot: buildinfo.Read().String(), Manifest: hex.EncodeToString(sum[:]), ManifestTokens: manifest.Digest(app.File, src)}, nil
}

// writeRecord writes the record of the build of app that just succeeded,
// when it changed.
func writeRecord(app *manifest.App) error {
	rec, err := recordOf(app)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	if _, err := genfile.WriteIfChanged(RecordPath(app), append(b, '\n')); err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Join(BuildDir, RecordFile), err)
	}
	return nil
}

// readRecord reads the record of app's last build.
func readRecord(app *manifest.App) (Record, error) {
	var rec Record
	b, err := os.ReadFile(RecordPath(app))
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("reading %s: %w", RecordPath(app), err)
	}
	return rec, nil
}
