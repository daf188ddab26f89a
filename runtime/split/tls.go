package split

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"time"
)

// Direct connections between machines (TCP) are TLS 1.3, without a
// certificate authority: each replica that listens on TCP makes a key and
// a self-signed certificate of its own when it starts, and its offers
// carry the certificate's SHA-256 (directOffer.TCPCert). A caller accepts
// the connection only from the holder of that certificate's key. The
// offer reaches the caller over NATS, on the service's own call subject,
// so the pin is as trustworthy as the NATS connection that carried it:
// with NATS over TLS, nobody between the machines can read or change a
// direct call, nor pass for the replica. The caller is not known to TLS;
// its token, sent inside the encrypted connection, says who it is.

// replicaCert is a new key and self-signed certificate for a replica's
// TCP listener, and the pin its offers carry.
func replicaCert() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "parigot split-mode replica"},
		// Callers check the pin, not the dates (so another machine's clock
		// does not matter); these are for tools that show certificates.
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.AddDate(10, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pin := sha256.Sum256(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pin[:], nil
}

// listenTLS is ln with TLS 1.3 and cert: the listener a replica offers
// to other machines.
func listenTLS(ln net.Listener, cert tls.Certificate) net.Listener {
	return tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13})
}

// errNoPin is an offer of a TCP address without the certificate to expect
// there: the caller does not send its calls in clear, it stays on NATS.
var errNoPin = errors.New("the offer names no certificate for its TCP address")

// dialPinned connects to addr over TLS 1.3 and completes the handshake,
// accepting only the certificate whose SHA-256 is pin. The certificate is
// not checked against any authority or name: it is the one the replica
// offered, or the connection fails.
func dialPinned(addr string, pin []byte, timeout time.Duration) (net.Conn, error) {
	if len(pin) != sha256.Size {
		return nil, errNoPin
	}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS13,
		// No authority vouches for a replica's certificate: the pin below
		// is the whole check, made in VerifyConnection.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the replica presented no certificate")
			}
			if got := sha256.Sum256(cs.PeerCertificates[0].Raw); !bytes.Equal(got[:], pin) {
				return errors.New("the replica's certificate is not the one its offer named: another process answered at its address")
			}
			return nil
		},
	}
	return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", addr, cfg)
}
