package split

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"parigot.dev/parigot/internal/tempdir"
	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
)

// Direct connections carry the calls between two processes on one machine
// without the NATS server: a Unix-domain socket from each calling process
// to each replica it knows, with the frames of frame.go. NATS stays for
// everything else. A caller asks for an offer (directOffer) with a request
// on the service's own call subject (headerDirect): so only a guest that
// may call the service — whose manifest requires it, which the server
// enforces — ever learns how to connect and what to present, and a server
// that refuses the call refuses the offer the same way. The queue group
// hands each request to one replica; the caller asks again, a second
// apart, while it knows fewer replicas than the manifest declares, and
// when a replica announces that it is ready (announce.go). When no
// direct connection is known or can be made (another machine, a failed
// dial, every replica draining), calls go over NATS, as before.
//
// Who may call: the offer carries a token, an HMAC of the asking identity
// (named by the reply subject of the request, an inbox only that identity
// may read) and the guest, under a key the replica made for its run. A
// caller presents its identity and token in its hello; a connection whose
// token does not match is refused before any call reaches the guest, and
// its calls fail with permission denied. The socket lives in a directory
// of its own, which only the user running the app may enter.
//
// Calls keep the order in which they were sent, across connections too:
// a call frame carries its send time, and a call that arrives together
// with others on other connections waits for them (inOrder), so that a
// call relayed through another service never overtakes the call its
// caller made first, as one connection to the NATS server guaranteed.
//
// Between machines, a replica whose run names an address of its machine
// (ChildOptions.DirectHost, --direct-host) also listens on TCP there, and
// its offers carry that address too: a caller on another machine dials
// it, with the same hello, token and frames, and falls back to NATS when
// it cannot. Its calls take no part in the order across connections
// (inOrder): other machines' clocks differ, and NATS across a cluster
// kept no such order either; each TCP connection's calls keep their own
// order. TCP connections are TLS 1.3, with the certificate the replica
// made for itself and named in its offer (tls.go).
//
// A replica that cannot take a call soon (its guest stuck past its method
// budget, starting again, full or ended) does not keep one that can go
// elsewhere: a caller that knows another replica it has not yet sent the
// call to sends it movable (frameMovable), and the replica hands it back
// untaken (frameUntaken) when its host refuses or sheds it (route.Mover)
// before its guest took it. The caller sends it to the next replica; the
// last one left gets it not movable, and takes it as an only replica does.
//
// A caller that gives up a call before its reply (its ctx ended: a
// gateway's client hung up; over TCP, its deadline passed, which a
// replica on another machine cannot tell by its own clock) forgets it
// and says so (frameGiven); the replica's host drops it unrun if its
// guest has not taken it yet (route.Abandoner).
//
// Processes of different parigot versions meet (--only on several
// machines, a rolling restart), and a frame one does not know is a broken
// connection to it. So each says the version of this protocol it speaks
// (directVersion) in its requests for offers (headerDirectVersion), its
// offers and its hello, and a caller and a replica of different versions
// make no direct connection: their calls go through the NATS server,
// which carries them alike in every version; each says so once. A
// process that says no version speaks version 1.
//
// Each call completes once: with its reply; with unavailable when its
// connection breaks first (the caller's reader fails what is in flight on
// it, and drops the replica); or at its deadline, which the calling host
// keeps as for any call. A caller whose last connection to a guest broke
// fails its calls to it at once with unavailable, rather than send them
// over NATS to a process that may have died unbeknown to the server,
// until it connects to a replica again (directClient.lost). A replica told to stop sends a goaway on each
// connection; the caller stops sending on it and acknowledges, and the
// replica's StopServing returns once every call sent before the
// acknowledgement is with its guest.

// directOffer is a replica's answer to a request for one: where and how
// the asking identity connects to it directly.
type directOffer struct {
	Guest   string `json:"guest"`
	Replica string `json:"replica"` // the replica's listener: unique in the run
	Machine string `json:"machine"` // a socket path means something on this machine only
	Addr    string `json:"addr"`
	// TCP is the replica's TCP address (host:port), for callers on other
	// machines: only when its run listens there (--direct-host); TCPCert
	// is the SHA-256 of the certificate it presents there (see tls.go).
	TCP     string `json:"tcp,omitempty"`
	TCPCert []byte `json:"tcp_cert,omitempty"`
	Who     string `json:"who"`
	Token   []byte `json:"token"`
	// Version is the direct protocol's version the replica speaks
	// (directVersion); absent from the offers of version 1, which said
	// none. An offer to a caller of another version names neither socket
	// nor TCP address, nor a token: it calls through the NATS server.
	Version int `json:"version,omitempty"`
	// Label names the replica in what its callers say of it ("echo#2").
	Label string `json:"label,omitempty"`
	// Builds is the fingerprint of each service of the guest as the
	// replica's build made them (Network.Built); absent from the offers
	// of a replica that knows none.
	Builds map[string]Fingerprint `json:"builds,omitempty"`
}

