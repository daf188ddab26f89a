//go:build !linux

package host

import (
	"os/exec"
	"syscall"
)

// nativeProcAttr: elsewhere than Linux, Delve runs as a plain child.
func nativeProcAttr() *syscall.SysProcAttr { return nil }

// killNative ends Delve (which ends the guest it runs).
func killNative(cmd *exec.Cmd) {
	if cmd.Process != nil {
		cmd.Process.Kill()
	}
}
