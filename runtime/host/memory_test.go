package host

import (
	"context"
	"math"
	goruntime "runtime"
	"testing"

	"github.com/tetratelabs/wazero"
)

// memoryOnly is a wasm module with one linear memory of one page and
// nothing else.
var memoryOnly = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // \0asm, version 1
	0x05, 0x03, 0x01, 0x00, 0x01, // memory section: one memory, min 1 page, no max
}

// heapAfterGC is the host's live heap, in bytes, once collected.
func heapAfterGC() uint64 {
	goruntime.GC()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func TestAGuestsMemoryGrowsOutsideTheHostsHeap(t *testing.T) {
	// A guest's linear memory is its whole heap. Were it in the host's Go
	// heap, each grow would copy it there and leave the old copy for the
	// host's collector, whose every cycle must wait for the guests to leave
	// their wasm code.
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithMemoryLimitPages(4096))
	defer rt.Close(ctx)
	var gm guestMemory
	defer gm.done()
	mod, err := rt.InstantiateWithConfig(gm.context(ctx), memoryOnly, wazero.NewModuleConfig().WithName("grower"))
	if err != nil {
		t.Fatal(err)
	}
	mem := mod.Memory()
	before := heapAfterGC()
	const growBy = 1024 // pages: 64 MiB
	if _, ok := mem.Grow(growBy); !ok {
		t.Fatal("grow refused")
	}
	// The guest writes its new pages, as its runtime does once it has them.
	last := mem.Size() - 8
	if !mem.WriteUint64Le(last, 42) || !mem.WriteUint64Le(65536, 7) {
		t.Fatal("the grown memory is not writable")
	}
	if v, _ := mem.ReadUint64Le(last); v != 42 {
		t.Fatalf("read back %d, want 42", v)
	}
	after := heapAfterGC()
	if grew := int64(after) - int64(before); grew > 16<<20 {
		t.Errorf("the host's heap grew by %d MiB when the guest's memory grew by 64 MiB; want the guest's memory outside it", grew>>20)
	}
	if _, ok := mem.Grow(4096); ok {
		t.Error("a grow past the memory limit was granted")
	}
	if err := mod.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestAGuestsMemoryFallsBackToTheHeapWhenNothingCanBeReserved(t *testing.T) {
	// No system reserves 2^64 bytes of address space.
	mem := reserve(0, math.MaxUint64)
	if _, ok := mem.(*sliceMemory); !ok {
		t.Fatalf("got %T, want the slice memory", mem)
	}
	buf := mem.Reallocate(65536)
	if len(buf) != 65536 {
		t.Fatalf("len %d, want 65536", len(buf))
	}
	buf[65535] = 1
	if buf = mem.Reallocate(2 * 65536); len(buf) != 2*65536 || buf[65535] != 1 {
		t.Fatalf("a grow lost what the memory held (len %d)", len(buf))
	}
	mem.Free()
}

func TestAGrowPastTheReservationFailsWithoutAPanic(t *testing.T) {
	for name, mem := range map[string]interface {
		Reallocate(uint64) []byte
		Free()
	}{
		"reserved": reserve(0, 65536),
		"slice":    &sliceMemory{max: 65536},
	} {
		t.Run(name, func(t *testing.T) {
			defer mem.Free()
			if buf := mem.Reallocate(65536); len(buf) != 65536 {
				t.Fatalf("len %d, want 65536", len(buf))
			}
			if buf := mem.Reallocate(2 * 65536); buf != nil {
				t.Errorf("a grow past the maximum gave %d bytes, want none (wazero's failed grow)", len(buf))
			}
		})
	}
}

func TestAGuestsMemoryStaysMappedUntilItsGoroutineIsDone(t *testing.T) {
	// The end of a run closes the runtime of a guest it gave up waiting
	// for, which may still be asleep in a host call: when it wakes, its
	// code touches its memory. Unmapped, that would crash the host.
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithMemoryLimitPages(16))
	var gm guestMemory
	mod, err := rt.InstantiateWithConfig(gm.context(ctx), memoryOnly, wazero.NewModuleConfig().WithName("sleeper"))
	if err != nil {
		t.Fatal(err)
	}
	used, ok := mod.Memory().Read(0, 65536) // what the guest's code reads and writes
	if !ok {
		t.Fatal("no memory")
	}
	rt.Close(ctx) // wazero releases the module's memory
	used[65535] = 1
	if used[65535] != 1 {
		t.Fatal("the memory of a guest still running was lost")
	}
	if !mapped(&gm) {
		t.Fatal("the memory was unmapped while its guest could still run")
	}
	gm.done()
	if mapped(&gm) {
		t.Error("the memory is still mapped after its guest's goroutine was done with it")
	}
}

func TestAGuestsMemoryReleasedAfterItsRunIsUnmappedAtOnce(t *testing.T) {
	var gm guestMemory
	mem := gm.allocate(65536, 2*65536)
	mem.Reallocate(65536)
	gm.done()
	mem.Free()
	if mapped(&gm) {
		t.Error("a memory released after its guest was done stayed mapped")
	}
}

// mapped reports whether g's first memory is still mapped.
func mapped(g *guestMemory) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.held[0].mem != nil
}
