//go:build wasip1

package guest

import (
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
func pDispatch(handle uint32, method unsafe.Pointer, methodLen uint32, req unsafe.Pointer, reqLen uint32, callIDOut unsafe.Pointer) uint32

//go:wasmimport parigot poll
func pPoll(timeoutNanos int64, buf unsafe.Pointer, bufCap uint32, sizeOut unsafe.Pointer) uint32

//go:wasmimport parigot reply
func pReply(callID uint64, code uint32, payload unsafe.Pointer, payloadLen uint32) uint32

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

func hostLocate(name string) (uint32, abi.Status) {
	var h uint32
	st := pLocate(strPtr(name), uint32(len(name)), unsafe.Pointer(&h))
	return h, abi.Status(st)
}

func hostDispatch(handle uint32, method string, req []byte) (uint64, abi.Status) {
	var id uint64
	st := pDispatch(handle, strPtr(method), uint32(len(method)), bytesPtr(req), uint32(len(req)), unsafe.Pointer(&id))
	return id, abi.Status(st)
}

func hostPoll(timeoutNanos int64, buf []byte) (uint32, abi.Status) {
	var n uint32
	st := pPoll(timeoutNanos, bytesPtr(buf), uint32(len(buf)), unsafe.Pointer(&n))
	return n, abi.Status(st)
}

func hostReply(callID uint64, code abi.Code, payload []byte) abi.Status {
	return abi.Status(pReply(callID, uint32(code), bytesPtr(payload), uint32(len(payload))))
}
