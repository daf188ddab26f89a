package gateway

import (
	"context"
	"sync"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/internal/route"
)

// barrierProber answers a probe only once every one of want probes has
// begun: probes made one after the other never all begin.
type barrierProber struct {
	want  int
	mu    sync.Mutex
	begun int
	all   chan struct{}
	down  string // the service that is not serving
}

func (b *barrierProber) Service(string) route.Endpoint { return nil }

func (b *barrierProber) Serving(ctx context.Context, name string) bool {
	b.mu.Lock()
	if b.begun++; b.begun == b.want {
		close(b.all)
	}
	b.mu.Unlock()
	select {
	case <-b.all:
	case <-ctx.Done():
		return false
	}
	return name != b.down
}

// TestTheGatewaysHealthProbesItsServicesAtOnce: the health of the gateway
// as a whole asks after all its services at once, so that one slow to
// answer does not hold up the others' probes; and it is not serving as
// soon as one of them is not.
func TestTheGatewaysHealthProbesItsServicesAtOnce(t *testing.T) {
	services := []string{"a.v1.A", "b.v1.B", "c.v1.C"}
	for _, down := range []string{"", "b.v1.B"} {
		p := &barrierProber{want: len(services), all: make(chan struct{}), down: down}
		// The test's bound: probes made one after the other wait for it.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		serving, err := healthChecker{services: services, find: p}.status(ctx, "")
		cancel()
		if err != nil || serving != (down == "") {
			t.Errorf("with %q down: serving %v, %v; want %v", down, serving, err, down == "")
		}
		select {
		case <-p.all:
		default:
			t.Errorf("with %q down: the probes did not all begin together", down)
		}
	}
}
