//go:build !wasip1

package guest

import (
	"bufio"
	"net"
	"os"
	"sync"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/hostlink"
)

// Natively, a guest has a host only when parigot runs it as a native
// process (parigot run --debug): it then reaches the host functions over
// the socket in hostlink.EnvSocket. Otherwise (a unit test of a guest's
// plain Go functions) there is no host: nothing can be exported, located
// or called, and every host function says StatusNoHost.
//
// A guest that parigot started but whose host has gone (the run was
// interrupted, or ended, while the guest waited in the debugger, and the
// guest ran on without Delve) is told apart from one never run by a host:
// hostlink.EnvSocket is set, but its socket answers no more. Every host
// function then says StatusShutdown, as it does to a wasm guest whose host
// is stopping it.

// futuresMu guards the block completed futures come from: natively, a
// guest's Go code (a unit test of a service's methods, say) may call
// Resolved from several goroutines at once, on several threads.
var futuresMu sync.Mutex

// link is the connection to the host, made at the first host call.
var link struct {
	once   sync.Once
	mu     sync.Mutex
	conn   net.Conn
	r      *bufio.Reader
	status abi.Status // why conn is nil: StatusNoHost or StatusShutdown
}

// dialHost connects to the host's socket at path (hostlink.EnvSocket's
// value). With no path, the guest was never run by a host: StatusNoHost.
// A path that cannot be reached is a host that went away: StatusShutdown.
func dialHost(path string) (net.Conn, abi.Status) {
	if path == "" {
		return nil, abi.StatusNoHost
	}
	conn, err := net.Dial("unix", path)
	if err != nil {
		return nil, abi.StatusShutdown
	}
	return conn, abi.StatusOK
}

// call sends one request to the host and returns its response; with no
// host, or a link that broke, StatusNoHost or StatusShutdown.
func call(req hostlink.Request) hostlink.Response {
	link.once.Do(func() {
		link.conn, link.status = dialHost(os.Getenv(hostlink.EnvSocket))
		if link.conn != nil {
			link.r = bufio.NewReader(link.conn)
		}
	})
	if link.conn == nil {
		return hostlink.Response{Status: link.status}
	}
	link.mu.Lock()
	defer link.mu.Unlock()
	if err := hostlink.WriteRequest(link.conn, req); err != nil {
		return hostlink.Response{Status: abi.StatusShutdown}
	}
	resp, err := hostlink.ReadResponse(link.r)
	if err != nil {
		return hostlink.Response{Status: abi.StatusShutdown}
	}
	return resp
}

func hostExport(name string) abi.Status {
	return call(hostlink.Request{Op: hostlink.OpExport, Data: []byte(name)}).Status
}

func hostReady() abi.Status { return call(hostlink.Request{Op: hostlink.OpReady}).Status }

func hostLocate(name string) (uint32, abi.Status) {
	r := call(hostlink.Request{Op: hostlink.OpLocate, Data: []byte(name)})
	return uint32(r.Value), r.Status
}

// hostLocateFix is the fix to parigot.hcl the host gives with a
// StatusNotRequired (see abi.LocateFix), or "".
func hostLocateFix(name string) string {
	r := call(hostlink.Request{Op: hostlink.OpLocate, Data: []byte(name)})
	if r.Status != abi.StatusNotRequired {
		return ""
	}
	return string(r.Data)
}

func hostDispatch(handle uint32, method string, req []byte, deadline int64) (uint64, abi.Status) {
	r := call(hostlink.Request{Op: hostlink.OpDispatch, A: uint64(handle), B: uint64(deadline), Data: hostlink.DispatchData(method, req)})
	return r.Value, r.Status
}

func hostPoll(timeoutNanos int64, buf []byte) (uint32, abi.Status) {
	r := call(hostlink.Request{Op: hostlink.OpPoll, A: uint64(timeoutNanos), B: uint64(len(buf))})
	copy(buf, r.Data)
	return uint32(r.Value), r.Status
}

func hostReply(callID uint64, code abi.Code, payload []byte) abi.Status {
	return call(hostlink.Request{Op: hostlink.OpReply, A: callID, B: uint64(code), Data: payload}).Status
}

// hostOpen opens name; with abi.OpenWithValue in kind, the host answers
// with the store's value type as the response's data.
func hostOpen(kind uint32, name string) (uint32, string, abi.Status) {
	r := call(hostlink.Request{Op: hostlink.OpOpen, A: uint64(kind), Data: []byte(name)})
	return uint32(r.Value), string(r.Data), r.Status
}

// hostExiting tells the host the guest's exit code before it exits.
func hostExiting(code int) {
	if link.conn == nil {
		return
	}
	link.mu.Lock()
	defer link.mu.Unlock()
	hostlink.WriteRequest(link.conn, hostlink.Request{Op: hostlink.OpExit, A: uint64(code)})
}
