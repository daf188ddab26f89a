package host

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero/sys"

	"parigot.dev/parigot/internal/tempdir"
	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/hostlink"
)

// A guest with GuestSpec.Debug runs as a native process under Delve rather
// than as wasm (parigot run --debug): Delve serves its debugging API on an
// address the host announces, and the guest reaches the host functions over
// a Unix-domain socket (package hostlink). Each request is answered by the
// same host function a wasm guest calls, with the request's bytes laid out
// in a scratch memory as a wasm guest's would be: one implementation of the
// guest API, whatever runs the guest.

// DebugBudget is the method budget of a guest under the debugger: a method
// stopped at a breakpoint must not fail its callers, so its budget is, in
// effect, suspended, and the overrun watchdog leaves it alone.
const DebugBudget = time.Hour

// debugging reports whether the guest runs under the debugger.
func (in *instance) debugging() bool { return in.spec.Debug != "" }

// runNative runs in's native build under Delve until the guest exits or ctx
// ends, serving its host function calls. The error says how it ended, as
// wazero's would: nil for an exit 0, a *nativeExit otherwise.
func (r *run) runNative(ctx context.Context, in *instance, stdout, stderr *guestOutput) error {
	dir, err := tempdir.Make(tempdir.Debug)
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "host.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return fmt.Errorf("listening for %s's link to the host: %w", in.spec.Name, err)
	}
	defer ln.Close()

	dlv := r.cfg.Delve
	if dlv == "" {
		dlv = "dlv"
	}
	listen := in.spec.DebugListen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	cmd := exec.Command(dlv, "exec", in.spec.Debug, "--headless", "--listen="+listen,
		"--api-version=2", "--accept-multiclient", "--", in.spec.Name)
	cmd.Env = append(os.Environ(), in.spec.Env...)
	cmd.Env = append(cmd.Env, hostlink.EnvSocket+"="+sock)
	cmd.SysProcAttr = nativeProcAttr()
	// A pipe of the host's own rather than StdoutPipe, so that Delve's end
	// can be waited for while its output is still read.
	out, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer out.Close()
	cmd.Stdout = outW
	cmd.Stderr = stderr
	err = cmd.Start()
	outW.Close()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("running %s under the debugger needs Delve: go install github.com/go-delve/delve/cmd/dlv@latest, and put $(go env GOPATH)/bin on PATH", in.spec.Name)
		}
		return fmt.Errorf("starting Delve for %s: %w", in.spec.Name, err)
	}
	delveDone := make(chan struct{}) // closed when Delve's process has ended
	go func() {
		cmd.Wait()
		close(delveDone)
	}()
	var copying sync.WaitGroup
	copying.Add(1)
	addr := make(chan string, 1)
	go func() {
		defer copying.Done()
		r.readDelveOutput(out, stdout, addr)
	}()
	ended := make(chan struct{})
	defer func() {
		killNative(cmd)
		<-delveDone
		copying.Wait()
		close(ended)
	}()

	var api string // the address of Delve's API
	select {
	case api = <-addr:
		r.say("parigot: %s %s runs under Delve, which waits for a debugger at %s: attach (dlv connect %s, or VS Code's remote attach), set breakpoints and continue",
			in.spec.Kind, in.spec.Name, api, api)
		go r.announcePauses(ctx, in, api, ended)
	case <-ctx.Done():
		return ctx.Err()
	}

	conn, err := acceptLink(ctx, ln)
	if err != nil {
		return err
	}
	defer conn.Close()
	err = r.serveLink(ctx, in, conn)
	if exit := (*nativeExit)(nil); errors.As(err, &exit) && exit.closed && delveKilled(ctx, delveDone) {
		return errDebuggerQuit
	}
	return err
}

// errDebuggerQuit is how a native guest ended when its debugger killed
// it: the user quit Delve (exit, then y to kill the headless instance).
var errDebuggerQuit = errors.New("its debugger (Delve) was quit and killed it")

