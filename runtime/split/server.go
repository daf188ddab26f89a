package split

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// MaxPayload is the embedded server's message size limit: room for a 4 MiB
// payload and its headers.
const MaxPayload = 8 << 20

// Server is an embedded NATS server on loopback that only clients holding its
// token may use.
type Server struct {
	ns    *server.Server
	Token string
}

// StartServer starts an embedded NATS server on 127.0.0.1 and a free port,
// with a random token.
func StartServer() (*Server, error) {
	tok := make([]byte, 24)
	if _, err := rand.Read(tok); err != nil {
		return nil, err
	}
	opts := &server.Options{
		Host:          "127.0.0.1",
		Port:          server.RANDOM_PORT,
		Authorization: hex.EncodeToString(tok),
		MaxPayload:    MaxPayload,
		NoLog:         true,
		NoSigs:        true,
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
	return &Server{ns: ns, Token: opts.Authorization}, nil
}

// URL is where clients connect.
func (s *Server) URL() string { return s.ns.ClientURL() }

// Shutdown stops the server.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}
