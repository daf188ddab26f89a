package manifest

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
)

// ErrNoCertificate is why a ca_file cannot be used that holds no
// certificate: a key, a certificate request, or nothing in PEM at all.
var ErrNoCertificate = errors.New("it holds no PEM certificate (a block that starts -----BEGIN CERTIFICATE-----)")

// CAPool returns the roots a request to an endpoint whose ca_file is file
// (an absolute path) trusts: the system's, and the certificates of file.
// Its error says what is wrong with file: fs.ErrNotExist, ErrNoCertificate,
// or a certificate that does not parse, each wrapped with the path.
func CAPool(file string) (*x509.CertPool, error) {
	certs, err := readCAFile(file)
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

// readCAFile returns the certificates of the PEM file file, which has at
// least one; blocks of other types (a key beside them) are skipped.
func readCAFile(file string) ([]*x509.Certificate, error) {
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

// caFileProblem is the summary and detail of a diagnostic of a CA file
// that readCAFile refused with err: where says whose file it is (the
// ca_file of an http block, or the variable its ca_file_env names),
// written is the path as written there, and fix what to do besides
// pointing it at a usable file.
func caFileProblem(where, written, fix string, err error) (summary, detail string) {
	const what = "A CA file is a PEM file of the certificates of the authorities (CAs) that sign the endpoint's certificate (for a test's TLS server, its own certificate), trusted for the endpoint's requests besides the machine's own."
	switch {
	case errors.Is(err, fs.ErrNotExist):
		summary, detail = "CA file not found", fmt.Sprintf("%s names %q, which does not exist (%v).", where, written, err)
	case errors.Is(err, ErrNoCertificate):
		summary, detail = "No certificate in CA file", fmt.Sprintf("%s names %q, and %v.", where, written, ErrNoCertificate)
	default:
		summary, detail = "Cannot read CA file", fmt.Sprintf("%s names %q: %v.", where, written, err)
	}
	return summary, detail + " " + what + " " + fix
}

// decodeCAFile reads an http block's ca_file: a path under the app
// directory, to a PEM file with a certificate, checked now as the
// manifest's other files are.
func (d *decoder) decodeCAFile(h *HTTP, attr *hcl.Attribute) {
	h.CARange = attr.Expr.Range()
	s, ok := d.str(attr, `ca_file = "certs/internal-ca.pem"`)
	if !ok || !d.checkAppPath("ca_file", s, h.CARange, "ca_file = %q", "certs/internal-ca.pem") {
		return
	}
	file := filepath.Join(d.app.Dir, filepath.FromSlash(s))
	if _, err := readCAFile(file); err != nil {
		summary, detail := caFileProblem(fmt.Sprintf("The ca_file of http %q", h.Name), s, "Fix the path (relative to the app directory), or write the file.", err)
		d.errf(h.CARange, summary, "%s", detail)
		return
	}
	h.CAFile = file
}

// EndpointCAFile is the CA file h's requests trust in this run, an
// absolute path, or "" for the system's roots alone: the value of its
// ca_file_env variable when lookup finds it set (absolute, or relative to
// the app directory dir), else its ca_file. A file from the environment
// that is missing or holds no certificate is a diagnostic at ca_file_env.
func (h *HTTP) EndpointCAFile(dir string, lookup func(string) (string, bool)) (string, *hcl.Diagnostic) {
	if h.CAFileEnv == "" {
		return h.CAFile, nil
	}
	v, ok := lookup(h.CAFileEnv)
	if !ok || v == "" {
		return h.CAFile, nil
	}
	file := v
	if !filepath.IsAbs(file) {
		file = filepath.Join(dir, file)
	}
	if _, err := readCAFile(file); err != nil {
		summary, detail := caFileProblem(fmt.Sprintf("%s (the ca_file_env of http %q)", h.CAFileEnv, h.Name), v,
			fmt.Sprintf("Set %s to such a file (an absolute path, or one relative to the app directory), or unset it to use the endpoint's ca_file in %s, if it has one.", h.CAFileEnv, FileName), err)
		rng := h.CAEnvRange
		return "", &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &rng}
	}
	return file, nil
}
