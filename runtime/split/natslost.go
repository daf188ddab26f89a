package split

import (
	"fmt"
	"sync"
	"time"
)

// lostQuiet is how long after the NATS server was last said lost that
// another loss waits before it is said: a connection that drops and comes
// back over and over (a flapping network, a server restarting in a loop)
// is said once per lostQuiet, not at every drop.
const lostQuiet = 30 * time.Second

// serverWatch says when a process's connection to the NATS server drops,
// and when it is back: the calls to and from other processes wait
// meanwhile (the connection reconnects forever, see Conn.Connect). Its
// methods are nats.go's connection handlers, which NewNetwork installs;
// they run on the connection's callback goroutine, and the timer's on its
// own, so its state is under mu.
type serverWatch struct {
	say   func(format string, args ...any) // Network.warnf
	now   func() time.Time
	quiet time.Duration // lostQuiet, but in a test

	mu     sync.Mutex
	url    string      // the server connected to last (redacted)
	down   bool        // disconnected, and not reconnected yet
	since  time.Time   // when it went down
	said   bool        // this outage was said
	lastAt time.Time   // when an outage was last said (zero: never)
	brief  int         // outages not said since the last that was: each ended within the quiet time
	later  *time.Timer // says this outage once the quiet time has passed
}

// lost takes in that the connection dropped. Said at once, unless an
// outage was said less than quiet ago: then said once quiet has passed,
// if the connection is still down.
func (w *serverWatch) lost() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.down {
		return
	}
	w.down, w.since, w.said = true, w.now(), false
	wait := w.quiet - w.since.Sub(w.lastAt)
	if w.lastAt.IsZero() || wait <= 0 {
		w.sayLost()
		return
	}
	since := w.since
	w.later = time.AfterFunc(wait, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.down && !w.said && w.since.Equal(since) {
			w.sayLost()
		}
	})
}

// sayLost says the outage under way; under mu.
func (w *serverWatch) sayLost() {
	w.said, w.lastAt = true, w.now()
	brief := ""
	if w.brief > 0 {
		brief = fmt.Sprintf(" (it also dropped %d time(s) briefly since it was last said)", w.brief)
		w.brief = 0
	}
	w.say("lost the NATS server at %s: calls to and from other machines wait until it is back (reconnecting)%s", w.url, brief)
}

// back takes in that the connection is back, at url.
func (w *serverWatch) back(url string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if url != "" {
		w.url = url
	}
	if !w.down {
		return
	}
	w.down = false
	if w.later != nil {
		w.later.Stop()
		w.later = nil
	}
	if !w.said {
		w.brief++
		return
	}
	w.say("reconnected to the NATS server at %s after %s", w.url, w.now().Sub(w.since).Round(100*time.Millisecond))
}

// closed takes in that the connection closed without the process
// closing it. Said when it was down: it gave up reconnecting, and
// nothing crosses machines any more. (One closed while up was closed by
// the code that made it.)
func (w *serverWatch) closed() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.down {
		return
	}
	if w.later != nil {
		w.later.Stop()
		w.later = nil
	}
	w.say("the connection to the NATS server at %s closed for good: calls to and from other machines fail until this process starts again", w.url)
}
