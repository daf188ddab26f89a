package host

import (
	"context"
	"sync"

	"github.com/tetratelabs/wazero/experimental"
	"github.com/wasilibs/wazero-helpers/allocator"
)

// guestMemory is the linear memory of one run of a guest: memory that
// never moves, its whole memory_limit reserved as address space when the
// guest starts and committed page by page as the guest grows it.
//
// wazero's own linear memory is a Go slice that a grow replaces with a
// larger copy. A guest's heap grows many times as it warms up, and every
// copy is garbage for the host's collector, about four times the memory's
// final size in the benchmark of a busy guest; each of the host's
// collections must then wait for every guest to leave its compiled wasm
// code (docs/BENCHMARKS.md, "A linear memory that does not move"). A
// reservation is outside the Go heap: growing it copies nothing, and a
// guest that ends gives its pages back to the system, so a restarted
// guest starts on fresh zero pages as before.
//
// Unmapping memory that code still uses would crash the host, where the
// collector kept a slice alive for as long as anything used it. wazero
// releases a memory when its module is closed, and a module can be closed
// from another goroutine while its guest still runs (the run's end closes
// the runtime of a guest it gave up waiting for, asleep in a host call).
// So a release only marks the memory; it is unmapped once the guest's
// goroutine has left its code for good (done).
type guestMemory struct {
	mu    sync.Mutex
	held  []*heldMemory // what this run allocated: one memory, for a module with one
	ended bool          // done: the guest runs none of its code any more
}

// heldMemory is one memory of a guestMemory, as wazero sees it; g.mu
// guards its fields but mem's contents.
type heldMemory struct {
	g        *guestMemory
	mem      experimental.LinearMemory // nil once unmapped
	released bool                      // wazero released it
}

// context is ctx with the memories of the guest instantiated with it
// allocated by g.
func (g *guestMemory) context(ctx context.Context) context.Context {
	return experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(g.allocate))
}

// allocate reserves a memory, or falls back to a growing Go slice when the
// system refuses the reservation: a guest must not fail to start for want
// of address space it may never use.
func (g *guestMemory) allocate(capacity, max uint64) experimental.LinearMemory {
	h := &heldMemory{g: g, mem: reserve(capacity, max)}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held = append(g.held, h)
	return h
}

// done says the guest's goroutine runs none of its code any more: the
// memories wazero released are unmapped now, and any it releases later at
// once.
func (g *guestMemory) done() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ended = true
	for _, h := range g.held {
		h.unmapIfReleased()
	}
}

// Reallocate is wazero's grow, on the guest's goroutine: never after Free.
func (h *heldMemory) Reallocate(size uint64) []byte { return h.mem.Reallocate(size) }

// Free is wazero's release, from whichever goroutine closed the module.
func (h *heldMemory) Free() {
	h.g.mu.Lock()
	defer h.g.mu.Unlock()
	h.released = true
	if h.g.ended {
		h.unmapIfReleased()
	}
}

// unmapIfReleased gives the memory back once wazero has released it;
// g.mu is held.
func (h *heldMemory) unmapIfReleased() {
	if h.released && h.mem != nil {
		h.mem.Free()
		h.mem = nil
	}
}

// reserve is a reservation of max bytes, or a growing slice when the
// system refuses it.
func reserve(capacity, max uint64) (mem experimental.LinearMemory) {
	defer func() {
		if recover() != nil {
			mem = &sliceMemory{buf: make([]byte, 0, capacity), max: max}
		}
	}()
	return &reservedMemory{mem: allocator.NewNonMoving().Allocate(capacity, max)}
}

// reservedMemory is a reservation whose failure to commit more pages is a
// failed memory.grow for the guest (which its runtime reports as out of
// memory), not a panic in the host.
type reservedMemory struct{ mem experimental.LinearMemory }

func (m *reservedMemory) Reallocate(size uint64) (buf []byte) {
	defer func() {
		if recover() != nil {
			buf = nil // wazero: the grow failed
		}
	}()
	return m.mem.Reallocate(size)
}

func (m *reservedMemory) Free() {
	defer func() { _ = recover() }() // an unmap that fails leaks address space, nothing else
	m.mem.Free()
}

// sliceMemory is wazero's own way, for when nothing can be reserved: a Go
// slice, copied into a larger one when it grows past its capacity.
type sliceMemory struct {
	buf []byte
	max uint64
}

func (m *sliceMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	if size > uint64(cap(m.buf)) {
		m.buf = append(m.buf[:cap(m.buf)], make([]byte, size-uint64(cap(m.buf)))...)
	}
	m.buf = m.buf[:size]
	return m.buf
}

func (m *sliceMemory) Free() { m.buf = nil }
