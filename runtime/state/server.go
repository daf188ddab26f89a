package state

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"parigot.dev/parigot/internal/tempdir"
)

// DefaultDataDir is where an app keeps its stores and topics, relative to
// the app's directory, unless parigot run --data says otherwise.
const DefaultDataDir = ".parigot/data"

// ServerOptions configures an embedded JetStream server.
type ServerOptions struct {
	// Dir holds JetStream's files. With Ephemeral it is a scratch
	// directory that nothing keeps.
	Dir string
	// Ephemeral keeps streams in memory: the stores and topics are gone
	// when the run ends (parigot run --ephemeral, tests).
	Ephemeral bool
	// Log, when set, is told the server's errors (a full disk, a file it
	// cannot write), each once (see ErrorLogger); unset, they are not said.
	Log func(string)
	// Live, when set (and not Ephemeral), lets parigot state commands of
	// other processes join the server while it runs: it listens on
	// loopback too, takes only the keys it makes (the process's own, and
	// InspectorUser's for these stores and topics), and says how to reach
	// it in Dir (see Live).
	Live *LiveOptions
}

// LiveOptions are the app whose stores and topics parigot state commands
// may read on a live server (ServerOptions.Live).
type LiveOptions struct {
	App    string
	Stores []StoreSpec
	Topics []TopicSpec
}

// Server is an embedded NATS server with JetStream. Its clients are in the
// same process (single mode, tests, benchmarks); with ServerOptions.Live,
// parigot state commands too, on loopback.
type Server struct {
	ns      *server.Server
	own     nkeys.KeyPair // with Live: the key of this process's connections
	release func()        // gives the data directory back (removes it, when ephemeral)
	hidden  func()        // with Live: removes how to reach the server; nil without
}

// StartServer starts an embedded JetStream server with its files in
// opts.Dir (created if missing).
func StartServer(opts ServerOptions) (*Server, error) {
	dir, release, err := JetStreamDir(opts.Dir, opts.Ephemeral)
	if err != nil {
		return nil, err
	}
	s := &Server{release: release}
	nopts := &server.Options{
		ServerName: "parigot",
		DontListen: true,
		JetStream:  true,
		StoreDir:   dir,
		MaxPayload: MaxMessage,
		NoLog:      opts.Log == nil,
		NoSigs:     true,
	}
	var inspector string // the seed of parigot state's key, with Live
	if opts.Live != nil && !opts.Ephemeral {
		if inspector, err = s.listen(nopts, opts.Live); err != nil {
			s.cleanup()
			return nil, err
		}
	}
	ns, err := server.NewServer(nopts)
	if err != nil {
		s.cleanup()
		return nil, fmt.Errorf("starting the embedded JetStream server: %w", err)
	}
	if opts.Log != nil {
		ns.SetLoggerV2(ErrorLogger(opts.Log), false, false, false)
	}
	go ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		s.cleanup()
		return nil, fmt.Errorf("the embedded JetStream server (data in %s) did not start within 30s", dir)
	}
	s.ns = ns
	if inspector != "" {
		s.hidden, err = PublishLive(dir, Live{PID: os.Getpid(), URL: ns.ClientURL(), Seed: inspector})
		if err != nil {
			s.Shutdown()
			return nil, err
		}
	}
	return s, nil
}

// listen has the server of opts listen on a free port of loopback, as
// well as in process, with two users: this process's connections, which
// may do anything, and parigot state's (InspectorUser), whose seed it
// returns.
func (s *Server) listen(opts *server.Options, live *LiveOptions) (inspector string, err error) {
	own, err := nkeys.CreateUser()
	if err != nil {
		return "", fmt.Errorf("making the key of the embedded JetStream server's own connections: %w", err)
	}
	pub, err := own.PublicKey()
	if err != nil {
		return "", err
	}
	inspector, user, err := InspectorUser(live.App, live.Stores, live.Topics)
	if err != nil {
		return "", err
	}
	s.own = own
	opts.DontListen, opts.Host, opts.Port = false, "127.0.0.1", server.RANDOM_PORT
	opts.Nkeys = []*server.NkeyUser{{Nkey: pub}, user}
	return inspector, nil
}