// delveKilled tells, once the guest's link to the host closed without an
// exit code, whether Delve (its process ending closes delveDone) killed
// the guest as it was told to quit: Delve then ends too, within moments.
// A guest whose process ended on its own (something killed it; a panic
// or a fault Delve stops at) leaves Delve serving, for a client to look
// at what is left or restart it; so a Delve that has not ended within
// delveQuitWait was not quit. (Its API cannot tell the two apart sooner:
// while Delve kills its process as it quits, it answers that the process
// exited, as it does for one that ended on its own.)
func delveKilled(ctx context.Context, delveDone <-chan struct{}) bool {
	wait := time.NewTimer(delveQuitWait)
	defer wait.Stop()
	select {
	case <-delveDone:
		return true
	case <-wait.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// delveQuitWait bounds how long Delve may take to end after killing the
// guest it was told to quit with.
const delveQuitWait = 5 * time.Second

// readDelveOutput passes Delve's stdout (the guest's stdout, after Delve's
// own first line) to the guest's output, sending the API's address on addr
// once Delve says it. A line of any length passes, in pieces if need be:
// the guest's output cuts it (see lines.MaxLine).
func (r *run) readDelveOutput(out io.Reader, stdout *guestOutput, addr chan<- string) {
	const listening = "API server listening at: "
	br := bufio.NewReader(out)
	atStart := true // of a line
	for {
		part, err := br.ReadSlice('\n')
		whole := bytes.HasSuffix(part, []byte("\n"))
		if a, ok := bytes.CutPrefix(part, []byte(listening)); ok && atStart && whole {
			select {
			case addr <- string(bytes.TrimSpace(a)):
			default:
			}
		} else {
			stdout.Write(part)
		}
		atStart = whole
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

// acceptLink waits for the guest to connect to the host, or for ctx to end.
// A guest stopped in the debugger before its first host call connects late:
// there is no time limit.
func acceptLink(ctx context.Context, ln net.Listener) (net.Conn, error) {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	conn, err := ln.Accept()
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return conn, err
}

// nativeExit is how a native guest ended when not with exit code 0.
type nativeExit struct {
	code   int  // from the guest's last request, or 1
	closed bool // the guest's link closed without an exit code: it crashed or was killed
}

func (e *nativeExit) Error() string {
	if e.closed {
		return "the guest's process ended without an exit code"
	}
	return fmt.Sprintf("exit code %d", e.code)
}

// serveLink answers the guest's host function calls until it exits.
func (r *run) serveLink(ctx context.Context, in *instance, conn net.Conn) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	rd := bufio.NewReader(conn)
	w := bufio.NewWriter(conn)
	for {
		req, err := hostlink.ReadRequest(rd)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &nativeExit{code: 1, closed: true}
		}
		if req.Op == hostlink.OpExit {
			if code := int(int32(req.A)); code != 0 {
				return &nativeExit{code: code}
			}
			return nil
		}
		resp := r.answer(ctx, in, req)
		if err := hostlink.WriteResponse(w, resp); err != nil {
			return &nativeExit{code: 1, closed: true}
		}
		if err := w.Flush(); err != nil {
			return &nativeExit{code: 1, closed: true}
		}
	}
}

// answer calls the host function req names, on a scratch memory that holds
// req's bytes where a wasm guest's pointers would point.
func (r *run) answer(ctx context.Context, in *instance, req hostlink.Request) (resp hostlink.Response) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("host function failed", "guest", in.spec.Name, "op", req.Op, "panic", p)
			resp = hostlink.Response{Status: abi.StatusBadArgument}
		}
	}()
	n := uint64(len(req.Data))
	switch req.Op {
	case hostlink.OpExport:
		return hostlink.Response{Status: hostExport(ctx, in, scratch(req.Data), []uint64{0, n})}
	case hostlink.OpReady:
		return hostlink.Response{Status: hostReady(ctx, in, nil, nil)}
	case hostlink.OpLocate:
		// Always with the fix: a native guest that does not read it
		// ignores the response's data.
		mem := scratch(append(req.Data, make([]byte, abi.FixRecordSize)...))
		st := hostLocate(ctx, in, mem, []uint64{0, n | abi.LocateFix, n})
		h, _ := mem.ReadUint32Le(uint32(n))
		resp := hostlink.Response{Status: st, Value: uint64(h)}
		if st == abi.StatusNotRequired {
			resp.Data, resp.Value = mem[n+4:n+4+uint64(h)], 0
		}
		return resp
	case hostlink.OpDispatch:
		method, body, ok := hostlink.SplitDispatch(req.Data)
		if !ok {
			return hostlink.Response{Status: abi.StatusBadArgument}
		}
		m, b := uint64(len(method)), uint64(len(body))
		mem := scratch(append(append(append([]byte(nil), method...), body...), make([]byte, 8)...))
		st := hostDispatch(ctx, in, mem, []uint64{req.A, 0, m, m, b, m + b, req.B})
		id, _ := mem.ReadUint64Le(uint32(m + b))
		return hostlink.Response{Status: st, Value: id}
	case hostlink.OpPoll:
		size := min(req.B, hostlink.MaxData)
		mem := make(scratch, size+4)
		st := hostPoll(ctx, in, mem, []uint64{req.A, 0, size, size})
		got, _ := mem.ReadUint32Le(uint32(size))
		resp := hostlink.Response{Status: st, Value: uint64(got)}
		if st == abi.StatusOK {
			resp.Data = mem[:got]
		}
		return resp
	case hostlink.OpOpen:
		if uint32(req.A) == abi.OpenStore|abi.OpenWithValue {
			return openWithValueNatively(ctx, in, req.Data)
		}
		mem := scratch(append(req.Data, make([]byte, 4)...))
		st := hostOpen(ctx, in, mem, []uint64{req.A, 0, n, n})
		h, _ := mem.ReadUint32Le(uint32(n))
		return hostlink.Response{Status: st, Value: uint64(h)}
	case hostlink.OpReply:
		return hostlink.Response{Status: hostReply(ctx, in, scratch(req.Data), []uint64{req.A, req.B, 0, n})}
	}
	return hostlink.Response{Status: abi.StatusBadArgument}
}

