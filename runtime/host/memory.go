package host

import (
	"context"

	"github.com/tetratelabs/wazero/experimental"
	"github.com/wasilibs/wazero-helpers/allocator"
)

// withGuestMemory makes the linear memory of a guest instantiated with ctx
// one that never moves: its whole memory_limit is reserved as address space
// when the guest starts, and committed page by page as the guest grows it.
//
// wazero's own linear memory is a Go slice that a grow replaces with a
// larger copy. A guest's heap grows many times as it warms up, and every
// copy is garbage for the host's collector, about four times the memory's
// final size in the benchmark of a busy guest; each of the host's
// collections must then wait for every guest to leave its compiled wasm
// code (docs/BENCHMARKS.md, "A linear memory that does not move"). A
// reservation is outside the Go heap: growing it copies nothing, and a
// guest that ends gives its pages back to the system at once, so a
// restarted guest starts on fresh zero pages as before.
func withGuestMemory(ctx context.Context) context.Context {
	return experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(allocateGuestMemory))
}

// allocateGuestMemory reserves a guest's memory, or falls back to a
// growing Go slice when the system refuses the reservation: a guest must
// not fail to start for want of address space it may never use.
func allocateGuestMemory(capacity, max uint64) (mem experimental.LinearMemory) {
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
