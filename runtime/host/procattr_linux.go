package host

import (
	"os/exec"
	"syscall"
)

// nativeProcAttr puts Delve and the guest it runs in a process group of
// their own, which the host ends as one, and makes the kernel end Delve
// when the host dies, however it dies.
func nativeProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killNative ends Delve and the guest it runs.
func killNative(cmd *exec.Cmd) {
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
