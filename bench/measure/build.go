package measure

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
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
	// Reload: under parigot dev, from saving a change to the service's
	// greeting until the program prints the new greeting: rebuilding the
	// guest, compiling it to native code (not cached: the module is new),
	// swapping it in and running the program again.
	Reload time.Duration
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
	bt = BuildTimes{Cold: median(cold), NoOp: median(noop), Edit: median(edit)}
	bt.Reload, err = reload(ctx, parigot, app, runs)
	return bt, err
}

// reload runs parigot dev on app and times, runs times, a save of a new
// greeting in the service until the program prints it.
func reload(ctx context.Context, parigot, app string, runs int) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, parigot, "dev", app)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		cancel()   // interrupts parigot dev
		pr.Close() // and stops its output, which nobody reads any more
		cmd.Wait()
	}()
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var seen []string
	await := func(s string) error {
		timeout := time.After(2 * time.Minute)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					return fmt.Errorf("parigot dev ended before printing %q:\n%s", s, strings.Join(seen, "\n"))
				}
				seen = append(seen, l)
				if strings.Contains(l, s) {
					return nil
				}
			case <-timeout:
				return fmt.Errorf("parigot dev did not print %q:\n%s", s, strings.Join(seen, "\n"))
			}
		}
	}
	if err := await("hello | Hello, world"); err != nil {
		return 0, err
	}
	src := filepath.Join(app, "shop", "main.go")
	greeting := `"Hello, "`
	var times []time.Duration
	for i := range runs {
		code, err := os.ReadFile(src)
		if err != nil {
			return 0, err
		}
		next := fmt.Sprintf(`"Hello %d-%d, "`, time.Now().UnixNano(), i)
		t := time.Now()
		if err := os.WriteFile(src, bytes.Replace(code, []byte(greeting), []byte(next), 1), 0o644); err != nil {
			return 0, err
		}
		greeting = next
		if err := await("hello | " + strings.Trim(next, `" `)); err != nil {
			return 0, err
		}
		times = append(times, time.Since(t))
	}
	return median(times), nil
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
