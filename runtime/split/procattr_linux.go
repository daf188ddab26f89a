package split

import "syscall"

// childProcAttr makes the kernel send a child SIGTERM when its supervisor
// dies, however it dies (kill -9 included): the child then stops as it does
// on any SIGTERM. The link's end of file does the same on every system.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
