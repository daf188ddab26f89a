package split

import (
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"parigot.dev/parigot/runtime/host"
)

// MaxPayload is the embedded server's message size limit: room for a 4 MiB
// payload and its headers.
const MaxPayload = 8 << 20

// Server is an embedded NATS server on loopback for one app. It knows one
// NATS user per guest, an nkey made for this run, whose permissions are the
// guest's grant (see grantFor): a client without one of the keys cannot
// connect, and a guest's key reaches only its own traffic.
type Server struct {
	ns    *server.Server
	seeds map[string]string // identity -> its nkey seed
}

// StartServer starts an embedded NATS server on 127.0.0.1 and a free port,
// with a user for each guest of app and for each name in extra (such as
// NativeCaller). The server knows only the users' public keys; Conn hands
// out the seeds.
func StartServer(app string, guests []*host.GuestSpec, extra ...string) (*Server, error) {
	names := slices.Clone(extra)
	for _, g := range guests {
		names = append(names, g.Name)
	}
	s := &Server{seeds: map[string]string{}}
	var users []*server.NkeyUser
	for _, name := range names {
		seed, pub, err := newNkey()
		if err != nil {
			return nil, fmt.Errorf("making the NATS key of %s: %w", name, err)
		}
		s.seeds[name] = seed
		users = append(users, &server.NkeyUser{Nkey: pub, Permissions: grantFor(app, guests, name).permissions()})
	}
	opts := &server.Options{
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		Nkeys:      users,
		MaxPayload: MaxPayload,
		NoLog:      true,
		NoSigs:     true,
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("starting the embedded NATS server: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("the embedded NATS server did not start within 10s")
	}
	s.ns = ns
	return s, nil
}

// newNkey makes a NATS user key: its seed (the secret) and public key.
func newNkey() (seed, pub string, err error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return "", "", err
	}
	defer kp.Wipe()
	raw, err := kp.Seed()
	if err != nil {
		return "", "", err
	}
	pub, err = kp.PublicKey()
	return string(raw), pub, err
}

// URL is where clients connect.
func (s *Server) URL() string { return s.ns.ClientURL() }

// Conn is how the guest (or extra identity) name reaches the server, with
// its own key. A name the server does not know gets a Conn the server
// refuses.
func (s *Server) Conn(name string) Conn { return Conn{URL: s.URL(), Seed: s.seeds[name]} }

// Shutdown stops the server.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}
