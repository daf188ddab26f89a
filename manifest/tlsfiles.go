package manifest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// TLSFiles are the files of an http block's TLS for one run: absolute
// paths, each "" when the block gives none.
type TLSFiles struct {
	// CAFile is a PEM file of the certificates of the authorities (CAs)
	// that requests to the endpoint trust besides the system's.
	CAFile string
	// ClientCert and ClientKey are the PEM certificate and private key
	// requests present when the server asks for one (mutual TLS): both
	// or neither.
	ClientCert, ClientKey string
}

// TLSFile is a file an http block names (ca_file, client_cert,
// client_key), which a variable of the environment (its *_env attribute)
// may replace for a run, as url_env does url.
type TLSFile struct {
	Attr     string    // "ca_file", "client_cert" or "client_key"
	File     string    // absolute; "" when the attribute is not given
	Env      string    // the variable of Attr+"_env"; "" when not given
	Range    hcl.Range // Attr's value; zero when not given
	EnvRange hcl.Range // Attr+"_env"'s value; zero when not given
}

// Why a file of an http block's TLS cannot be used, beside fs.ErrNotExist;
// errors.Is tells them apart.
var (
	ErrNoCertificate = errors.New("it holds no PEM certificate (a block that starts -----BEGIN CERTIFICATE-----)")
	ErrNoPrivateKey  = errors.New("it holds no PEM private key (a block that starts -----BEGIN PRIVATE KEY-----, or RSA or EC PRIVATE KEY)")
	ErrKeyMismatch   = errors.New("the private key is not the key of the certificate")
)

// tlsAttrs describes each file attribute of an http block: what its file
// is, for a diagnostic, and an example.
var tlsAttrs = map[string]struct{ noun, what, example string }{
	"ca_file": {"CA file", "A CA file is a PEM file of the certificates of the authorities (CAs) that sign the endpoint's certificate (for a test's TLS server, its own certificate), trusted for the endpoint's requests besides the machine's own.",
		"certs/internal-ca.pem"},
	"client_cert": {"client certificate", "A client certificate is a PEM file of the certificate (and any intermediates) that the endpoint's requests present when its server asks for one (mutual TLS), with the private key of client_key.",
		"certs/client.pem"},
	"client_key": {"client key", "A client key is a PEM file of the private key of the certificate of client_cert, which the endpoint's requests present when its server asks for one (mutual TLS). Keep it out of the repository: name it with client_key_env.",
		"certs/client-key.pem"},
}

// CAPool returns the roots a request to an endpoint whose CA file is file
// (an absolute path) trusts: the system's, and the certificates of file.
func CAPool(file string) (*x509.CertPool, error) {
	certs, err := readCerts(file)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool() // no system roots on this platform: the file's alone
	}
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// ClientCertificate returns the certificate, with its key, that a request
// presents when its server asks for one.
func ClientCertificate(certFile, keyFile string) (tls.Certificate, error) {
	if _, err := readCerts(certFile); err != nil {
		return tls.Certificate{}, err
	}
	if err := readKey(keyFile); err != nil {
		return tls.Certificate{}, err
	}
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil { // both parse: the key is not the certificate's
		return tls.Certificate{}, fmt.Errorf("%s and %s: %w (%v)", certFile, keyFile, ErrKeyMismatch, err)
	}
	return c, nil
}

// readCerts returns the certificates of the PEM file file, which has at
// least one; blocks of other types (a key beside them) are skipped.
func readCerts(file string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err // names the file
	}
	var certs []*x509.Certificate
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d does not parse: %w", file, len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: %w", file, ErrNoCertificate)
	}
	return certs, nil
}

// readKey checks that the PEM file file holds a private key that parses.
func readKey(file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return fmt.Errorf("%s: %w", file, ErrNoPrivateKey)
		}
		switch b.Type {
		case "PRIVATE KEY":
			_, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			_, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			_, err = x509.ParseECPrivateKey(b.Bytes)
		default:
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: the private key does not parse: %w", file, err)
		}
		return nil
	}
}

