package split

import (
	"sync"
	"time"
)

// A call through the NATS server that no replica took comes back as the
// server's "no responders", and its caller asks the callee's replicas
// whether they are ready (Network.noResponders): the answer tells a
// service that does not run from one that runs but serves other proto
// services. A flood of calls to a service that is down made as many
// questions as calls, each one a request through the server that waits
// up to its timeout. So the question is asked once per callee at a time:
// the calls that find no one meanwhile wait for the answer of the one in
// flight, which comes no later than their own question's would have, and
// the calls that find no one within unservedFresh after it take that
// answer at once.

// unservedFresh is how long the answer to whether a callee's replicas run
// serves the calls that find no one after it.
const unservedFresh = time.Second

// unservedAnswers holds, for each callee, the latest question whether its
// replicas run, and its answer.
type unservedAnswers struct {
	mu    sync.Mutex
	fresh time.Duration // 0: unservedFresh (longer in a test)
	asked map[string]*unservedAsk
}

// unservedAsk is one question whether a callee's replicas run.
type unservedAsk struct {
	done chan struct{} // closed once answered; the fields below are set before
	at   time.Time     // when the answer came
	msg  string        // what ask said: why the callee does not serve the call ("": it does not run)
}

// answer is what ask says of callee: ask's own answer, asked now, when
// no question of callee is in flight or answered within its freshness;
// else that question's answer, once it comes.
func (a *unservedAnswers) answer(callee string, ask func() string) string {
	fresh := a.fresh
	if fresh == 0 {
		fresh = unservedFresh
	}
	a.mu.Lock()
	q := a.asked[callee]
	if q != nil {
		select {
		case <-q.done:
			if time.Since(q.at) >= fresh {
				q = nil // stale: ask again
			}
		default: // in flight: its answer is this call's too
		}
	}
	mine := q == nil
	if mine {
		q = &unservedAsk{done: make(chan struct{})}
		if a.asked == nil {
			a.asked = map[string]*unservedAsk{}
		}
		a.asked[callee] = q
	}
	a.mu.Unlock()
	if mine {
		q.msg = ask()
		q.at = time.Now()
		close(q.done)
	}
	<-q.done
	return q.msg
}
