//go:build !linux

package split

import "syscall"

// childProcAttr: without a parent-death signal, a child learns that its
// supervisor is gone from the end of file on its link.
func childProcAttr() *syscall.SysProcAttr { return nil }
