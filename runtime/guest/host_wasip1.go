//go:build wasip1

package guest

import (
	"encoding/binary"
	"unsafe"

	"parigot.dev/parigot/runtime/internal/abi"
)

//go:wasmimport parigot export
func pExport(name unsafe.Pointer, nameLen uint32) uint32

//go:wasmimport parigot ready
func pReady() uint32

//go:wasmimport parigot locate
func pLocate(name unsafe.Pointer, nameLen uint32, handleOut unsafe.Pointer) uint32

//go:wasmimport parigot dispatch
func pDispatch(handle uint32, method unsafe.Pointer, methodLen uint32, req unsafe.Pointer, reqLen uint32, callIDOut unsafe.Pointer, deadline int64) uint32

//go:wasmimport parigot poll
func pPoll(timeoutNanos int64, buf unsafe.Pointer, bufCap uint32, sizeOut unsafe.Pointer) uint32

//go:wasmimport parigot reply
func pReply(callID uint64, code uint32, payload unsafe.Pointer, payloadLen uint32) uint32

//go:wasmimport parigot open
func pOpen(kind uint32, name unsafe.Pointer, nameLen uint32, handleOut unsafe.Pointer) uint32

//go:wasmimport parigot exiting
func pExiting() uint32

// futuresMu guards nothing inside wasm: a guest runs on one thread, and
// goroutines switch only where one blocks. In completed, only its make
// can (a collection's assist), and a goroutine that took a future
// meanwhile took it from the block that make replaces, which that
// future keeps alive.
var futuresMu noLock

type noLock struct{}

func (noLock) Lock()   {}
func (noLock) Unlock() {}

func strPtr(s string) unsafe.Pointer { return unsafe.Pointer(unsafe.StringData(s)) }

func bytesPtr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

func hostExport(name string) abi.Status {
	return abi.Status(pExport(strPtr(name), uint32(len(name))))
}

func hostReady() abi.Status { return abi.Status(pReady()) }

// Results the host writes into guest memory land in these package variables
// rather than in locals: a local whose address goes to the host escapes to
// the heap, which cost an allocation per call. A guest runs one goroutine at
// a time and a host function is never interrupted, so each value is read
// back before any other host call can write it.
var (
	outU32 uint32
	outU64 uint64
)

func hostLocate(name string) (uint32, abi.Status) {
	st := pLocate(strPtr(name), uint32(len(name)), unsafe.Pointer(&outU32))
	return outU32, abi.Status(st)
}

// hostLocateFix asks the host for the fix to parigot.hcl that makes name
// a service the guest may locate (see abi.LocateFix); "" from a host
// from before it.
func hostLocateFix(name string) string {
	var record [abi.FixRecordSize]byte
	if abi.Status(pLocate(strPtr(name), uint32(len(name))|abi.LocateFix, unsafe.Pointer(&record[0]))) != abi.StatusNotRequired {
		return ""
	}
	n := min(binary.LittleEndian.Uint32(record[:4]), abi.MaxFix)
	return string(record[4 : 4+n])
}

func hostDispatch(handle uint32, method string, req []byte, deadline int64) (uint64, abi.Status) {
	st := pDispatch(handle, strPtr(method), uint32(len(method)), bytesPtr(req), uint32(len(req)), unsafe.Pointer(&outU64), deadline)
	return outU64, abi.Status(st)
}

func hostPoll(timeoutNanos int64, buf []byte) (uint32, abi.Status) {
	st := pPoll(timeoutNanos, bytesPtr(buf), uint32(len(buf)), unsafe.Pointer(&outU32))
	return outU32, abi.Status(st)
}

func hostReply(callID uint64, code abi.Code, payload []byte) abi.Status {
	return abi.Status(pReply(callID, uint32(code), bytesPtr(payload), uint32(len(payload))))
}

// hostExiting tells the host that the guest exits through ExitSelf, so
// that a program whose main returned without it can be told apart; the
// host reads the exit code itself from WASI's proc_exit.
func hostExiting(int) { exiting() }

// exiting is pExiting, set once by init, which links the import of exiting
// into every guest whether or not it calls ExitSelf (the linker drops the
// imports a guest does not use): the host tells a guest built before
// exiting existed, which it must not say ended without ExitSelf, by that
// import's absence.
var exiting func() uint32

func init() { exiting = pExiting }

// openRecord is the record a store's open fills with abi.OpenWithValue:
// u32s at the offsets of abi.OpenRecordSize's list, little endian as wasm
// is.
var openRecord [abi.OpenRecordSize / 4]uint32

// hostOpen opens name; with abi.OpenWithValue in kind, it also returns
// the store's value type, read into a buffer of the size the host asks
// for when the first is too small.
func hostOpen(kind uint32, name string) (uint32, string, abi.Status) {
	if kind&abi.OpenWithValue == 0 {
		st := pOpen(kind, strPtr(name), uint32(len(name)), unsafe.Pointer(&outU32))
		return outU32, "", abi.Status(st)
	}
	buf := make([]byte, 128)
	for {
		openRecord = [abi.OpenRecordSize / 4]uint32{}
		openRecord[abi.OpenRecordValuePtr/4] = uint32(uintptr(unsafe.Pointer(&buf[0])))
		openRecord[abi.OpenRecordValueCap/4] = uint32(len(buf))
		st := abi.Status(pOpen(kind, strPtr(name), uint32(len(name)), unsafe.Pointer(&openRecord)))
		h, n := openRecord[abi.OpenRecordHandle/4], openRecord[abi.OpenRecordValueLen/4]
		if st == abi.StatusBufferTooSmall && int(n) > len(buf) {
			buf = make([]byte, n)
			continue
		}
		if st != abi.StatusOK {
			return 0, "", st
		}
		return h, string(buf[:n]), st
	}
}
