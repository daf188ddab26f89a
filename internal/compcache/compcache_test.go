package compcache

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
)

// cacheFile is a file of a test cache: its name in the version directory,
// its size, and how long before now it was last used.
type cacheFile struct {
	name string
	size int
	age  time.Duration
}

// fill makes a compilation cache in a new directory, as wazero lays it out:
// files in a directory per wazero version.
func fill(t *testing.T, now time.Time, files ...cacheFile) string {
	t.Helper()
	dir := t.TempDir()
	sub := filepath.Join(dir, "wazero-v1.12.0-amd64-linux")
	if err := os.MkdirAll(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		p := filepath.Join(sub, f.name)
		if err := os.WriteFile(p, make([]byte, f.size), 0o600); err != nil {
			t.Fatal(err)
		}
		used := now.Add(-f.age)
		if err := os.Chtimes(p, used, used); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// left lists the names of the files still in the cache.
func left(t *testing.T, dir string) []string {
	t.Helper()
	es, err := entries(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, filepath.Base(e.path))
	}
	slices.Sort(names)
	return names
}

func TestPrune(t *testing.T) {
	now := time.Now()
	day := 24 * time.Hour
	for _, tc := range []struct {
		name    string
		policy  Policy
		files   []cacheFile
		left    []string
		removed Usage
	}{
		{
			name:   "entries unused for longer than the age limit go",
			policy: Policy{MaxAge: 7 * day},
			files:  []cacheFile{{"old", 10, 8 * day}, {"recent", 10, 6 * day}},
			left:   []string{"recent"}, removed: Usage{Entries: 1, Bytes: 10},
		},
		{
			name:   "over the size limit, the least recently used go first",
			policy: Policy{MaxSize: 25},
			files:  []cacheFile{{"a", 10, 3 * time.Hour}, {"b", 10, 2 * time.Hour}, {"c", 10, time.Hour}},
			left:   []string{"b", "c"}, removed: Usage{Entries: 1, Bytes: 10},
		},
		{
			name:   "under both limits nothing goes",
			policy: Policy{MaxSize: 100, MaxAge: day},
			files:  []cacheFile{{"a", 10, time.Hour}, {"b", 10, 2 * time.Hour}},
			left:   []string{"a", "b"},
		},
		{
			name:  "without limits nothing goes",
			files: []cacheFile{{"a", 10, 1000 * day}},
			left:  []string{"a"},
		},
		{
			name:   "a file wazero is writing stays, one left behind by a dead process goes",
			policy: Policy{MaxSize: 1, MaxAge: time.Minute},
			files:  []cacheFile{{"a.123.tmp", 10, 10 * time.Minute}, {"b.456.tmp", 10, 2 * time.Hour}},
			left:   []string{"a.123.tmp"}, removed: Usage{Bytes: 10},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := fill(t, now, tc.files...)
			removed, err := Prune(dir, tc.policy, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := left(t, dir); !slices.Equal(got, tc.left) {
				t.Errorf("left %v, want %v", got, tc.left)
			}
			if removed != tc.removed {
				t.Errorf("removed %+v, want %+v", removed, tc.removed)
			}
		})
	}
}

func TestCleanEmptiesTheCacheButForFilesBeingWritten(t *testing.T) {
	now := time.Now()
	dir := fill(t, now, cacheFile{"a", 10, time.Hour}, cacheFile{"b", 20, 0}, cacheFile{"c.1.tmp", 5, time.Second})
	removed, err := Clean(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	if removed != (Usage{Entries: 2, Bytes: 30}) {
		t.Errorf("removed %+v, want 2 entries of 30 bytes", removed)
	}
	if got := left(t, dir); !slices.Equal(got, []string{"c.1.tmp"}) {
		t.Errorf("left %v, want only the file being written", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "wazero-v1.12.0-amd64-linux")); err != nil {
		t.Errorf("the directory wazero writes into is gone: %v", err)
	}
	u, err := Measure(dir)
	if err != nil || u != (Usage{Bytes: 5}) {
		t.Errorf("Measure = %+v, %v; want 5 bytes in no entry", u, err)
	}
}

func TestAMissingCacheIsEmpty(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nothing")
	if u, err := Measure(dir); err != nil || u != (Usage{}) {
		t.Errorf("Measure = %+v, %v", u, err)
	}
	if u, err := Clean(dir, time.Now()); err != nil || u != (Usage{}) {
		t.Errorf("Clean = %+v, %v", u, err)
	}
}

func TestPruningRunsAtMostOnceAnHour(t *testing.T) {
	now := time.Now()
	dir := fill(t, now, cacheFile{"old", 10, 30 * 24 * time.Hour})
	p := Policy{MaxAge: 24 * time.Hour}
	if !pruneIfDue(dir, p, now) {
		t.Fatal("a cache never pruned was not pruned")
	}
	if got := left(t, dir); len(got) != 0 {
		t.Errorf("left %v", got)
	}
	fill2 := filepath.Join(dir, "wazero-v1.12.0-amd64-linux", "old2")
	if err := os.WriteFile(fill2, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	long := now.Add(-30 * 24 * time.Hour)
	os.Chtimes(fill2, long, long)
	if pruneIfDue(dir, p, now.Add(59*time.Minute)) {
		t.Error("pruned again within the hour")
	}
	if !pruneIfDue(dir, p, now.Add(61*time.Minute)) {
		t.Error("not pruned again after an hour")
	}
	if got := left(t, dir); len(got) != 0 {
		t.Errorf("left %v", got)
	}
}

func TestPrepareUsesTheEnvironment(t *testing.T) {
	root := t.TempDir()
	t.Setenv(EnvDir, root)
	t.Setenv(EnvMaxSize, "1B")
	t.Setenv(EnvMaxAge, "off")
	sub := filepath.Join(root, "wazero", "wazero-v1.12.0-amd64-linux")
	if err := os.MkdirAll(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"older", "newer"} {
		p := filepath.Join(sub, name)
		os.WriteFile(p, []byte("12345"), 0o600)
		at := time.Now().Add(time.Duration(i-2) * time.Hour)
		os.Chtimes(p, at, at)
	}
	if got := Prepare(); got != filepath.Join(root, "wazero") {
		t.Errorf("Prepare() = %s, want %s", got, filepath.Join(root, "wazero"))
	}
	if got := left(t, filepath.Join(root, "wazero")); len(got) != 0 {
		t.Errorf("a 1-byte limit left %v", got)
	}
}

func TestPolicyFromEnv(t *testing.T) {
	for _, tc := range []struct {
		size, age string
		want      Policy
		errs      []string
	}{
		{"", "", Policy{DefaultMaxSize, DefaultMaxAge}, nil},
		{"2GiB", "14d", Policy{2 << 30, 14 * 24 * time.Hour}, nil},
		{"500MB", "72h", Policy{500e6, 72 * time.Hour}, nil},
		{"1073741824", "90m", Policy{1 << 30, 90 * time.Minute}, nil},
		{"off", "off", Policy{}, nil},
		{"0", "0", Policy{}, nil},
		{"1.5 GiB", "1d", Policy{3 << 29, 24 * time.Hour}, nil},
		{"lots", "7", Policy{DefaultMaxSize, DefaultMaxAge}, []string{`PARIGOT_CACHE_MAX_SIZE="lots": not a size`, "for example PARIGOT_CACHE_MAX_SIZE=2GiB", `PARIGOT_CACHE_MAX_AGE="7": not a duration`, "PARIGOT_CACHE_MAX_AGE=14d"}},
		{"2 furlongs", "-1h", Policy{DefaultMaxSize, DefaultMaxAge}, []string{`unknown unit "furlongs"`, `PARIGOT_CACHE_MAX_AGE="-1h"`}},
	} {
		t.Run(tc.size+" and "+tc.age, func(t *testing.T) {
			t.Setenv(EnvMaxSize, tc.size)
			t.Setenv(EnvMaxAge, tc.age)
			got, err := PolicyFromEnv()
			if got != tc.want {
				t.Errorf("policy %+v, want %+v", got, tc.want)
			}
			for _, w := range tc.errs {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v lacks %q", err, w)
				}
			}
			if len(tc.errs) == 0 && err != nil {
				t.Errorf("error %v", err)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 512: "512 B", 1 << 30: "1 GiB", 27_577_344: "26.3 MiB", 1536: "1.5 KiB"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
	for d, want := range map[time.Duration]string{24 * time.Hour: "1 day", 7 * 24 * time.Hour: "7 days", 90 * time.Minute: "1h30m0s"} {
		if got := FormatAge(d); got != want {
			t.Errorf("FormatAge(%s) = %q, want %q", d, got, want)
		}
	}
}

// TestCleaningBesideACompilingRuntimeBreaksNothing has wazero compile
// modules into a cache while another goroutine empties it again and again,
// as parigot cache clean or a prune would beside a run: every compile must
// succeed.
func TestCleaningBesideACompilingRuntimeBreaksNothing(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				Clean(dir, time.Now())
				Prune(dir, Policy{MaxSize: 1}, time.Now())
			}
		}
	})
	defer func() {
		close(stop)
		wg.Wait()
	}()
	for i := range 50 {
		cache, err := wazero.NewCompilationCacheWithDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(cache))
		if _, err := rt.CompileModule(ctx, module(i)); err != nil {
			t.Fatalf("compile %d beside a cleaning: %v", i, err)
		}
		rt.Close(ctx)
		cache.Close(ctx)
	}
}

// module is a small wasm module, different for each n: one function, and a
// custom section holding n.
func module(n int) []byte {
	b := []byte{
		0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
		0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: () -> ()
		0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
		0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b, // code section: an empty body
		0x00, 0x0a, 0x01, 'n', // custom section "n" of 8 bytes of n
	}
	return binary.LittleEndian.AppendUint64(b, uint64(n))
}