// version is the direct protocol's version of the replica that made o.
func (o directOffer) version() int {
	if o.Version == 0 {
		return 1
	}
	return o.Version
}

// headerDirectVersion, on a request for an offer, is the version of the
// direct protocol the asking process speaks; absent: version 1, which
// said none.
const headerDirectVersion = "Parigot-Direct-Version"

// askerVersion is the direct protocol's version of the process that sent
// the request for an offer m.
func askerVersion(m *nats.Msg) int {
	v, err := strconv.Atoi(m.Header.Get(headerDirectVersion))
	if err != nil || v < 1 {
		return 1
	}
	return v
}

// speaksOther is what a process of direct protocol version ours says of
// peer, which speaks theirs.
func speaksOther(peer string, theirs, ours int) string {
	return fmt.Sprintf("%s speaks direct protocol v%d, this process v%d", peer, theirs, ours)
}

// machineID names this machine (its boot), so that a caller dials a
// replica's socket only where the path means the same file.
func machineID() string {
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		return strings.TrimSpace(string(b))
	}
	h, _ := os.Hostname()
	return h
}

// directServer is the listening side, one per Network that serves guests.
type directServer struct {
	net     *Network
	dir     string // a private directory holding the socket
	ln      net.Listener
	tcp     net.Listener // for callers on other machines, over TLS; nil without a direct host
	tcpPin  []byte       // the SHA-256 of tcp's certificate, which offers name
	id      string
	key     []byte
	machine string

	// mu serializes the changes to routes and conns, which each call
	// reads without it: the maps and the list are replaced whole.
	mu       sync.Mutex
	routes   atomic.Pointer[map[string]map[string]route.Endpoint] // guest -> its proto services -> where their calls go
	conns    atomic.Pointer[[]*serverConn]                        // the open connections
	stopping bool
	offering atomic.Bool // offers name the socket: until StopServing begins

	// Calls read from several connections at once reach their guests in
	// the order they were sent (see inOrder): omu guards held, the calls
	// read and not yet handed over, and moved, closed and made anew
	// whenever a call is held or a connection deals with a frame while
	// a reader waits.
	omu     sync.Mutex
	held    []*heldCall
	moved   chan struct{}
	waiters atomic.Int32  // readers waiting in inOrder: changed with omu held, read without it
	wait    time.Duration // orderWait, but in tests that must not depend on the scheduler

	helloWait time.Duration // how long a new connection has to say hello: offerTimeout, shorter in tests; mu guards it

	// The connections accepted that have not yet been welcomed, which mu
	// guards: they are not in conns until their hello is, so that a flood
	// of them (anyone on the network may reach the TCP listener) changes
	// nothing for the callers' calls (inOrder looks at conns). Past
	// maxUnwelcomed of them, a new connection is closed at once.
	unwelcomed   map[*serverConn]struct{}
	maxUnwelcome int

	refusals refusalLog // the peers refused, said on the process's log

	// version is the direct protocol's version this replica speaks
	// (Network.version), and label its name in its offers; otherSaid,
	// the callers of another version it has said so of.
	version   int
	label     string
	otherSaid saidOnce
}

// maxUnwelcomed is how many accepted connections may wait to say hello at
// once: a caller says hello as soon as it connects, so the few that wait
// wait microseconds. Each one waiting holds a goroutine and a file
// descriptor, no buffers, for helloWait at most.
const maxUnwelcomed = 1024

// maxHello bounds a hello frame, which comes before the peer has shown it
// is one of the app's callers: two names and a token. A larger one is
// refused before anything is allocated for it.
const maxHello = 4 << 10

// heldCall is a call read from a connection, ready for its guest.
type heldCall struct {
	conn  *serverConn
	guest string
	local route.Endpoint
	ev    abi.Event
	dc    directCaller // where its reply goes: part of the call, not an allocation of its own
	sent  int64        // when its caller sent it (Unix ns): calls on one machine share a clock
	done  bool         // handed to the guest
}