// openWithValueNatively opens a store for a native guest with
// abi.OpenWithValue: the scratch memory holds the name, the open record
// and room for the value type, as much as the host asks for; the response
// carries the value type as its data.
func openWithValueNatively(ctx context.Context, in *instance, name []byte) hostlink.Response {
	n := uint32(len(name))
	room := uint32(0)
	for {
		mem := make(scratch, n+abi.OpenRecordSize+room)
		copy(mem, name)
		mem.WriteUint32Le(n+abi.OpenRecordValuePtr, n+abi.OpenRecordSize)
		mem.WriteUint32Le(n+abi.OpenRecordValueCap, room)
		st := hostOpen(ctx, in, mem, []uint64{uint64(abi.OpenStore | abi.OpenWithValue), 0, uint64(n), uint64(n)})
		h, _ := mem.ReadUint32Le(n + abi.OpenRecordHandle)
		size, _ := mem.ReadUint32Le(n + abi.OpenRecordValueLen)
		if st == abi.StatusBufferTooSmall && size > room {
			room = size
			continue
		}
		resp := hostlink.Response{Status: st, Value: uint64(h)}
		if st == abi.StatusOK {
			resp.Data = mem[n+abi.OpenRecordSize : n+abi.OpenRecordSize+size]
		}
		return resp
	}
}

// nativeError is the error of a native guest's run as classify reads a
// wasm guest's: an exit code is a WASI exit.
func nativeError(err error) error {
	if errors.Is(err, errDebuggerQuit) {
		return err
	}
	var exit *nativeExit
	if errors.As(err, &exit) {
		return sys.NewExitError(uint32(exit.code))
	}
	return err
}

// scratch is the guest memory of one native request: its bytes, at offset 0.
type scratch []byte

func (s scratch) Read(off, n uint32) ([]byte, bool) {
	if uint64(off)+uint64(n) > uint64(len(s)) {
		return nil, false
	}
	return s[off : off+n], true
}

func (s scratch) ReadUint32Le(off uint32) (uint32, bool) {
	b, ok := s.Read(off, 4)
	if !ok {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b), true
}

func (s scratch) ReadUint64Le(off uint32) (uint64, bool) {
	b, ok := s.Read(off, 8)
	if !ok {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b), true
}

func (s scratch) WriteUint32Le(off, v uint32) bool {
	b, ok := s.Read(off, 4)
	if ok {
		binary.LittleEndian.PutUint32(b, v)
	}
	return ok
}

func (s scratch) WriteUint64Le(off uint32, v uint64) bool {
	b, ok := s.Read(off, 8)
	if ok {
		binary.LittleEndian.PutUint64(b, v)
	}
	return ok
}

