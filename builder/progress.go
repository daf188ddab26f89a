package builder

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// heartbeat is how often, when progress is not a terminal, a line says which
// guests are still compiling.
const heartbeat = 10 * time.Second

// progress prints one line per finished step with its duration, and shows
// that steps still running are alive: when live, a status line of them with
// their times so far, rewritten in place every second; otherwise, while
// watched, a "still compiling" line every heartbeat.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	live    bool
	every   time.Duration        // the heartbeat when not live; zero: heartbeat
	running map[string]time.Time // step still running -> when it began
	shown   bool                 // a status line is on screen
}

func (p *progress) step(start time.Time, format string, args ...any) {
	if p.w == nil {
		return
	}
	d := time.Since(start)
	p.note("%s (%s)", fmt.Sprintf(format, args...), roundDuration(d))
}

// note prints one line.
func (p *progress) note(format string, args ...any) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
	fmt.Fprintf(p.w, "parigot: %s\n", fmt.Sprintf(format, args...))
	p.showLocked(time.Now())
}

// begin and end bracket a step that watch and the status line show.
func (p *progress) begin(name string) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running == nil {
		p.running = map[string]time.Time{}
	}
	p.running[name] = time.Now()
	p.clearLocked()
	p.showLocked(time.Now())
}

func (p *progress) end(name string) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.running, name)
	p.clearLocked()
	p.showLocked(time.Now())
}

// watch shows, until stop is called, that the steps still running are
// alive: the status line is redrawn every second, or, when not live, a
// "still compiling" line comes every heartbeat.
func (p *progress) watch() (stop func()) {
	if p.w == nil {
		return func() {}
	}
	every := p.every
	switch {
	case p.live:
		every = time.Second
	case every == 0:
		every = heartbeat
	}
	ticker := time.NewTicker(every)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case now := <-ticker.C:
				p.tick(now)
			case <-done:
				return
			}
		}
	})
	return func() {
		ticker.Stop()
		close(done)
		wg.Wait()
	}
}

// tick shows the steps still running at now.
func (p *progress) tick(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.running) == 0 {
		return
	}
	if p.live {
		p.clearLocked()
		p.showLocked(now)
		return
	}
	fmt.Fprintf(p.w, "parigot: still compiling %s\n", p.runningLocked(now))
}

// clear removes the status line, so that what follows starts clean.
func (p *progress) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
}

func (p *progress) clearLocked() {
	if p.shown {
		io.WriteString(p.w, "\r\x1b[K")
		p.shown = false
	}
}

func (p *progress) showLocked(now time.Time) {
	if !p.live || len(p.running) == 0 {
		return
	}
	fmt.Fprintf(p.w, "parigot: compiling %s ...", p.runningLocked(now))
	p.shown = true
}

// runningLocked lists the steps still running, by name, each with its time
// so far once that is a second or more: "greeting (12s), hello".
func (p *progress) runningLocked(now time.Time) string {
	names := make([]string, 0, len(p.running))
	for n := range p.running {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		if d := now.Sub(p.running[n]); d >= time.Second {
			names[i] = fmt.Sprintf("%s (%s)", n, d.Truncate(time.Second))
		}
	}
	return strings.Join(names, ", ")
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Microsecond)
}