// orderWait bounds how long a call waits for the calls of other
// connections that arrived with it. The wait ends as soon as their readers
// have taken those calls, which takes microseconds; the bound is only for
// a reader that cannot go on (a frame cut short by its sender), and it is
// generous because on a machine whose cores are all busy a reader's
// goroutine may wait milliseconds for a thread: a shorter bound let a
// relayed call overtake the call made before it there.
const orderWait = 20 * time.Millisecond

// socketDir is the directory of a process's socket: the one its
// supervisor made for it (which the supervisor removes when the process
// ends), or, without one, a new one in the temporary directory, named so
// that the next process to make one removes it if this one is killed
// before it can.
func socketDir(own string) (string, error) {
	if own == "" {
		return tempdir.Make(tempdir.Direct)
	}
	return own, nil
}

// listenDirect opens the socket in a directory of its own, readable only
// by this user, and with a direct host a TCP port of its own there. An
// error leaves the process without direct calls, on NATS; one of the TCP
// listener's only without those from other machines (the supervisor
// listened there once before it started the children, see
// CheckDirectHost).
func listenDirect(n *Network) (*directServer, error) {
	dir, err := socketDir(n.sockets)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", filepath.Join(dir, "s"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	var tcp net.Listener
	var pin []byte
	if n.directHost != "" {
		if tcp, pin, err = listenRemote(n.directHost); err != nil {
			n.warnf("cannot listen at %s for direct calls from other machines (%v); those calls go through the NATS server", n.directHost, err)
		}
	}
	key := make([]byte, 32)
	rand.Read(key)
	s := &directServer{net: n, dir: dir, ln: ln, tcp: tcp, tcpPin: pin, id: nuid.Next(), key: key, machine: n.machine, moved: make(chan struct{}), wait: orderWait, helloWait: offerTimeout,
		unwelcomed: map[*serverConn]struct{}{}, maxUnwelcome: maxUnwelcomed, version: n.version, label: n.label}
	s.refusals.warnf = n.warnf
	s.routes.Store(&map[string]map[string]route.Endpoint{})
	s.conns.Store(&[]*serverConn{})
	s.offering.Store(true)
	go s.accept(ln, false)
	if tcp != nil {
		go s.accept(tcp, true)
	}
	return s, nil
}

// serve has calls for services reach local, the guest's endpoint: again
// with a new one when the guest is restarted in this process.
func (s *directServer) serve(guest string, services []string, local route.Endpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	routes := maps.Clone(*s.routes.Load())
	m := maps.Clone(routes[guest])
	if m == nil {
		m = map[string]route.Endpoint{}
	}
	for _, svc := range services {
		m[svc] = local
	}
	routes[guest] = m
	s.routes.Store(&routes)
}

// route is where calls of guest for service svc go; nil when guest serves
// no such service here.
func (s *directServer) route(guest, svc string) route.Endpoint {
	return (*s.routes.Load())[guest][svc]
}

// serves reports whether calls for guest come here.
func (s *directServer) serves(guest string) bool {
	_, ok := (*s.routes.Load())[guest]
	return ok
}

// addConn and dropConn change the open connections; mu is held.
func (s *directServer) addConn(c *serverConn) {
	s.conns.Store(new(append(slices.Clone(*s.conns.Load()), c)))
}

func (s *directServer) dropConn(c *serverConn) {
	conns := *s.conns.Load()
	if i := slices.Index(conns, c); i >= 0 {
		s.conns.Store(new(slices.Delete(slices.Clone(conns), i, i+1)))
	}
}

// token is what identity who presents to call guest here.
func (s *directServer) token(guest, who string) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(guest))
	h.Write([]byte{0})
	h.Write([]byte(who))
	return h.Sum(nil)
}