// check reports what is wrong with file as the file of f, or nil.
func (f *TLSFile) check(file string) error {
	if f.Attr == "client_key" {
		return readKey(file)
	}
	_, err := readCerts(file)
	return err
}

// problem is the summary and detail of a diagnostic of a file of f that
// check refused with err: where says whose file it is, written is the
// path as written there, and fix what to do besides pointing it at a
// usable file.
func (f *TLSFile) problem(where, written, fix string, err error) (summary, detail string) {
	a := tlsAttrs[f.Attr]
	switch {
	case errors.Is(err, fs.ErrNotExist):
		summary, detail = upperFirst(a.noun)+" not found", fmt.Sprintf("%s names %q, which does not exist (%v).", where, written, err)
	case errors.Is(err, ErrNoCertificate):
		summary, detail = "No certificate in "+a.noun, fmt.Sprintf("%s names %q, and %v.", where, written, ErrNoCertificate)
	case errors.Is(err, ErrNoPrivateKey):
		summary, detail = "No private key in "+a.noun, fmt.Sprintf("%s names %q, and %v.", where, written, ErrNoPrivateKey)
	case errors.Is(err, ErrKeyMismatch):
		summary, detail = "Client key does not match its certificate", fmt.Sprintf("%s names %q, and %v.", where, written, err)
	default:
		summary, detail = "Cannot read "+a.noun, fmt.Sprintf("%s names %q: %v.", where, written, err)
	}
	return summary, detail + " " + a.what + " " + fix
}

func upperFirst(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// decodeTLSFile reads a file attribute of http block h (attr.Name: one of
// tlsAttrs) into f: a path under the app directory, to a file checked now
// as the manifest's other files are.
func (d *decoder) decodeTLSFile(h *HTTP, f *TLSFile, attr *hcl.Attribute) {
	f.Range = attr.Expr.Range()
	example := tlsAttrs[f.Attr].example
	s, ok := d.str(attr, fmt.Sprintf("%s = %q", f.Attr, example))
	if !ok || !d.checkAppPath(f.Attr, s, f.Range, f.Attr+" = %q", example) {
		return
	}
	file := filepath.Join(d.app.Dir, filepath.FromSlash(s))
	if err := f.check(file); err != nil {
		summary, detail := f.problem(fmt.Sprintf("The %s of http %q", f.Attr, h.Name), s, "Fix the path (relative to the app directory), or write the file.", err)
		d.errf(f.Range, summary, "%s", detail)
		return
	}
	f.File = file
}

// decodeTLSEnv reads the *_env attribute of f.
func (d *decoder) decodeTLSEnv(f *TLSFile, attr *hcl.Attribute) {
	f.EnvRange = attr.Expr.Range()
	name := attr.Name
	if s, ok := d.str(attr, fmt.Sprintf("%s = %q", name, "PAYMENTS_"+strings.ToUpper(f.Attr))); ok && d.checkEnvName(s, f.EnvRange, name) {
		f.Env = s
	}
}

// checkClientPair reports an http block that names a client certificate
// without its key, or a key without its certificate, or (both in
// parigot.hcl) a key that is not the certificate's.
func (d *decoder) checkClientPair(h *HTTP) {
	cert, key := &h.ClientCert, &h.ClientKey
	certGiven, keyGiven := cert.Range != (hcl.Range{}) || cert.Env != "", key.Range != (hcl.Range{}) || key.Env != ""
	switch {
	case certGiven && !keyGiven:
		d.errf(cert.given(), "Client certificate without its key",
			"http %q presents a client certificate (mutual TLS), which goes with its private key: add client_key (or client_key_env), or remove the certificate.", h.Name)
	case keyGiven && !certGiven:
		d.errf(key.given(), "Client key without its certificate",
			"http %q has a client key (mutual TLS), which goes with its certificate: add client_cert (or client_cert_env), or remove the key.", h.Name)
	case cert.File != "" && key.File != "":
		if _, err := ClientCertificate(cert.File, key.File); err != nil {
			summary, detail := key.problem(fmt.Sprintf("The client_key of http %q", h.Name), filepath.ToSlash(mustRel(d.app.Dir, key.File)), "Name the key that goes with the certificate of client_cert.", err)
			d.errf(key.Range, summary, "%s", detail)
		}
	}
}

// given is where f is given: its attribute, else its *_env.
func (f *TLSFile) given() hcl.Range {
	if f.Range != (hcl.Range{}) {
		return f.Range
	}
	return f.EnvRange
}

// resolve is the file of f in this run, absolute: the value of its
// variable when lookup finds it set (absolute, or relative to the app
// directory dir), else File; with a diagnostic at the variable's
// attribute when that names no usable file.
func (f *TLSFile) resolve(h *HTTP, dir string, lookup func(string) (string, bool)) (string, *hcl.Diagnostic) {
	if f.Env == "" {
		return f.File, nil
	}
	v, ok := lookup(f.Env)
	if !ok || v == "" {
		return f.File, nil
	}
	file := v
	if !filepath.IsAbs(file) {
		file = filepath.Join(dir, file)
	}
	if err := f.check(file); err != nil {
		summary, detail := f.problem(fmt.Sprintf("%s (the %s_env of http %q)", f.Env, f.Attr, h.Name), v,
			fmt.Sprintf("Set %s to such a file (an absolute path, or one relative to the app directory), or unset it to use the endpoint's %s in %s, if it has one.", f.Env, f.Attr, FileName), err)
		rng := f.EnvRange
		return "", &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &rng}
	}
	return file, nil
}

