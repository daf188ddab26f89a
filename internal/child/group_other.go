//go:build !unix

package child

import (
	"os"
	"syscall"
)

// groupAttr: without process groups, a child runs as a plain one.
func groupAttr() *syscall.SysProcAttr { return nil }

// interruptGroup kills p: without SIGINT there is no polite way.
func interruptGroup(p *os.Process) (polite bool, err error) { return false, p.Kill() }

// groupAlive: p was killed at once.
func groupAlive(*os.Process) bool { return false }

// killGroup kills p.
func killGroup(p *os.Process) { p.Kill() }