// offer is the answer to a request for an offer of guest whose reply goes
// to reply, from a process of the direct protocol's version: nil when the
// reply subject names no identity of the app, or once the replica is
// stopping (stopOffers), when the socket is about to close and would only
// send the caller there for a goaway or a refusal. To a caller of another
// version it offers no way to connect, and says so once: its calls come
// through the NATS server. (A process of version 1 takes an offer without
// an address for one of a replica that serves over NATS only, and asks
// no more often for that.)
func (s *directServer) offer(guest, reply string, version int) []byte {
	if !s.offering.Load() {
		return nil // stopping: callers stay on NATS, or go to other replicas
	}
	who, ok := strings.CutPrefix(reply, s.net.subj.inbox(""))
	if !ok {
		return nil
	}
	who, _, _ = strings.Cut(who, ".")
	if who == "" {
		return nil
	}
	o := directOffer{Guest: guest, Replica: s.id, Machine: s.machine, Who: who, Version: s.version, Label: s.label, Builds: s.net.buildsOf(guest)}
	if version != s.version {
		key := who + "/" + strconv.Itoa(version)
		if s.otherSaid.first(key) {
			s.net.warnf("%s: its calls to %s come through the NATS server", speaksOther(who, version, s.version), guest)
		}
		b, _ := json.Marshal(o)
		return b
	}
	o.Addr, o.Token = s.ln.Addr().String(), s.token(guest, who)
	if s.tcp != nil {
		o.TCP, o.TCPCert = s.tcp.Addr().String(), s.tcpPin
	}
	b, _ := json.Marshal(o)
	return b
}

// accept takes the connections of ln: callers on other machines when
// remote (the TCP listener), on this one otherwise.
func (s *directServer) accept(ln net.Listener, remote bool) {
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			// Out of file descriptors, say, for a flood of connections
			// that never say hello: they are closed within helloWait, so
			// wait and take connections again, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		sc := &serverConn{srv: s, c: c, acked: make(chan struct{}), remote: remote}
		if sys, ok := c.(syscall.Conn); ok && !remote { // inOrder asks only local connections
			sc.raw, _ = sys.SyscallConn()
		}
		sc.idle.Store(true) // no call can come before its hello is welcomed
		s.mu.Lock()
		if s.stopping {
			s.mu.Unlock()
			c.Close()
			continue
		}
		if len(s.unwelcomed) >= s.maxUnwelcome {
			s.mu.Unlock()
			peer := peerOf(c) // while the kernel still says
			c.Close()
			s.refusals.add(peer, fmt.Sprintf("%d connections are waiting to say hello already, the most it takes at once: this one was closed unread (its callers' calls go through the NATS server meanwhile)", s.maxUnwelcome))
			continue
		}
		s.unwelcomed[sc] = struct{}{}
		sc.helloWait = s.helloWait
		s.mu.Unlock()
		go sc.run()
	}
}

// stopOffers answers the requests for offers from now on with none.
func (s *directServer) stopOffers() { s.offering.Store(false) }

// stop takes no new connections and tells every connection to send no new
// calls; it returns once each has acknowledged (every call it sent before
// is then with its guest), has closed, or after drainTimeout.
func (s *directServer) stop() {
	s.stopOffers()
	s.mu.Lock()
	s.stopping = true
	conns := *s.conns.Load() // replaced, never changed in place
	s.mu.Unlock()
	s.closeListeners()
	for _, c := range conns {
		c.goaway()
	}
	timeout := time.NewTimer(drainTimeout)
	defer timeout.Stop()
	for _, c := range conns {
		select {
		case <-c.acked:
		case <-timeout.C:
			return
		}
	}
}

// close ends every connection and removes the socket.
func (s *directServer) close() {
	s.stopOffers()
	s.mu.Lock()
	s.stopping = true
	conns := *s.conns.Load()
	s.conns.Store(&[]*serverConn{})
	for c := range s.unwelcomed {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.closeListeners()
	for _, c := range conns {
		c.c.Close()
	}
	os.RemoveAll(s.dir)
}

func (s *directServer) closeListeners() {
	s.ln.Close()
	if s.tcp != nil {
		s.tcp.Close()
	}
}

// serverConn is one caller's connection to this process.
type serverConn struct {
	srv   *directServer
	c     net.Conn
	acked chan struct{} // closed on the caller's ack of a goaway, or when the connection ends

	wmu     sync.Mutex
	w       frameWriter
	goneOut bool // a goaway was sent
	ackOnce sync.Once

	raw      syscall.RawConn // to ask whether the socket holds unread bytes; nil when it cannot
	progress atomic.Uint64   // frames dealt with: calls held for their guest (inOrder) or answered, other frames handled
	idle     atomic.Bool     // its reader waits on the socket with nothing in hand
	lastSent int64           // owned by the reader: the latest sent time on this connection
	remote   bool            // from another machine (TCP): its calls are not ordered with others' (inOrder)

	helloWait time.Duration // how long it has to say hello

	// givenUp holds the calls its caller gave up (frameGiven), by their
	// ids on this connection: made at the first.
	givenUp atomic.Pointer[route.GivenUp]
}

// gaveUp notes the calls a frameGiven's body names as given up: those
// its guest has not taken yet are dropped unrun (route.Abandoner).
func (c *serverConn) gaveUp(body []byte) {
	g := c.givenUp.Load()
	if g == nil {
		g = new(route.GivenUp)
		c.givenUp.Store(g) // only the reader stores it
	}
	noteGiven(g, body)
}

// advance notes that c dealt with a frame, for inOrder's waiters: each
// frame once (a call inOrder held was counted there).
func (c *serverConn) advance() {
	c.progress.Add(1)
	// A waiter registers before it looks at progress again (inOrder), so
	// either it sees this frame counted or this sees it waiting.
	if c.srv.waiters.Load() > 0 {
		c.srv.omu.Lock()
		c.srv.wake()
		c.srv.omu.Unlock()
	}
}

// pending reports whether c has a frame it has not yet dealt with: in its
// reader's hands (read, or buffered, and not yet held) or still in the
// socket.
func (c *serverConn) pending() bool {
	return !c.idle.Load() || c.raw != nil && unread(c.raw)
}

func (c *serverConn) ack() { c.ackOnce.Do(func() { close(c.acked) }) }

func (c *serverConn) goaway() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.goneOut {
		c.goneOut = true
		if c.w.empty(frameGoaway) != nil {
			c.ack()
		}
	}
}

