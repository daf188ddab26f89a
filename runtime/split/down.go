package split

import (
	"fmt"
	"sync"

	"parigot.dev/parigot/runtime/host"
)

// Downs keeps which services of an app are down for good in a run: a
// service is once every one of its processes (one per replica) has ended
// for good, none to be started again, so it will never answer a readiness
// check again. It is the one home of that rule for whoever watches a run's
// service processes: the supervisor of `parigot run --mode=split`, which
// tells the children whose guests require such a service, and package
// apptest, which tells the programs it runs; both through
// ChildOptions.Down. Safe for concurrent use.
type Downs struct {
	guests []*host.GuestSpec
	mu     sync.Mutex
	ended  map[string]int // service -> how many of its processes ended for good
}

// NewDowns watches the services of guests, every guest of an app.
func NewDowns(guests []*host.GuestSpec) *Downs {
	return &Downs{guests: guests, ended: map[string]int{}}
}

// Ended counts a process of guest that ended for good, and reports whether
// that made its service down for good (it was the last of its processes
// still up).
func (d *Downs) Ended(guest string) bool {
	n := d.processes(guest)
	if n == 0 {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ended[guest]++
	return d.ended[guest] == n
}

// Down reports whether guest is a service down for good: the
// ChildOptions.Down of the guests started by whoever counts the ends.
func (d *Downs) Down(guest string) bool {
	n := d.processes(guest)
	d.mu.Lock()
	defer d.mu.Unlock()
	return n > 0 && d.ended[guest] >= n
}

// processes is how many processes serve guest, a service: one per
// replica; 0 for a guest that is not a service of the app.
func (d *Downs) processes(guest string) int {
	spec := host.FindGuest(d.guests, guest)
	if spec == nil || spec.Kind != host.Service {
		return 0
	}
	return len(spec.ReplicaNumbers())
}

// Among is those of names (the services a guest requires) that are down
// for good.
func (d *Downs) Among(names []string) []string {
	var down []string
	for _, n := range names {
		if d.Down(n) {
			down = append(down, n)
		}
	}
	return down
}

// NotWaitingFor says that a guest (or a gateway) does not wait for
// service name, which is down for good (see ChildOptions.Down,
// Network.SkipDown), and what follows: the counterpart of WaitingFor,
// said by the guest's own process in both watchers' runs, and for a
// gateway by the supervisor that hosts it.
func NotWaitingFor(name string) string {
	return fmt.Sprintf("does not wait for service %s, which is down for good: it starts without it, and its calls to %s fail with unavailable", name, name)
}
