package manifest

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"parigot.dev/parigot/internal/suggest"
)

// DefaultListen is where a gateway listens when its block gives no listen.
const DefaultListen = "127.0.0.1:8080"

// Gateway is a gateway block: one address where clients outside the app
// (gRPC, gRPC-Web, Connect, REST over HTTP) call the services it lists.
type Gateway struct {
	Name string
	// Listen is the TCP address, host:port, as written; DefaultListen when
	// the block gives none. Port 0 picks a free port.
	Listen string
	// Services names the services (guests) whose proto services the
	// gateway serves: every proto service each implements, and nothing
	// else.
	Services       []string
	ServicesRanges []hcl.Range
	DeclRange      hcl.Range // the block header
	NameRange      hcl.Range // the block label
	ListenRange    hcl.Range // the listen attribute's value; the block header when not given
	// CORSOrigins are the web origins (scheme://host[:port], or "*" for
	// any) whose pages may call the gateway from a browser; none when the
	// block gives no cors_origins.
	CORSOrigins []string
	// Headers are the request headers the gateway passes on to the
	// methods it calls, as lowercase names; none when the block gives no
	// headers.
	Headers []string
}

// Gateway returns the gateway named name, or nil.
func (a *App) Gateway(name string) *Gateway {
	for _, g := range a.Gateways {
		if g.Name == name {
			return g
		}
	}
	return nil
}

func (d *decoder) decodeGateway(b *hcl.Block) {
	g := &Gateway{Name: b.Labels[0], Listen: DefaultListen, DeclRange: b.DefRange, NameRange: b.LabelRanges[0], ListenRange: b.DefRange}
	d.checkName(g.Name, g.NameRange, "gateway")
	dup := false
	for _, o := range d.app.Gateways {
		if o.Name == g.Name {
			dup = true
			d.errf(g.NameRange, fmt.Sprintf("Duplicate gateway name %q", g.Name),
				"A gateway named %q is already declared at line %d. Rename one of them, or list the services of both in one gateway.", g.Name, o.DeclRange.Start.Line)
		}
	}
	content, diags := b.Body.Content(gatewaySchema)
	d.diags = append(d.diags, diags...)
	if attr := content.Attributes["listen"]; attr != nil {
		g.ListenRange = attr.Expr.Range()
		if l, ok := d.str(attr, fmt.Sprintf("listen = %q", DefaultListen)); ok {
			if why := checkListen(l); why != "" {
				d.errf(g.ListenRange, "Invalid listen address",
					"%q %s. listen is a TCP address, host:port, for example listen = %q (the default), or \":8080\" for every interface.", l, why, DefaultListen)
				g.Listen = "" // no address, not the default: no other gateway's port is compared with it
			} else {
				g.Listen = l
			}
		}
	}
	if attr := content.Attributes["cors_origins"]; attr != nil {
		if origins, ranges, ok := d.strList(attr, `cors_origins = ["https://shop.example.com"]`); ok {
			for i, o := range origins {
				if why := checkOrigin(o); why != "" {
					d.errf(ranges[i], "Invalid CORS origin",
						"%q %s. An origin is a scheme and a host, with a port when it is not the scheme's own, and no path: for example \"https://shop.example.com\" or \"http://localhost:5173\"; \"*\" lets every page call the gateway.", o, why)
					continue
				}
				g.CORSOrigins = append(g.CORSOrigins, o)
			}
		}
	}
	if attr := content.Attributes["headers"]; attr != nil {
		g.Headers = d.gatewayHeaders(attr)
	}
	attr := content.Attributes["services"]
	if attr == nil {
		d.errf(b.DefRange, "Missing services",
			"A gateway needs services, the services clients outside the app may call through it, for example services = [service.orders].")
	} else {
		n := len(d.diags)
		g.Services, g.ServicesRanges = d.serviceRefs(attr, "served by a gateway",
			"programs answer no calls, so a gateway has nothing to call. services lists services only (service.<name>).", "orders")
		if len(g.Services) == 0 && !d.errorsSince(n) {
			d.errf(attr.Expr.Range(), "Empty services list",
				"List at least one service the gateway serves, for example services = [service.orders].")
		}
	}
	if !dup {
		d.app.Gateways = append(d.app.Gateways, g)
	}
}

// checkListen says what is wrong with a listen address, or "".
func checkListen(l string) string {
	host, port, err := net.SplitHostPort(l)
	if err != nil {
		return "is not host:port"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Sprintf("has port %q, which is not a number from 0 to 65535", port)
	}
	if host != "" && host != "localhost" && net.ParseIP(host) == nil {
		return fmt.Sprintf("has host %q, which is neither an IP address nor localhost", host)
	}
	return ""
}