func (c *serverConn) run() {
	defer func() {
		c.idle.Store(true)
		c.advance() // it will deal with no more frames: none to wait for
		c.ack()
		c.c.Close()
		c.srv.mu.Lock()
		c.srv.dropConn(c)
		delete(c.srv.unwelcomed, c)
		c.srv.mu.Unlock()
	}()
	// A peer that says nothing, or too little, is not waited for: anyone
	// on the network may reach the TCP listener. Over TCP, the TLS
	// handshake comes first, within the same time.
	c.c.SetDeadline(time.Now().Add(c.helloWait))
	guest, who, why := c.hello()
	if why != "" {
		c.srv.mu.Lock()
		closing := c.srv.stopping // its connections closed: nothing to say of them
		c.srv.mu.Unlock()
		if !closing {
			c.srv.refusals.add(peerOf(c.c), why)
		}
		return
	}
	c.c.SetDeadline(time.Time{})
	// Welcomed: its buffers, and a place among the connections whose calls
	// are ordered (inOrder) and told to go away (stop).
	r := bufio.NewReaderSize(c.c, 32<<10)
	c.wmu.Lock()
	c.w = frameWriter{bufio.NewWriterSize(c.c, 32<<10)}
	c.wmu.Unlock()
	c.srv.mu.Lock()
	if c.srv.stopping {
		c.srv.mu.Unlock()
		return // its caller goes through the NATS server, or to another replica
	}
	delete(c.srv.unwelcomed, c)
	c.srv.addConn(c)
	c.srv.mu.Unlock()
	c.wmu.Lock()
	err := c.w.empty(frameWelcome)
	c.wmu.Unlock()
	if err != nil {
		return
	}
	for {
		c.idle.Store(r.Buffered() == 0)
		kind, body, err := readFrame(r)
		c.idle.Store(false)
		if err != nil {
			return
		}
		switch kind {
		case frameCall, frameMovable:
			if c.call(guest, who, body, kind == frameMovable) {
				continue // counted as it was held
			}
		case frameAck:
			c.ack()
		case frameGiven:
			c.gaveUp(body)
		default:
			return // not a caller's frame: a broken peer
		}
		c.advance()
	}
}

