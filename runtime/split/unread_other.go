//go:build !linux

package split

import "syscall"

// unread: without FIONREAD at hand, only what a connection's reader has
// buffered counts (see serverConn.buffered).
func unread(syscall.RawConn) bool { return false }