// EndpointTLS is the TLS files of h in this run (see TLSFile), each from
// its *_env variable when lookup finds that set, else from parigot.hcl;
// with a diagnostic for each variable that names no usable file, and for
// a client certificate and key that do not go together.
func (h *HTTP) EndpointTLS(dir string, lookup func(string) (string, bool)) (TLSFiles, hcl.Diagnostics) {
	var out TLSFiles
	var diags hcl.Diagnostics
	for _, f := range []struct {
		spec *TLSFile
		dst  *string
	}{{&h.CA, &out.CAFile}, {&h.ClientCert, &out.ClientCert}, {&h.ClientKey, &out.ClientKey}} {
		file, d := f.spec.resolve(h, dir, lookup)
		if d != nil {
			diags = append(diags, d)
			file = f.spec.File
		}
		*f.dst = file
	}
	if diags.HasErrors() || (h.ClientCert.Env == "" && h.ClientKey.Env == "") {
		return out, diags // parigot.hcl's own pair was checked with it
	}
	key, cert := &h.ClientKey, &h.ClientCert
	rng := key.given() // where to report: the variable that was used, the key's first
	if out.ClientKey != key.File {
		rng = key.EnvRange
	} else if out.ClientCert != cert.File {
		rng = cert.EnvRange
	}
	switch {
	case out.ClientCert == "" && out.ClientKey == "":
	case out.ClientCert == "" || out.ClientKey == "":
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Client certificate and key do not go together",
			Detail:  fmt.Sprintf("For this run, http %q has a client certificate (%q) and a client key (%q), one of them missing: set both variables of client_cert_env and client_key_env, or neither.", h.Name, out.ClientCert, out.ClientKey),
			Subject: &rng})
	default:
		if _, err := ClientCertificate(out.ClientCert, out.ClientKey); err != nil {
			summary, detail := key.problem(fmt.Sprintf("For this run, the client key of http %q", h.Name), out.ClientKey, "Name the key that goes with the certificate.", err)
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &rng})
		}
	}
	return out, diags
}
