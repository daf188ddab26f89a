package manifest

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// HTTP is an http block: an external HTTP API that the guests listing it in
// uses may send requests to, at paths under URL and nowhere else (see
// docs/GUEST_API.md, "Calling an HTTP API").
type HTTP struct {
	Name string
	URL  string // absolute http or https URL, without query, fragment or userinfo
	// URLEnv, when set, names a variable of the environment parigot runs
	// in whose value, when it is set, replaces URL for the run: a test's
	// or a staging server, with no edit of parigot.hcl.
	URLEnv string
	// Timeout bounds each request to the endpoint: a request sent while
	// a method runs ends at the method's deadline when that comes first.
	// DefaultHTTPTimeout when the block gives none.
	Timeout time.Duration
	// CA is the block's ca_file and ca_file_env: a PEM file of the
	// certificates of the authorities its requests trust besides the
	// system's (a private CA, a test's server), for this endpoint alone.
	CA TLSFile
	// ClientCert and ClientKey are its client_cert and client_key (and
	// their *_env): the certificate its requests present when the
	// server asks for one (mutual TLS). Both or neither.
	ClientCert, ClientKey TLSFile
	DeclRange             hcl.Range
	URLRange              hcl.Range // the url attribute's value
	EnvRange              hcl.Range // the url_env attribute's value; zero when not given
}

// UseHTTP is the kind of a uses entry that names an http block: http.<name>.
const UseHTTP = "http"

var httpSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "url", Required: true}, {Name: "url_env"}, {Name: "timeout"}, {Name: "ca_file"}, {Name: "ca_file_env"},
	{Name: "client_cert"}, {Name: "client_cert_env"}, {Name: "client_key"}, {Name: "client_key_env"},
}}

// HTTPEndpoint returns the http block called name, or nil.
func (a *App) HTTPEndpoint(name string) *HTTP {
	for _, h := range a.HTTP {
		if h.Name == name {
			return h
		}
	}
	return nil
}

func (d *decoder) decodeHTTP(b *hcl.Block) {
	h := &HTTP{Name: b.Labels[0], Timeout: DefaultHTTPTimeout, DeclRange: b.DefRange, URLRange: b.DefRange,
		CA: TLSFile{Attr: "ca_file"}, ClientCert: TLSFile{Attr: "client_cert"}, ClientKey: TLSFile{Attr: "client_key"}}
	d.checkName(h.Name, b.LabelRanges[0], "http")
	content, diags := b.Body.Content(httpSchema)
	d.diags = append(d.diags, diags...)
	if attr := content.Attributes["url"]; attr != nil {
		h.URLRange = attr.Expr.Range()
		if s, ok := d.str(attr, `url = "https://api.example.com/v1"`); ok {
			if why := CheckEndpointURL(s); why != "" {
				d.errf(h.URLRange, "Invalid http url", "%s", why)
			} else {
				h.URL = s
			}
		}
	}
	if attr := content.Attributes["url_env"]; attr != nil {
		h.EnvRange = attr.Expr.Range()
		if s, ok := d.str(attr, `url_env = "PAYMENTS_URL"`); ok && d.checkEnvName(s, h.EnvRange, "url_env") {
			h.URLEnv = s
		}
	}
	if attr := content.Attributes["timeout"]; attr != nil {
		if t, ok := d.decodeDuration(attr, httpTimeoutBounds); ok {
			h.Timeout = t
		}
	}
	for _, f := range []*TLSFile{&h.CA, &h.ClientCert, &h.ClientKey} {
		if attr := content.Attributes[f.Attr]; attr != nil {
			d.decodeTLSFile(h, f, attr)
		}
		if attr := content.Attributes[f.Attr+"_env"]; attr != nil {
			d.decodeTLSEnv(f, attr)
		}
	}
	d.checkClientPair(h)
	if first := d.app.HTTPEndpoint(h.Name); first != nil {
		d.errf(b.LabelRanges[0], fmt.Sprintf("Duplicate http name %q", h.Name),
			"An http endpoint named %q is already declared at line %d. Rename one of them.", h.Name, first.DeclRange.Start.Line)
		return
	}
	d.app.HTTP = append(d.app.HTTP, h)
}

// CheckEndpointURL says what is wrong with s as the URL of an http block,
// or "" when nothing is: it must be an absolute http or https URL with a
// host, and no query, fragment or userinfo (a request's path goes under
// it, its query is the request's own, and credentials go in a header, from
// pass_env, never in parigot.hcl).
func CheckEndpointURL(s string) string {
	const example = ` For example "https://api.example.com/v1".`
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Sprintf("%q is not a URL (%v).%s", s, unwrapURLError(err), example)
	case u.User != nil:
		return fmt.Sprintf("%q holds a user name or password. Keep credentials out of parigot.hcl: pass them to the guest with pass_env and send them in a header.", u.Redacted())
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("%q is not an absolute http or https URL: requests go to an HTTP API, so the URL starts with https:// (or http://).%s", s, example)
	case u.Host == "" || u.Opaque != "":
		return fmt.Sprintf("%q names no host.%s", s, example)
	case u.RawQuery != "" || u.ForceQuery:
		return fmt.Sprintf("%q has a query. Each request gives its own query (HTTPRequest.Query); remove it from the url.", s)
	case u.Fragment != "" || strings.Contains(s, "#"):
		return fmt.Sprintf("%q has a fragment (#...), which HTTP never sends; remove it.", s)
	}
	return ""
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// EndpointURL is the URL h's requests go to in this run: the value of its
// url_env variable when lookup finds it set, else its url. A value from the
// environment that is not a valid URL is a diagnostic at url_env.
func (h *HTTP) EndpointURL(lookup func(string) (string, bool)) (string, *hcl.Diagnostic) {
	if h.URLEnv == "" {
		return h.URL, nil
	}
	v, ok := lookup(h.URLEnv)
	if !ok || v == "" {
		return h.URL, nil
	}
	if why := CheckEndpointURL(v); why != "" {
		rng := h.EnvRange
		return "", &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("%s holds no valid URL", h.URLEnv),
			Detail: fmt.Sprintf("http %q takes its URL from %s when it is set (url_env), and %s Set %s to the URL the endpoint should reach for this run, or unset it to use the url in %s.",
				h.Name, h.URLEnv, why, h.URLEnv, FileName),
			Subject: &rng,
		}
	}
	return v, nil
}

// BadHTTPEnv reports each http block whose url_env variable lookup finds
// set to something that is not a valid URL, or whose ca_file_env,
// client_cert_env or client_key_env variable it finds set to a file that
// cannot serve (EndpointTLS): checked once, before a run, as
// MissingPassEnv is.
func (a *App) BadHTTPEnv(lookup func(string) (string, bool)) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, h := range a.HTTP {
		if _, d := h.EndpointURL(lookup); d != nil {
			diags = append(diags, d)
		}
		_, d := h.EndpointTLS(a.Dir, lookup)
		diags = append(diags, d...)
	}
	return diags
}