// announcePauses tells the user when the guest under Delve (API at addr)
// stops in the debugger and when it runs again, so that a caller waiting
// longer than usual is explained: budgets are suspended meanwhile (see
// DebugBudget). It asks Delve's JSON-RPC API, as a second client, until
// ended is closed.
func (r *run) announcePauses(ctx context.Context, in *instance, addr string, ended <-chan struct{}) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return // announcements are a courtesy: the guest runs the same without them
	}
	client := jsonrpc.NewClient(conn)
	defer client.Close()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	var watch pauseWatch
	for {
		select {
		case <-ctx.Done():
			return
		case <-ended:
			return
		case <-t.C:
		}
		var out struct{ State *delveState }
		if err := client.Call("RPCServer.State", struct{ NonBlocking bool }{true}, &out); err != nil || out.State == nil {
			if errors.Is(err, rpc.ErrShutdown) {
				return
			}
			continue
		}
		if out.State.Exited {
			return
		}
		ranAgain, paused := watch.see(out.State)
		if ranAgain {
			r.say("parigot: %s %s runs again", in.spec.Kind, in.spec.Name)
		}
		if paused {
			where := ""
			if th := out.State.CurrentThread; th != nil && th.File != "" {
				where = fmt.Sprintf(" at %s:%d", th.File, th.Line)
			}
			callers := "; its callers wait (method budgets are suspended under the debugger)"
			if in.spec.Kind == Program {
				callers = "" // no one calls a program
			}
			r.say("parigot: %s %s is paused in the debugger%s%s", in.spec.Kind, in.spec.Name, where, callers)
		}
	}
}

// delveState is as much of Delve's DebuggerState (its API's State) as
// announcePauses reads.
type delveState struct {
	Running       bool
	Exited        bool           `json:"exited"`
	CurrentThread *delveThread   `json:"currentThread"`
	Threads       []*delveThread // every thread of the guest's process, when it is stopped
}

type delveThread struct {
	ID         int    `json:"id"`
	File       string `json:"file"`
	Line       int    `json:"line"`
	PC         uint64 `json:"pc"`
	Breakpoint *struct {
		ID            int    `json:"id"`
		TotalHitCount uint64 `json:"totalHitCount"`
	} `json:"breakPoint"`
}

// delveStop tells one stop of a guest under Delve from the next: where
// each of its threads stopped, and how often the breakpoint a thread
// stopped at was hit by then (a breakpoint in a loop stops at the same
// place each time). The user's looking around while the guest is stopped
// (another goroutine or thread selected, an expression evaluated) leaves
// it as it was.
type delveStop struct {
	threads    string // "id:pc:breakpoint:hits" of each thread, by id
	breakpoint bool   // a thread stopped at a breakpoint
}

func stopOf(st *delveState) delveStop {
	// Delve lists the threads in no order (from a map, in a new order
	// each time it is asked): one stop must read the same each look.
	threads := slices.Clone(st.Threads)
	if len(threads) == 0 && st.CurrentThread != nil {
		threads = []*delveThread{st.CurrentThread}
	}
	slices.SortFunc(threads, func(a, b *delveThread) int { return cmp.Compare(a.ID, b.ID) })
	var s delveStop
	var b strings.Builder
	for _, th := range threads {
		var bp int
		var hits uint64
		if th.Breakpoint != nil {
			bp, hits = th.Breakpoint.ID, th.Breakpoint.TotalHitCount
			s.breakpoint = true
		}
		fmt.Fprintf(&b, "%d:%x:%d:%d ", th.ID, th.PC, bp, hits)
	}
	s.threads = b.String()
	return s
}

// pauseWatch follows the states Delve reports, looked at every so often,
// and tells the pauses worth announcing. A guest that ran and stopped
// again between two looks (a continue that hits the next breakpoint at
// once) shows no running state in between, only another stop: it is told
// by where the guest stopped, and by the hit count of its breakpoint.
// The halt Delve starts the guest in, waiting for a debugger, is no pause
// of the user's.
type pauseWatch struct {
	ran    bool      // the guest was seen running, or in a pause
	paused bool      // its last pause was announced and it was not seen running since
	at     delveStop // how it was last seen stopped
	seen   bool      // at is set
}

// see takes the next state Delve reports and says whether the guest ran
// again since its last announced pause, and whether it is now in a pause
// not yet announced (both, for a stop seen right after another).
func (w *pauseWatch) see(st *delveState) (ranAgain, paused bool) {
	if st.Running {
		ranAgain = w.paused
		w.paused, w.ran = false, true
		return ranAgain, false
	}
	stop := stopOf(st)
	first, same := !w.seen, w.seen && stop == w.at
	w.at, w.seen = stop, true
	if same || first && !w.ran && !stop.breakpoint {
		return false, false // no new stop, or the halt Delve starts the guest in
	}
	ranAgain = w.paused
	w.paused, w.ran = true, true
	return ranAgain, true
}
