//go:build !linux

package split

import "syscall"

// unread: without FIONREAD at hand, only what a connection's reader has
// in hand or buffered counts (see serverConn.pending).
func unread(syscall.RawConn) bool { return false }
