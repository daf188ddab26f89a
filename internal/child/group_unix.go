//go:build unix

package child

import (
	"os"
	"syscall"
)

// groupAttr starts a child as the leader of a process group of its own.
func groupAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// interruptGroup sends SIGINT to p's process group, unless p has ended
// and been waited for (its process id may be another's by now).
func interruptGroup(p *os.Process) (polite bool, err error) {
	if err := p.Signal(syscall.Signal(0)); err != nil {
		return false, err
	}
	return true, syscall.Kill(-p.Pid, syscall.SIGINT)
}

// groupAlive reports whether a process of p's group still runs. Once p has
// ended, its id names the group as long as one of them lives: the kernel
// gives it to no other process meanwhile.
func groupAlive(p *os.Process) bool { return syscall.Kill(-p.Pid, 0) == nil }

// killGroup kills what is left of p's process group.
func killGroup(p *os.Process) { syscall.Kill(-p.Pid, syscall.SIGKILL) }