// checkOrigin says what is wrong with a web origin of cors_origins, or "".
func checkOrigin(o string) string {
	if o == "*" {
		return ""
	}
	u, err := url.Parse(o)
	switch {
	case err != nil || u.Host == "":
		return "is not an origin"
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("has scheme %q, where browsers send http or https", u.Scheme)
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return "has more than a scheme, host and port (a browser's Origin header never carries a path, query or user)"
	}
	return ""
}

// gatewayHeaders decodes a gateway's headers: HTTP header names, each
// once, none that the gateway handles itself. It returns them lowercase.
func (d *decoder) gatewayHeaders(attr *hcl.Attribute) []string {
	names, ranges, ok := d.strList(attr, `headers = ["authorization"]`)
	if !ok {
		return nil
	}
	var out []string
	seen := map[string]int{} // lowercase name -> its line
	for i, n := range names {
		lower := strings.ToLower(n)
		if why := HeaderRefusal(lower); why != "" {
			d.errf(ranges[i], "Invalid header",
				"%q %s. headers lists the request headers the gateway passes on to the methods it calls, for example headers = [\"authorization\", \"x-request-id\"].", n, why)
			continue
		}
		if line, dup := seen[lower]; dup {
			d.errf(ranges[i], "Duplicate header",
				"%q is already listed at line %d (header names are case-insensitive). List each header once.", n, line)
			continue
		}
		seen[lower] = ranges[i].Start.Line
		out = append(out, lower)
	}
	return out
}

// HeaderRefusal says why a gateway may not pass on the request header
// name (lowercase), or "": the one rule for the names a gateway block's
// headers lists and for those the dashboard's explorer is given.
func HeaderRefusal(name string) string {
	if name == "" || len(name) > 255 || strings.IndexFunc(name, func(r rune) bool { return r >= 0x80 || !isHeaderTokenChar(byte(r)) }) >= 0 {
		return "is not an HTTP header name (one to 255 letters, digits and !#$%&'*+-.^_`|~)"
	}
	switch name {
	case "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade":
		return "is a hop-by-hop header: it is about the client's connection to the gateway, not the request, and is never passed on"
	case "host", "content-length", "content-type", "content-encoding", "accept-encoding", "expect":
		return "is part of the HTTP protocol, which the gateway handles itself: the method gets the decoded request whatever the client sent"
	case "traceparent", "tracestate":
		return "is tracing's: the gateway already makes the call part of the client's trace (see OBSERVABILITY.md)"
	}
	switch {
	case strings.HasPrefix(name, "grpc-"):
		return "belongs to the gRPC protocol, which the gateway handles itself (a client's deadline reaches the method as ctx.Deadline())"
	case strings.HasPrefix(name, "connect-"):
		return "belongs to the Connect protocol, which the gateway handles itself (a client's deadline reaches the method as ctx.Deadline())"
	}
	return ""
}

// isHeaderTokenChar reports whether c may be part of an HTTP header name
// (a token, RFC 9110 section 5.6.2).
func isHeaderTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// checkGateways reports gateways whose name is a guest's (they share the
// names --only takes), services that name no declared service, and two
// gateways on one port.
func (d *decoder) checkGateways() {
	ports := map[string]*Gateway{}
	for _, g := range d.app.Gateways {
		if o := d.guests[g.Name]; o != nil {
			d.errf(g.NameRange, fmt.Sprintf("Duplicate name %q", g.Name),
				"A %s named %q is already declared at line %d. Gateways, services and programs share one set of names, because `parigot run --only` takes any of them; rename one of them.",
				o.Kind, g.Name, o.DeclRange.Start.Line)
		}
		for i, s := range g.Services {
			target := d.guests[s]
			switch {
			case target == nil && d.undecoded["service."+s]:
				// The block declaring it has an error of its own.
			case target == nil:
				detail := fmt.Sprintf("services lists services declared in %s, and none is named %q.", FileName, s)
				if c := suggest.Closest(s, d.serviceNames()); c != "" {
					detail += fmt.Sprintf(" Did you mean service.%s?", c)
				}
				detail += fmt.Sprintf(" Fix the name, or declare the service with a service %q block.", s)
				d.errf(g.ServicesRanges[i], fmt.Sprintf("No service named %q is declared", s), "%s", detail)
			case target.Kind == KindProgram:
				d.errf(g.ServicesRanges[i], "A program cannot be served by a gateway",
					"%q is a program, not a service: programs answer no calls, so a gateway has nothing to call. services lists services only.", s)
			}
		}
		_, port, err := net.SplitHostPort(g.Listen)
		if err != nil || port == "0" {
			continue
		}
		if o := ports[port]; o != nil {
			d.errf(g.ListenRange, "Duplicate gateway port",
				"Gateway %q (line %d) already listens on port %s (%s). Two gateways cannot share a port; give this one another, for example listen = \"127.0.0.1:8081\".",
				o.Name, o.DeclRange.Start.Line, port, o.Listen)
			continue
		}
		ports[port] = g
	}
}