// JetStreamDir is where an embedded server keeps JetStream's files: dir,
// made if missing, and held for this run (a second run given the same
// directory is refused while the first holds it); or, when ephemeral (the
// streams are then in memory and the directory holds only the server's
// own records), a fresh directory, and dir is marked as the data
// directory of an app that runs with --ephemeral (see markEphemeral).
// release gives the directory back (and removes a fresh one, and the
// mark); the caller calls it once its server has stopped.
func JetStreamDir(dir string, ephemeral bool) (use string, release func(), err error) {
	if ephemeral {
		d, err := tempdir.Make(tempdir.JetStream)
		if err != nil {
			return "", func() {}, err
		}
		unmark := markEphemeral(dir)
		return d, func() { unmark(); os.RemoveAll(d) }, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("making the data directory: %w", err)
	}
	// A directory JetStream cannot write to would keep its server from
	// starting, said only after a wait and without why.
	if f, err := os.CreateTemp(dir, ".parigot-write-"); err != nil {
		return "", nil, fmt.Errorf("the data directory %s cannot be written to (%v): give a directory this user can write to with --data, or --ephemeral", dir, errors.Unwrap(err))
	} else {
		f.Close()
		os.Remove(f.Name())
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return "", nil, err
	}
	return dir, unlock, nil
}

// lockFile is the file, in a data directory, that a run holds it by, and
// pidFile the one that names the process holding it.
const (
	lockFile = ".parigot.lock"
	pidFile  = ".parigot.pid"
)

// MaxMessage is the embedded server's message size limit: room for a
// value of abi.MaxValue and its headers.
const MaxMessage = 2 << 20

// Connect opens a connection to the server, in process.
func (s *Server) Connect(name string) (*nats.Conn, error) {
	opts := []nats.Option{nats.InProcessServer(s.ns), nats.Name(name), nats.MaxReconnects(0)}
	if s.own != nil {
		pub, err := s.own.PublicKey()
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.Nkey(pub, s.own.Sign))
	}
	return nats.Connect("", opts...)
}

// Shutdown stops the server; its files stay, unless it was Ephemeral. A
// live server's file that says how to reach it goes first.
func (s *Server) Shutdown() {
	if s.hidden != nil {
		s.hidden()
	}
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
	s.cleanup()
}

func (s *Server) cleanup() { s.release() }

// ErrorLogger is a NATS server's logger that says its errors through say,
// as "JetStream: ...", each distinct one once (a full disk fails every
// write alike), and nothing else: a store's calls fail with their own
// codes, and this says why ("no space left on device").
func ErrorLogger(say func(string)) server.Logger {
	return &errorLogger{say: say, seen: map[string]bool{}}
}

type errorLogger struct {
	say  func(string)
	mu   sync.Mutex
	seen map[string]bool
}

func (l *errorLogger) Errorf(format string, v ...any) { l.once(fmt.Sprintf(format, v...)) }
func (l *errorLogger) Fatalf(format string, v ...any) { l.once(fmt.Sprintf(format, v...)) }
func (l *errorLogger) Noticef(string, ...any)         {}
func (l *errorLogger) Warnf(format string, v ...any) {
	if msg := fmt.Sprintf(format, v...); damaged(msg) {
		l.once(msg + ": what the file held past the damage is lost; restore the data directory from a backup if you have one")
	}
}
func (l *errorLogger) Debugf(string, ...any) {}
func (l *errorLogger) Tracef(string, ...any) {}

// damaged says whether a warning of JetStream's is of a file it found
// damaged (a bad disk, an edit by hand): it reads the file up to the
// damage and drops the rest, and says so only as a warning. Its other
// warnings (a slow operation, say) are not the app's concern.
func damaged(warning string) bool {
	w := strings.ToLower(warning)
	return strings.Contains(w, "corrupt") || strings.Contains(w, "checksum")
}

func (l *errorLogger) once(msg string) {
	l.mu.Lock()
	seen := l.seen[msg] || len(l.seen) >= maxLoggedErrors
	if !seen {
		l.seen[msg] = true
	}
	l.mu.Unlock()
	if !seen {
		l.say("JetStream: " + msg)
	}
}

// maxLoggedErrors bounds the distinct errors an ErrorLogger says.
const maxLoggedErrors = 100
