package split

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/state"
)

// MaxPayload is the embedded server's message size limit: room for a 4 MiB
// payload and its headers.
const MaxPayload = 8 << 20

// Server is an embedded NATS server on loopback for one app. It knows one
// NATS user per guest, an nkey made for this run, whose permissions are the
// guest's grant (see grantFor): a client without one of the keys cannot
// connect, and a guest's key reaches only its own traffic.
type Server struct {
	ns      *server.Server
	app     string
	seeds   map[string]string // identity -> its nkey seed
	release func()            // gives the JetStream directory back at Shutdown (removes it, when ephemeral)
	hidden  func()            // removes how parigot state reaches the server (see state.Live); nil: nothing to remove
}

// State is what split mode needs to know of an app's stores and topics.
type State struct {
	Stores []state.StoreSpec
	Topics []state.TopicSpec
	// Dir holds the embedded server's JetStream files; Ephemeral keeps
	// the stores and topics in memory instead.
	Dir       string
	Ephemeral bool
	// Log, when set, is told JetStream's errors (see state.ServerOptions):
	// the supervisor's, which runs the server; a child's is not sent.
	Log func(string) `json:"-"`
}

// StartServer starts an embedded NATS server on 127.0.0.1 and a free port,
// with a user for each guest of app and for each name in extra (such as
// NativeCaller). The server knows only the users' public keys; Conn hands
// out the seeds.
func StartServer(app string, guests []*host.GuestSpec, extra ...string) (*Server, error) {
	return StartStateServer(app, guests, nil, extra...)
}

// StartStateServer is StartServer with JetStream, when st is not nil: the
// server keeps the app's stores and topics (in st.Dir, or in memory), which
// it makes before it returns, as the identity StateAdmin. StateClient
// among extra may then use every one of them.
func StartStateServer(app string, guests []*host.GuestSpec, st *State, extra ...string) (*Server, error) {
	names := slices.Clone(extra)
	if st != nil {
		names = append(names, StateAdmin)
	}
	for _, g := range guests {
		names = append(names, g.Name)
	}
	s := &Server{app: app, seeds: map[string]string{}}
	var users []*server.NkeyUser
	for _, name := range names {
		seed, pub, err := state.NewNkey()
		if err != nil {
			return nil, fmt.Errorf("making the NATS key of %s: %w", name, err)
		}
		s.seeds[name] = seed
		gr := grantFor(app, guests, name)
		if name == StateClient && st != nil {
			gr = stateClientGrant(app, st)
		}
		users = append(users, &server.NkeyUser{Nkey: pub, Permissions: gr.permissions()})
	}
	// parigot state joins the server while the run keeps the app's data
	// in a directory (see state.Live), as a user of its own that may only
	// read the stores and topics and redeliver dead letters.
	var inspector string
	if st != nil && !st.Ephemeral {
		seed, user, err := state.InspectorUser(app, st.Stores, st.Topics)
		if err != nil {
			return nil, err
		}
		inspector, users = seed, append(users, user)
	}
	opts := &server.Options{
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		Nkeys:      users,
		MaxPayload: MaxPayload,
		NoLog:      true,
		NoSigs:     true,
	}
	if st != nil {
		dir, release, err := state.JetStreamDir(st.Dir, st.Ephemeral)
		if err != nil {
			return nil, err
		}
		s.release = release
		opts.JetStream, opts.StoreDir, opts.ServerName = true, dir, "parigot"
	}
	if st != nil && st.Log != nil {
		opts.NoLog = false
	}
	ns, err := server.NewServer(opts)
	if err == nil && st != nil && st.Log != nil {
		ns.SetLoggerV2(state.ErrorLogger(st.Log), false, false, false)
	}
	if err != nil {
		s.releaseData()
		return nil, fmt.Errorf("starting the embedded NATS server: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		s.releaseData()
		return nil, fmt.Errorf("the embedded NATS server did not start within 30s")
	}
	s.ns = ns
	if st != nil {
		if err := s.makeState(app, st); err != nil {
			s.Shutdown()
			return nil, err
		}
	}
	if inspector != "" {
		var err error
		if s.hidden, err = state.PublishLive(opts.StoreDir, state.Live{PID: os.Getpid(), URL: s.URL(), Seed: inspector}); err != nil {
			s.Shutdown()
			return nil, err
		}
	}
	return s, nil
}

// makeState makes (or updates) the app's buckets and streams, as the one
// identity allowed to.
func (s *Server) makeState(app string, st *State) error {
	nc, err := s.Conn(StateAdmin).Connect(app, StateAdmin)
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := state.Open(ctx, nc, state.Options{App: app, Stores: st.Stores, Topics: st.Topics, Memory: st.Ephemeral, Create: true, Log: st.Log})
	if err != nil {
		return fmt.Errorf("making the stores and topics of %s: %w", app, err)
	}
	e.Close()
	return nil
}

func (s *Server) releaseData() {
	if s.release != nil {
		s.release()
	}
}

// URL is where clients connect.
func (s *Server) URL() string { return s.ns.ClientURL() }

// Conn is how the guest (or extra identity) name reaches the server, with
// its own key. A name the server does not know gets a Conn the server
// refuses.
func (s *Server) Conn(name string) Conn { return Conn{URL: s.URL(), Seed: s.seeds[name]} }

// Connector is how the gateways a process serves reach their server
// (Options.Serve, gateway.ServeSplit): it opens the connection of
// identity (GatewayIdentity) once the server answers; waiter names the
// process in what the wait says ("gateway public").
type Connector func(ctx context.Context, identity, waiter string) (*nats.Conn, error)

// Connector connects each identity with its own key: the embedded server
// runs in this process, so it is there, and nothing waits.
func (s *Server) Connector() Connector {
	return func(_ context.Context, identity, _ string) (*nats.Conn, error) {
		return s.Conn(identity).Connect(s.app, identity)
	}
}

// CallsCarried is how many messages the server has delivered on the call
// subject of the proto service service, to the replicas that subscribe to
// it now: the calls to it that went through the server, not over a direct
// connection, and the requests for offers of direct connections to it,
// which its callers make as they look for its replicas. It shows which
// way calls went, in a test of the app (package apptest).
func (s *Server) CallsCarried(service string) uint64 {
	cz, err := s.ns.Connz(&server.ConnzOptions{SubscriptionsDetail: true, Limit: 1 << 16})
	if err != nil {
		return 0
	}
	subject := subjects{s.app}.call(service)
	var n uint64
	for _, c := range cz.Conns {
		for _, sub := range c.SubsDetail {
			if sub.Subject == subject {
				n += uint64(sub.Msgs)
			}
		}
	}
	return n
}

// Shutdown stops the server; how parigot state reaches it goes first.
func (s *Server) Shutdown() {
	if s.hidden != nil {
		s.hidden()
	}
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
	s.releaseData()
}