// hello reads the connection's first frame, a caller's hello, read as it
// comes (no buffer reads past it) and allocated only once its length is
// one a hello may have: the guest it calls and who it is, or why the
// connection is refused (the peer is told why when it presented itself,
// and the process's log says so in any case).
func (c *serverConn) hello() (guest, who, why string) {
	var h [5]byte
	if n, err := io.ReadFull(c.c, h[:]); err != nil {
		switch {
		case n == 0 && errors.Is(err, io.EOF):
			return "", "", "it closed the connection without a word"
		case errors.Is(err, io.ErrUnexpectedEOF):
			return "", "", "it closed the connection in the middle of its first frame"
		case isTimeout(err):
			return "", "", fmt.Sprintf("it sent no hello within %s", c.helloWait)
		}
		return "", "", fmt.Sprintf("reading its hello: %v", err)
	}
	size, kind := binary.BigEndian.Uint32(h[:4]), frameKind(h[4])
	switch {
	case size == 0 || size-1 > maxHello:
		return "", "", fmt.Sprintf("its first bytes, %q, say a frame of %d bytes, and a hello is at most %d: it is no parigot caller (or one of another version)", h[:], size, maxHello)
	case kind != frameHello:
		return "", "", fmt.Sprintf("its first frame, of kind %d, is not a hello: it is no parigot caller (or one of another version)", kind)
	}
	body := make([]byte, size-1)
	if _, err := io.ReadFull(c.c, body); err != nil {
		switch {
		case isTimeout(err):
			return "", "", fmt.Sprintf("it sent only part of its hello within %s", c.helloWait)
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			return "", "", "it closed the connection in the middle of its hello"
		}
		return "", "", fmt.Sprintf("reading its hello: %v", err)
	}
	hf, err := parseHello(body)
	guest, who = hf.guest, hf.who
	token := hf.token
	switch {
	case err != nil:
		why = "its hello is malformed"
		c.refuse(why + ": it is no parigot caller (or one of another version)")
	case hf.version != c.srv.version:
		// Offers say the replica's version, and a caller connects only to
		// one of its own: this one took another replica's offer, or
		// none. (A hello of a later version names no one this process
		// can read.)
		peer := who
		if peer == "" {
			peer = "the caller"
		}
		why = speaksOther(peer, hf.version, c.srv.version) + ": it may not connect directly"
		c.refuse(fmt.Sprintf("this replica speaks direct protocol v%d, the caller v%d: its calls go through the NATS server", c.srv.version, hf.version))
	case !c.srv.serves(guest):
		why = fmt.Sprintf("%s asked for guest %q, which this process does not serve", who, guest)
		c.refuse(fmt.Sprintf("%s may not call service %s: only a guest whose requires lists it may, with the token the service offered it", who, guest))
	case !hmac.Equal(token, c.srv.token(guest, who)):
		why = fmt.Sprintf("%s presented a token that this replica did not offer it for guest %s", who, guest)
		c.refuse(fmt.Sprintf("%s may not call service %s: only a guest whose requires lists it may, with the token the service offered it", who, guest))
	}
	return guest, who, why
}

// refuse tells the peer of an unwelcome connection why, in a refused
// frame, written past no buffer of the connection's own.
func (c *serverConn) refuse(msg string) {
	w := frameWriter{bufio.NewWriterSize(c.c, 64)}
	w.refused(msg)
}

// isTimeout reports whether err is a deadline's.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// call hands one call to its guest, or answers it with why not: a
// movable one that the guest cannot take (see heldCall.deliver) goes back
// to its caller untaken. It reports whether inOrder held the call, which
// counts it as dealt with.
func (c *serverConn) call(guest, who string, body []byte, movable bool) (held bool) {
	cf, err := parseCall(body)
	id, timeout, sent, method, traceparent, header, payload := cf.id, cf.timeout, cf.sent, cf.method, cf.tparent, cf.header, cf.payload
	if err != nil {
		c.reply(id, abi.ErrorEvent(id, abi.CodeInvalidArgument, err.Error()))
		return false
	}
	svc, _, _ := strings.Cut(method, "/")
	// Looked up for each call: a guest restarted in this process serves
	// from a new endpoint (see directServer.serve).
	local := c.srv.route(guest, svc)
	if local == nil {
		c.reply(id, abi.ErrorEvent(id, abi.CodeInvalidArgument, fmt.Sprintf("a call to guest %s must name a method of one of its services", guest)))
		return false
	}
	if code, why := checkCall(svc, method, payload); code != abi.CodeOK {
		c.reply(id, abi.ErrorEvent(id, code, why))
		return false
	}
	// Its caller may give it up (frameGiven), before its deadline or,
	// from another machine, once it passed: the host asks before its
	// guest takes it (directCaller.Abandoned).
	ev := abi.Event{Kind: abi.KindCall, Method: method, Payload: payload, Abandonable: true}
	ev.SetHeader(header)
	if timeout > 0 {
		// Over a Unix socket, the caller's clock is this machine's: the
		// time the call sat in the socket (a replica stopped, then
		// resumed) counts, and a call whose caller has given up is
		// dropped unrun. Over TCP, the caller says it gave the call up.
		var sentHere int64
		if !c.remote {
			sentHere = sent
		}
		ev.Deadline = callDeadline(time.Now().UnixNano(), timeout, sentHere)
	}
	if traceparent != "" {
		ev.Trace, _ = abi.ParseTraceparent(traceparent)
	}
	// A connection's calls keep their order, whatever its sender's clock.
	c.lastSent = max(c.lastSent, sent)
	hc := &heldCall{conn: c, guest: guest, local: local, ev: ev, dc: directCaller{conn: c, id: id, name: who, movable: movable}, sent: c.lastSent}
	if c.remote {
		// Its sender's clock is not this machine's: its send time says
		// nothing of the order of other connections' calls.
		hc.deliver()
		return false
	}
	return c.srv.inOrder(hc)
}

