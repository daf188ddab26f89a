package split

import (
	"fmt"
	"net"
	"sync"
	"time"
)

// refusalLog says on the process's log why the direct connections it
// refused were refused (a peer that is no caller of the app, or that said
// nothing): the first at once, then at most one line every refusalEvery,
// the rest counted in the next, so that a flood of connections makes no
// flood of lines.
type refusalLog struct {
	warnf func(format string, args ...any) // nil: nothing is said

	mu       sync.Mutex
	last     time.Time // when a line was last written
	unsaid   int       // refusals since, not yet said
	lastPeer string    // the latest of them
	lastWhy  string
	flushing bool // a line for the unsaid is due
}

// refusalEvery is how often at most a refused connection is said.
const refusalEvery = time.Second

// add says, or counts, that the connection from peer was refused, and why.
func (l *refusalLog) add(peer, why string) {
	if l.warnf == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if wait := refusalEvery - time.Since(l.last); wait > 0 {
		l.unsaid++
		l.lastPeer, l.lastWhy = peer, why
		if !l.flushing {
			l.flushing = true
			time.AfterFunc(wait, l.flush)
		}
		return
	}
	l.last = time.Now()
	l.warnf("refused a direct connection from %s: %s", peer, why)
}

// flush says the refusals counted since the last line.
func (l *refusalLog) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushing = false
	if l.unsaid == 0 {
		return
	}
	l.last = time.Now()
	if l.unsaid == 1 {
		l.warnf("refused a direct connection from %s: %s", l.lastPeer, l.lastWhy)
	} else {
		l.warnf("refused %d more direct connections since, the last from %s: %s", l.unsaid, l.lastPeer, l.lastWhy)
	}
	l.unsaid = 0
}

// peerOf names the other end of a direct connection for the log: its
// address over TCP, its process on this machine where the system says.
func peerOf(c net.Conn) string {
	if u, ok := c.(*net.UnixConn); ok {
		if pid, uid, ok := peerProcess(u); ok {
			return fmt.Sprintf("process %d (user %d) on this machine", pid, uid)
		}
		return "a process on this machine"
	}
	return c.RemoteAddr().String()
}
