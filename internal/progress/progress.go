// Package progress shows what a long step of parigot is doing: a line per
// finished step with its duration, and, for steps still running, a status
// line redrawn in place on a terminal or a "still compiling" line every
// heartbeat elsewhere (CI logs). The builder (compiling guests) and the
// host (compiling them to native code) both report through it.
package progress

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// New returns a Reporter writing to w, a terminal when live. A nil w
// reports nothing.
func New(w io.Writer, live bool) *Reporter { return &Reporter{w: w, live: live} }

// heartbeat is how often, when progress is not a terminal, a line says which
// guests are still compiling.
const heartbeat = 10 * time.Second

// Reporter prints one line per finished step with its duration, and shows
// that steps still running are alive: when live, a status line of them with
// their times so far, rewritten in place every second; otherwise, while
// watched, a "still compiling" line every heartbeat.
type Reporter struct {
	mu      sync.Mutex
	w       io.Writer            // nil: report nothing
	live    bool                 // w is a terminal: keep a status line
	every   time.Duration        // the heartbeat when not live; zero: heartbeat
	running map[string]time.Time // step still running -> when it began
	shown   bool                 // a status line is on screen
}

// Step prints a line for a step that began at start and has finished,
// with its duration.
func (p *Reporter) Step(start time.Time, format string, args ...any) {
	if p.w == nil {
		return
	}
	d := time.Since(start)
	p.Note("%s (%s)", fmt.Sprintf(format, args...), roundDuration(d))
}

// Note prints one line.
func (p *Reporter) Note(format string, args ...any) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
	fmt.Fprintf(p.w, "parigot: %s\n", fmt.Sprintf(format, args...))
	p.showLocked(time.Now())
}

// Begin and End bracket a step that Watch and the status line show.
func (p *Reporter) Begin(name string) {
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

func (p *Reporter) End(name string) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.running, name)
	p.clearLocked()
	p.showLocked(time.Now())
}

// Watch shows, until stop is called, that the steps still running are
// alive: the status line is redrawn every second, or, when not live, a
// "still compiling" line comes every heartbeat.
func (p *Reporter) Watch() (stop func()) {
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
func (p *Reporter) tick(now time.Time) {
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

// Clear removes the status line, so that what follows starts clean.
func (p *Reporter) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
}

func (p *Reporter) clearLocked() {
	if p.shown {
		io.WriteString(p.w, "\r\x1b[K")
		p.shown = false
	}
}

func (p *Reporter) showLocked(now time.Time) {
	if !p.live || len(p.running) == 0 {
		return
	}
	fmt.Fprintf(p.w, "parigot: compiling %s ...", p.runningLocked(now))
	p.shown = true
}

// runningLocked lists the steps still running, by name, each with its time
// so far once that is a second or more: "greeting (12s), hello".
func (p *Reporter) runningLocked(now time.Time) string {
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