// deliver hands hc to its guest, or answers it with why not. A movable
// call that the guest refuses (it is stalled, ended or full) never reached
// it: its caller sends it to another replica.
func (hc *heldCall) deliver() {
	hc.done = true
	// The guest keeps &hc.dc until it replies, and with it hc: not the
	// call's payload (up to 4 MiB), which the guest has its own use of.
	ev := hc.ev
	hc.ev = abi.Event{}
	switch r := hc.local.Deliver(ev, &hc.dc); {
	case r == route.Accepted:
	case hc.dc.movable:
		hc.conn.untaken(hc.dc.id)
	default:
		hc.conn.reply(hc.dc.id, route.Refuse(r, hc.dc.id, hc.guest))
	}
}

// inOrder hands hc to its guest after the calls sent before it that came
// in on other connections from this machine at the same moment: those
// that the other connections' readers have read, or are about to (their
// sockets hold unread bytes), for up to orderWait. Connections from other
// machines (TCP) are not waited for, and their calls do not come here:
// their send times are of other clocks. Over NATS, one connection to the
// server keeps calls in the order they were sent; over direct
// connections the readers of two sockets that became readable together
// run in whatever order the scheduler picks, and a call made after
// another (a relay of it) could overtake it.
//
// It reports whether it held hc, counting it as dealt with for the other
// readers' inOrder (a call handed over at once is counted by its reader).
// Its common cases take no lock but omu and allocate nothing.
func (s *directServer) inOrder(hc *heldCall) (held bool) {
	conns := *s.conns.Load()
	s.omu.Lock()
	defer s.omu.Unlock()
	if len(conns) <= 1 && len(s.held) == 0 { // hc's connection alone
		hc.deliver()
		return false
	}
	i := len(s.held)
	for i > 0 && s.held[i-1].sent > hc.sent {
		i--
	}
	s.held = slices.Insert(s.held, i, hc)
	hc.conn.progress.Add(1)
	s.wake()
	// The connections with a frame not yet taken apart, and how far each
	// was: each is waited for until it has held (or dealt with) one more.
	var room [8]awaited
	waiting := room[:0]
	for _, c := range conns {
		if c != hc.conn && !c.remote && c.pending() {
			waiting = append(waiting, awaited{c, c.progress.Load()})
		}
	}
	var deadline <-chan time.Time // made only when there is something to wait for
	for !hc.done && len(waiting) > 0 {
		if deadline == nil {
			t := time.NewTimer(s.wait)
			defer t.Stop()
			deadline = t.C
		}
		moved := s.moved
		s.waiters.Add(1)
		// Looked at again once registered: a frame counted before then
		// woke no one (see advance).
		if waiting = stillWaiting(waiting); len(waiting) == 0 {
			s.waiters.Add(-1)
			break
		}
		s.omu.Unlock()
		select {
		case <-moved:
		case <-deadline:
			waiting = waiting[:0]
		}
		s.omu.Lock()
		s.waiters.Add(-1)
		waiting = stillWaiting(waiting)
	}
	if hc.done {
		return true // another reader handed it over, in order
	}
	for _, h := range s.held {
		h.deliver()
	}
	clear(s.held) // the calls handed over, payloads and all, are not kept alive
	s.held = s.held[:0]
	s.wake() // the readers whose calls went with it
	return true
}

// awaited is a connection inOrder waits for, and its progress then.
type awaited struct {
	c *serverConn
	n uint64
}

// stillWaiting is waiting without the connections that have dealt with a
// frame since.
func stillWaiting(waiting []awaited) []awaited {
	return slices.DeleteFunc(waiting, func(w awaited) bool { return w.c.progress.Load() > w.n })
}

// wake tells inOrder's waiters that something moved; omu is held.
func (s *directServer) wake() {
	if s.waiters.Load() == 0 {
		return
	}
	close(s.moved)
	s.moved = make(chan struct{})
}

