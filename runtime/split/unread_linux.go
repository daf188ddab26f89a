package split

import (
	"syscall"
	"unsafe"
)

// unread reports whether the socket behind rc has bytes the process has
// not read yet.
func unread(rc syscall.RawConn) bool {
	var n int32
	rc.Control(func(fd uintptr) {
		syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	})
	return n > 0
}
