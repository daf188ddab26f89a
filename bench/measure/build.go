package measure

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"
)

// BuildTimes are the wall times of `parigot build` on a fresh app made by
// `parigot init`, each the median of several runs.
type BuildTimes struct {
	// Cold: build/ and the generated Go code removed, the Go build cache
	// warm (an empty GOCACHE would make it minutes of compiling the
	// standard library and protobuf for wasip1, which no user pays twice).
	Cold time.Duration
	// NoOp: nothing changed since the last build.
	NoOp time.Duration
	// Edit: one service's source changed (a line appended), so that
	// service is recompiled and relinked.
	Edit time.Duration
}

// Build builds the parigot CLI into work, scaffolds an app with it, and
// times `parigot build` there, runs times each.
func Build(ctx context.Context, work string, runs int) (BuildTimes, error) {
	repo, err := Repo()
	if err != nil {
		return BuildTimes{}, err
	}
	parigot := filepath.Join(work, "parigot")
	if err := run(ctx, repo, "go", "build", "-o", parigot, "./cmd/parigot"); err != nil {
		return BuildTimes{}, err
	}
	if err := run(ctx, work, parigot, "init", "--parigot", repo, "shop"); err != nil {
		return BuildTimes{}, err
	}
	app := filepath.Join(work, "shop")
	build := func() (time.Duration, error) {
		t := time.Now()
		err := run(ctx, work, parigot, "build", app)
		return time.Since(t), err
	}
	if _, err := build(); err != nil { // the first build fills the Go build cache
		return BuildTimes{}, err
	}
	var bt BuildTimes
	var cold, noop, edit []time.Duration
	for i := range runs {
		os.RemoveAll(filepath.Join(app, "build"))
		os.RemoveAll(filepath.Join(app, "gen"))
		d, err := build()
		if err != nil {
			return bt, err
		}
		cold = append(cold, d)
		if d, err = build(); err != nil {
			return bt, err
		}
		noop = append(noop, d)
		src := filepath.Join(app, "shop", "main.go")
		f, err := os.OpenFile(src, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return bt, err
		}
		fmt.Fprintf(f, "\nvar _ = %d // edited by benchtable\n", time.Now().UnixNano()+int64(i))
		f.Close()
		if d, err = build(); err != nil {
			return bt, err
		}
		edit = append(edit, d)
	}
	return BuildTimes{Cold: median(cold), NoOp: median(noop), Edit: median(edit)}, nil
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// Median is the median of ds.
func Median(ds []time.Duration) time.Duration { return median(ds) }

func run(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %v: %v\n%s", name, args, err, out.String())
	}
	return nil
}