// reply writes a reply to its caller. A caller that does not read it
// within replyWriteTimeout (a stopped or hostile process) loses its
// connection, and the calls it has in flight on it (it is told so by
// their end: unavailable), rather than hold the service, which waits
// here, from its other callers. A caller that is gone is told nothing.
func (c *serverConn) reply(id uint64, ev abi.Event) {
	c.wmu.Lock()
	c.c.SetWriteDeadline(time.Now().Add(replyWriteTimeout))
	err := c.w.reply(id, ev.Code, ev.Payload)
	c.c.SetWriteDeadline(time.Time{}) // none for the connection's other frames
	c.wmu.Unlock()
	if err != nil {
		c.c.Close()
	}
}

// untaken hands a movable call back to its caller, which sends it to
// another replica; written as a reply is.
func (c *serverConn) untaken(id uint64) {
	c.wmu.Lock()
	c.c.SetWriteDeadline(time.Now().Add(replyWriteTimeout))
	err := c.w.untaken(id)
	c.c.SetWriteDeadline(time.Time{})
	c.wmu.Unlock()
	if err != nil {
		c.c.Close()
	}
}

// replyWriteTimeout bounds how long a service waits for a caller to take
// a reply off a direct connection: far longer than a caller's reading
// ever takes (its process reads each connection on a goroutine of its
// own), far shorter than what the service's other callers would wait.
const replyWriteTimeout = 2 * time.Second

// writeBound is how long a call's guest may wait to write the call on a
// direct connection: until its deadline (timeout, nanoseconds; 0 for
// none), at least 100ms, at most 10s.
func writeBound(timeout int64) time.Duration {
	if timeout <= 0 {
		return 10 * time.Second
	}
	return min(max(time.Duration(timeout), 100*time.Millisecond), 10*time.Second)
}

// directCaller is where the reply to a call that came over a direct
// connection goes. A movable call's (route.Mover) may instead be handed
// back untaken, once, for its caller to send to another replica.
type directCaller struct {
	conn    *serverConn
	id      uint64
	name    string // the caller's identity, which its token proved
	movable bool   // its caller knows another replica: frameMovable
}

func (d *directCaller) Deliver(ev abi.Event, _ route.Endpoint) route.Refusal {
	d.conn.reply(d.id, ev)
	return route.Accepted
}
func (d *directCaller) Movable() bool { return d.movable }
func (d *directCaller) Moved()        { d.conn.untaken(d.id) }

// Abandoned implements route.Abandoner: the caller said it gave the call
// up (frameGiven).
func (d *directCaller) Abandoned(uint64) bool {
	g := d.conn.givenUp.Load()
	return g != nil && g.Has(d.id)
}

func (d *directCaller) GuestName() string            { return d.name }
func (d *directCaller) MethodTimeout() time.Duration { return 0 }

// CheckDirectHost tells what is wrong with host as Options.DirectHost: it
// must be an IP address or a host name of this machine, without a port
// (each child listens on a port of its own), that other machines can
// reach (not an unspecified address such as 0.0.0.0), and this process
// must be able to listen there.
func CheckDirectHost(host string) error {
	ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	switch {
	case host == "":
		return errors.New("it is empty: give an address of this machine that the app's other machines reach, e.g. its LAN IP")
	case ip == nil && strings.Contains(host, ":"):
		return errors.New("give an address without a port: each service listens on a port of its own there")
	case ip == nil && !hostName(host):
		return errors.New("it is neither an IP address nor a host name")
	case ip != nil && ip.IsUnspecified():
		return errors.New("it is the unspecified address, which no other machine can dial: give one of this machine's addresses, e.g. its LAN IP")
	}
	ln, err := listenTCP(host)
	if err != nil {
		return fmt.Errorf("cannot listen there (%w): give an address of this machine", err)
	}
	ln.Close()
	return nil
}

// listenTCP listens on a port of its own at host (see CheckDirectHost).
func listenTCP(host string) (net.Listener, error) {
	return net.Listen("tcp", net.JoinHostPort(strings.Trim(host, "[]"), "0"))
}

// listenRemote is the TLS listener for callers on other machines at host,
// and the pin of its certificate, or why it cannot listen there (the
// replica is then reached through NATS from other machines).
func listenRemote(host string) (net.Listener, []byte, error) {
	cert, pin, err := replicaCert()
	if err != nil {
		return nil, nil, fmt.Errorf("making its certificate: %w", err)
	}
	ln, err := listenTCP(host)
	if err != nil {
		return nil, nil, err
	}
	return listenTLS(ln, cert), pin, nil
}

// hostName reports whether s has the form of a DNS host name.
func hostName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}
