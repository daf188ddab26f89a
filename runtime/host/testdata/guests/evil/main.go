// Command evil is a test program that hands the host garbage: pointers outside
// its memory, absurd lengths, unknown handles and call ids. It prints the
// status of each host call; then it checks that a normal call still works.
package main

import (
	"fmt"
	"unsafe"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

//go:wasmimport parigot locate
func locate(name unsafe.Pointer, nameLen uint32, handleOut unsafe.Pointer) uint32

//go:wasmimport parigot dispatch
func dispatch(handle uint32, method unsafe.Pointer, methodLen uint32, req unsafe.Pointer, reqLen uint32, callIDOut unsafe.Pointer, deadline int64) uint32

//go:wasmimport parigot poll
func poll(timeoutNanos int64, buf unsafe.Pointer, bufCap uint32, sizeOut unsafe.Pointer) uint32

//go:wasmimport parigot reply
func reply(callID uint64, code uint32, payload unsafe.Pointer, payloadLen uint32) uint32

//go:wasmimport parigot export
func export(name unsafe.Pointer, nameLen uint32) uint32

var far = unsafe.Pointer(uintptr(0xFFFF_FFF0))

func main() {
	name := "test.Echo"
	var h uint32
	var id uint64
	var n uint32
	buf := make([]byte, 64)
	fmt.Println("locate far name:", locate(far, 100, unsafe.Pointer(&h)))
	fmt.Println("locate huge length:", locate(unsafe.Pointer(unsafe.StringData(name)), 0xFFFF_FFFF, unsafe.Pointer(&h)))
	fmt.Println("locate far out:", locate(unsafe.Pointer(unsafe.StringData(name)), uint32(len(name)), far))
	fmt.Println("dispatch bad handle:", dispatch(77, nil, 0, nil, 0, unsafe.Pointer(&id), -1))
	fmt.Println("dispatch handle 0:", dispatch(0, nil, 0, nil, 0, unsafe.Pointer(&id), 0))
	fmt.Println("poll far buffer:", poll(0, far, 1000, unsafe.Pointer(&n)))
	fmt.Println("poll far size:", poll(0, unsafe.Pointer(&buf[0]), 64, far))
	fmt.Println("reply unknown call:", reply(12345, 0, nil, 0))
	fmt.Println("reply far payload:", reply(1, 0, far, 100))
	fmt.Println("export far:", export(far, 10))
	fmt.Println("export not implemented:", export(unsafe.Pointer(unsafe.StringData(name)), uint32(len(name))))

	guest.LaunchClient().Success(func(struct{}) {
		echo, err := guest.Locate(name)
		if err != nil {
			fmt.Println("locate:", err)
			guest.ExitSelf(1)
		}
		guest.Invoke(echo, "Echo", wrapperspb.String("still fine"), new(wrapperspb.StringValue)).
			Success(func(r *wrapperspb.StringValue) {
				fmt.Println("after the garbage:", r.GetValue())
				guest.ExitSelf(0)
			}).
			Failure(func(err error) {
				fmt.Println("after the garbage:", err)
				guest.ExitSelf(1)
			})
	})
	guest.MustRunClient()
}
