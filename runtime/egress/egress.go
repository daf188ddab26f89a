// Package egress sends the guests' requests to the external HTTP APIs an
// app declares (its http blocks): the way out of an app, as the gateway is
// the way in. A guest opens an endpoint by name and dispatches each request
// on it as a call (runtime/internal/abi, OpenHTTP and OpRequest); the host
// hands the call to the endpoint here, which sends it with an http.Client
// of its own and delivers the response, or why there is none, as the
// call's reply. So a request is a future in the guest, completes through
// poll, and ends at the caller's deadline, as a store operation does (see
// docs/ARCHITECTURE.md, "Why are outbound requests dispatched like calls?").
//
// It is not a proxy for anything else: a request goes to a path under its
// endpoint's URL, never elsewhere, and redirects are followed only while
// they stay there.
package egress

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"parigot.dev/parigot/manifest"
	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
	"parigot.dev/parigot/runtime/observe"
)

// Spec is an http block of the app, with the URL its requests go under in
// this run (its url, or its url_env variable's value).
type Spec struct {
	Name string
	URL  string
	// Timeout bounds each request (the block's timeout): one sent while
	// a method runs ends at the method's deadline when that is sooner.
	// Zero: Timeout.
	Timeout time.Duration
	// TLS are the files (absolute paths) of the CAs requests to the
	// endpoint trust besides the system's, and of the certificate they
	// present when the server asks for one: the block's ca_file,
	// client_cert and client_key, or their *_env variables' values.
	TLS manifest.TLSFiles
}

// SpecsFromManifest returns the app's http endpoints, each with the URL
// and TLS files lookup (os.LookupEnv, in the process that runs the
// guests: every process of a split run reads its own) gives it. A
// url_env holding no valid URL leaves the url of parigot.hcl, and a
// *_env naming no usable file the file of parigot.hcl:
// manifest.App.BadHTTPEnv reports them before a run starts.
func SpecsFromManifest(app *manifest.App, lookup func(string) (string, bool)) []Spec {
	var specs []Spec
	for _, h := range app.HTTP {
		u, d := h.EndpointURL(lookup)
		if d != nil {
			u = h.URL
		}
		files, _ := h.EndpointTLS(app.Dir, lookup)
		specs = append(specs, Spec{Name: h.Name, URL: u, Timeout: h.Timeout, TLS: files})
	}
	return specs
}

// Timeout bounds a request to an endpoint whose block gives no timeout.
// A request's deadline is its endpoint's timeout from when it is sent, or
// the deadline of the method that sent it when that comes first (the host
// gives a call the earlier of its callee's MethodTimeout and its caller's
// deadline); one sent outside any call (a program's, a service's Ready or
// timer) inherits none.
const Timeout = manifest.DefaultHTTPTimeout

// Endpoints are one run's http endpoints, one http.Client each, shared by
// every guest of the run. Safe for concurrent use.
type Endpoints struct {
	byName map[string]*endpoint
	opts   Options

	ctx    context.Context // ends at Close: requests in flight end with it
	cancel context.CancelFunc
	ops    sync.WaitGroup // requests in flight

	mu       sync.Mutex
	inFlight map[sent]context.CancelCauseFunc // ends a request in flight early (Cancel)
}

// sent names a request in flight: the guest that sent it, and the id it
// gave the request's call, which no other call of that guest has.
type sent struct {
	from route.Endpoint
	id   uint64
}

// errGivenUp is why a request ends whose guest gave it up: the guest ended
// (it exited, trapped or was stopped) while the request was in flight, and
// no one is left to read the response.
var errGivenUp = errors.New("the guest that sent it gave it up")

// Options are what a run observes of its requests.
type Options struct {
	// Tracing, when set, makes a client span of every request.
	Tracing *observe.Tracing
	// Metrics, when set, counts and times every request that was sent
	// (or tried: an unreachable API counts), by guest, endpoint and
	// outcome; one refused before it was sent (a path that would leave
	// the endpoint's URL) is not.
	Metrics *observe.Metrics
	// Label, when set, is the guest label of the metrics of a request
	// from: the replica's, in split mode. Nil: its GuestName.
	Label func(from route.Endpoint) string
}

// New makes the endpoints of specs. Their clients connect only when a
// guest sends a request.
func New(specs []Spec, opts Options) (*Endpoints, error) {
	e := &Endpoints{byName: map[string]*endpoint{}, opts: opts, inFlight: map[sent]context.CancelCauseFunc{}}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	for _, s := range specs {
		if _, dup := e.byName[s.Name]; dup {
			continue
		}
		if why := manifest.CheckEndpointURL(s.URL); why != "" {
			return nil, fmt.Errorf("http %s: %s", s.Name, why)
		}
		base, _ := url.Parse(s.URL) // checked just above
		transport, err := newTransport(s.TLS)
		if err != nil {
			return nil, fmt.Errorf("http %s: %w", s.Name, err)
		}
		ep := &endpoint{e: e, name: s.Name, base: base, method: "http." + s.Name + "/" + abi.OpRequest, timeout: s.Timeout, caFile: s.TLS.CAFile}
		if ep.timeout <= 0 {
			ep.timeout = Timeout
		}
		ep.client = &http.Client{Transport: transport, CheckRedirect: ep.checkRedirect}
		e.byName[s.Name] = ep
	}
	return e, nil
}

// MaxConns bounds the connections one endpoint opens at once in a
// process: more requests than that wait for one, within their deadlines,
// so that a guest sending thousands at once does not open thousands of
// sockets to the API.
const MaxConns = 256

// newTransport is an endpoint's transport: connections kept and reused,
// every wait bounded (the request's context bounds the whole request
// besides), the response's header bounded so that it fits a reply, and
// the TLS of files: its CAs trusted besides the system's, its client
// certificate presented when a server asks.
func newTransport(files manifest.TLSFiles) (*http.Transport, error) {
	var tlsConfig *tls.Config
	if files.CAFile != "" {
		roots, err := manifest.CAPool(files.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		tlsConfig = &tls.Config{RootCAs: roots}
	}
	if files.ClientCert != "" || files.ClientKey != "" {
		cert, err := manifest.ClientCertificate(files.ClientCert, files.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("client_cert and client_key: %w", err)
		}
		if tlsConfig == nil {
			tlsConfig = &tls.Config{}
		}
		tlsConfig.Certificates = []tls.Certificate{cert}
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		TLSClientConfig:        tlsConfig,
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    64,
		MaxConnsPerHost:        MaxConns,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: abi.MaxHTTPResponseHeader,
	}, nil
}

// Endpoint returns where a guest's requests to the endpoint name go, or
// nil when the app declares none of that name. Whether the guest may use
// it is the host's to check (its uses).
func (e *Endpoints) Endpoint(name string) route.Endpoint {
	if e == nil {
		return nil
	}
	if ep := e.byName[name]; ep != nil {
		return ep
	}
	return nil
}

// Close ends the requests in flight (their guests hear "unavailable"),
// waits for them, and closes the idle connections.
func (e *Endpoints) Close() {
	if e == nil {
		return
	}
	e.cancel()
	e.ops.Wait()
	for _, ep := range e.byName {
		ep.client.CloseIdleConnections()
	}
}

// endpoint takes the guests' requests to one http block.
type endpoint struct {
	e       *Endpoints
	name    string
	base    *url.URL
	method  string // "http.<name>/Request"
	client  *http.Client
	timeout time.Duration // the block's timeout (Spec.Timeout)
	caFile  string        // Spec.TLS.CAFile
}

// GuestName implements route.Endpoint: what a deadline's message names.
func (ep *endpoint) GuestName() string { return "http " + ep.name }

// Resource implements route.Resource: an endpoint is no guest.
func (ep *endpoint) Resource() {}

// MethodTimeout implements route.Endpoint: the endpoint's timeout, which
// the host makes a request's deadline unless the deadline of the method
// that sent it comes first.
func (ep *endpoint) MethodTimeout() time.Duration { return ep.timeout }

// Cancel implements route.Canceller: from gave up its request callID, so
// that the request ends now, its connection closed, rather than at its
// deadline: the host says so when the guest's run ends (it exited,
// trapped, or was stopped) with the request in flight, and when the
// request's deadline passed (expired), which ends it already.
func (ep *endpoint) Cancel(callID uint64, from route.Endpoint, expired bool) {
	cause := errGivenUp
	if expired {
		cause = context.DeadlineExceeded
	}
	ep.e.mu.Lock()
	cancel := ep.e.inFlight[sent{from, callID}]
	ep.e.mu.Unlock()
	if cancel != nil {
		cancel(cause)
	}
}

// Deliver implements route.Endpoint: it sends the request ev carries, on
// a goroutine of its own, and delivers the response to from, or why
// there is none; nothing when the request's deadline (ev.Deadline)
// passed, which the host answers itself (see instance.expire).
func (ep *endpoint) Deliver(ev abi.Event, from route.Endpoint) route.Refusal {
	if ev.Kind != abi.KindCall || from == nil {
		return route.Accepted
	}
	if ev.Method != abi.OpRequest {
		from.Deliver(abi.ErrorEvent(ev.CallID, abi.CodeUnimplemented, ep.GuestName()+" has no operation "+ev.Method), nil)
		return route.Accepted
	}
	req, err := abi.DecodeHTTPRequest(ev.Payload)
	if err != nil {
		from.Deliver(abi.ErrorEvent(ev.CallID, abi.CodeInvalidArgument, ep.GuestName()+": malformed request"), nil)
		return route.Accepted
	}
	if why := abi.CheckHTTPRequest(&req); why != "" {
		code := abi.CodeInvalidArgument
		if len(req.Body) > abi.MaxHTTPBody {
			code = abi.CodeResourceExhausted
		}
		from.Deliver(abi.ErrorEvent(ev.CallID, code, ep.GuestName()+": "+why), nil)
		return route.Accepted
	}
	// The request aliases the payload, which the host copied out of the
	// guest: it stays as it is while the request is sent. It is in
	// flight, and can be given up (Cancel), from here on: before Deliver
	// returns to the host, which may give it up at once.
	ctx, cancel := context.WithCancelCause(ep.e.ctx)
	key := sent{from, ev.CallID}
	ep.e.mu.Lock()
	ep.e.inFlight[key] = cancel
	ep.e.mu.Unlock()
	ep.e.ops.Add(1)
	go func() {
		defer ep.e.ops.Done()
		defer cancel(nil)
		reqCtx := ctx
		if ev.Deadline > 0 {
			var stop context.CancelFunc
			reqCtx, stop = context.WithDeadline(ctx, time.Unix(0, ev.Deadline))
			defer stop()
		}
		began := time.Now()
		code, payload := ep.send(reqCtx, ev, from, req)
		if m := ep.e.opts.Metrics; m != nil {
			m.HTTPRequest(ep.e.label(from), ep.name, outcome(code, payload), time.Since(began))
		}
		ep.e.mu.Lock()
		delete(ep.e.inFlight, key)
		ep.e.mu.Unlock()
		if code == abi.CodeDeadlineExceeded && errors.Is(context.Cause(reqCtx), context.DeadlineExceeded) {
			// The request's deadline is its call's, which the host
			// keeps too, and answers when it passes, naming what to
			// raise (the block's timeout, or the budget of the method
			// that sent it), which only the host knows: a reply from
			// here would race it with a message of its own.
			return
		}
		from.Deliver(abi.Event{Kind: abi.KindReply, Code: code, CallID: ev.CallID, Payload: payload}, nil)
	}()
	return route.Accepted
}

// label is the guest label of the metrics of a request from.
func (e *Endpoints) label(from route.Endpoint) string {
	if e.opts.Label != nil {
		return e.opts.Label(from)
	}
	return from.GuestName()
}

// outcome is how a request whose reply is code and payload ended, for
// the metrics: its response's status class, or the code the guest got.
func outcome(code abi.Code, payload []byte) string {
	status := 0
	if code == abi.CodeOK {
		if r, err := abi.DecodeHTTPResponse(payload); err == nil {
			status = r.Status
		}
	}
	return observe.HTTPOutcome(status, code.String())
}

// send sends req and returns the reply for the guest: CodeOK and the
// response, or an error code and its message.
func (ep *endpoint) send(ctx context.Context, ev abi.Event, from route.Endpoint, req abi.HTTPRequest) (code abi.Code, payload []byte) {
	target := ep.target(req)
	var span *observe.CallSpan
	if ep.e.opts.Tracing != nil {
		span = ep.startSpan(ev, from, req, target)
		defer func() { ep.endSpan(span, code, payload) }()
	}
	defer func() {
		// Nothing a guest sends may take the host down.
		if r := recover(); r != nil {
			code, payload = abi.CodeInternal, abi.EncodeError(abi.CodeInternal, fmt.Sprintf("%s: sending the request failed: %v", ep.GuestName(), r))
		}
	}()
	var body io.Reader
	if len(req.Body) > 0 {
		body = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, target.String(), body)
	if err != nil {
		return ep.fail(abi.CodeInvalidArgument, "the request cannot be sent: %v", err)
	}
	abi.HeaderValues(req.Header, func(name, value string) bool {
		hr.Header.Add(name, value)
		return true
	})
	if hr.Header.Get("User-Agent") == "" {
		hr.Header.Set("User-Agent", "parigot")
	}
	if span != nil {
		hr.Header.Set(abi.TraceparentHeader, abi.TraceContext{TraceID: span.Trace, SpanID: span.Span, Flags: sampled(span.Sampled)}.Traceparent())
	}
	resp, err := ep.client.Do(hr)
	if err != nil {
		return ep.failure(ctx, target, err)
	}
	defer resp.Body.Close()
	if span != nil {
		span.HTTP.Status = resp.StatusCode
	}
	// A response to HEAD has no body: its Content-Length is the size of
	// what GET would return, and net/http reports it (with NoBody).
	if resp.Body != http.NoBody && resp.ContentLength > abi.MaxHTTPBody {
		return ep.tooLarge(target, resp.ContentLength)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, abi.MaxHTTPBody+1))
	if err != nil {
		return ep.failure(ctx, target, err)
	}
	if len(b) > abi.MaxHTTPBody {
		return ep.tooLarge(target, -1)
	}
	var header []byte
	for name, values := range resp.Header {
		lower := strings.ToLower(name)
		for _, v := range values {
			if abi.IsHeaderName(lower) && abi.IsHeaderValue(v) {
				header = abi.AppendHeader(header, lower, v)
			}
		}
	}
	out := abi.HTTPResponse{Status: resp.StatusCode, Header: header, Body: b}
	return abi.CodeOK, out.Encode(make([]byte, 0, 6+len(header)+len(b)))
}

// target is the URL req goes to: its path under the endpoint's URL, its
// query.
func (ep *endpoint) target(req abi.HTTPRequest) *url.URL {
	u := *ep.base
	if req.Path != "" {
		raw := strings.TrimSuffix(ep.base.EscapedPath(), "/") + "/" + strings.TrimLeft(req.Path, "/")
		// CheckHTTPPath let only a path's characters and escapes through.
		if p, err := url.PathUnescape(raw); err == nil {
			u.Path, u.RawPath = p, raw
		}
	}
	var q url.Values
	abi.QueryValues(req.Query, func(name, value string) {
		if q == nil {
			q = url.Values{}
		}
		q.Add(name, value)
	})
	u.RawQuery = q.Encode()
	return &u
}

// checkRedirect follows a redirect only to a URL under the endpoint's,
// ten at most; the guest gets any other as the response it is. The
// request it follows with carries no Referer but the one the guest set:
// net/http would give it the URL redirected from, query and all, and a
// query may hold an API key.
func (ep *endpoint) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 || !ep.under(req.URL) {
		return http.ErrUseLastResponse
	}
	if via[0].Header.Get("Referer") == "" {
		req.Header.Del("Referer")
	}
	return nil
}

// under reports whether u is the endpoint's URL or below it.
func (ep *endpoint) under(u *url.URL) bool {
	if u.Scheme != ep.base.Scheme || !strings.EqualFold(u.Host, ep.base.Host) {
		return false
	}
	base := strings.TrimSuffix(ep.base.EscapedPath(), "/")
	p := u.EscapedPath()
	return p == base || strings.HasPrefix(p, base+"/") || base == ""
}

// failure is the reply for a request that got no response: the deadline
// (which only its span and metrics see: the host answers the guest), its
// guest giving it up, the run stopping, or an endpoint that cannot be
// reached.
func (ep *endpoint) failure(ctx context.Context, target *url.URL, err error) (abi.Code, []byte) {
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, context.DeadlineExceeded):
		return ep.fail(abi.CodeDeadlineExceeded, "no response from %s before the request's deadline (the endpoint's timeout, %s, or the deadline of the method that sent it, whichever came first)", redacted(target), ep.timeout)
	case errors.Is(cause, errGivenUp):
		return ep.fail(abi.CodeCanceled, "the request to %s was given up: the guest that sent it ended", redacted(target))
	case ep.e.ctx.Err() != nil:
		return ep.fail(abi.CodeUnavailable, "the host is stopping")
	case headerTooLarge(err):
		return ep.fail(abi.CodeResourceExhausted, "the response of %s has a header over the limit of %d bytes (32 KiB) that a response's header may have; the API sent more (many or large cookies, links or headers of its own): ask it for less, if it can be asked", redacted(target), abi.MaxHTTPResponseHeader)
	case fieldTooLarge(err):
		return ep.fail(abi.CodeResourceExhausted, "the response of %s has a header field over the limit of %d bytes (32 KiB) that a response's header may have (HTTP/2 says COMPRESSION_ERROR when one is); the API sent more: ask it for less, if it can be asked", redacted(target), abi.MaxHTTPResponseHeader)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var unknownCA x509.UnknownAuthorityError
	var badCert *tls.CertificateVerificationError
	var refused *net.OpError
	switch {
	case errors.As(err, &refused) && refused.Op == "remote error": // crypto/tls's, for an alert the server sent
		return ep.fail(abi.CodeUnavailable, "%s cannot be reached: its server refused the TLS handshake (%v); a server that asks for a client certificate (mutual TLS) needs the one it expects, with its key, in the endpoint's client_cert and client_key (or their _env) in parigot.hcl", redacted(target), refused.Err)
	case errors.As(err, &unknownCA) && ep.caFile != "":
		return ep.fail(abi.CodeUnavailable, "%s cannot be reached: its certificate is signed by an authority that neither this machine nor the endpoint's CA file (%s) trusts (%v); put the PEM of the CA that signs it in that file", redacted(target), ep.caFile, unknownCA)
	case errors.As(err, &unknownCA):
		return ep.fail(abi.CodeUnavailable, "%s cannot be reached: its certificate is signed by an authority this machine does not trust (%v); name a PEM file of its CA (a private one, a test server's own certificate) in the endpoint's ca_file in parigot.hcl, or in the variable its ca_file_env names, or use http:// for a server on loopback", redacted(target), unknownCA)
	case errors.As(err, &badCert):
		return ep.fail(abi.CodeUnavailable, "%s cannot be reached: its certificate does not verify (%v); the host of the endpoint's url (or its url_env) in parigot.hcl must be a name the certificate holds, and the certificate current", redacted(target), badCert.Err)
	}
	return ep.fail(abi.CodeUnavailable, "%s cannot be reached: %v; check that it is up and that the endpoint's url (or its url_env) in parigot.hcl is right", redacted(target), err)
}

// headerTooLarge reports whether err is net/http's for a response whose
// header is over the transport's MaxResponseHeaderBytes, which is no typed
// error: HTTP/1's "server response headers exceeded N bytes", HTTP/2's
// "response header list larger than advertised limit".
func headerTooLarge(err error) bool {
	s := err.Error()
	return strings.Contains(s, "response headers exceeded") || strings.Contains(s, "response header list larger than")
}

// fieldTooLarge reports whether err is HTTP/2's for a response with one
// header field longer than MaxResponseHeaderBytes, which its HPACK decoder
// refuses as a compression error of the whole connection. A server whose
// HPACK is broken would say the same; one field over 32 KiB is by far the
// likelier.
func fieldTooLarge(err error) bool {
	return strings.Contains(err.Error(), "COMPRESSION_ERROR")
}

func (ep *endpoint) tooLarge(target *url.URL, n int64) (abi.Code, []byte) {
	size := "more than"
	if n > 0 {
		size = strconv.FormatInt(n, 10) + " bytes, over"
	}
	return ep.fail(abi.CodeResourceExhausted, "the response of %s has a body of %s the limit of %d bytes (4 MiB less 64 KiB); ask for less (a page, a range)", redacted(target), size, abi.MaxHTTPBody)
}

func (ep *endpoint) fail(code abi.Code, format string, args ...any) (abi.Code, []byte) {
	return code, abi.EncodeError(code, ep.GuestName()+": "+fmt.Sprintf(format, args...))
}

// redacted is u as messages and spans show it: without its query, which
// may hold what a guest would not have printed.
func redacted(u *url.URL) string {
	v := *u
	v.RawQuery, v.ForceQuery = "", false
	return v.String()
}

func sampled(s bool) byte {
	if s {
		return 1
	}
	return 0
}

// startSpan names the request's client span: a child of the call the
// guest served when it sent it, or the root of a trace of its own.
func (ep *endpoint) startSpan(ev abi.Event, from route.Endpoint, req abi.HTTPRequest, target *url.URL) *observe.CallSpan {
	s := &observe.CallSpan{
		Span:    observe.NewSpanID(),
		Sampled: true,
		Guest:   from.GuestName(),
		Method:  ep.method,
		Request: len(req.Body),
		Pushed:  time.Now().UnixNano(),
		HTTP:    &observe.HTTPSpan{Method: req.Method, URL: redacted(target), Host: target.Hostname(), Port: port(target)},
	}
	if ev.Trace.Valid() {
		s.Trace, s.Parent, s.Sampled = ev.Trace.TraceID, ev.Trace.SpanID, ev.Trace.Flags&1 != 0
	} else {
		s.Trace = observe.NewTraceID()
	}
	return s
}

// endSpan records the request's span once its reply is known.
func (ep *endpoint) endSpan(s *observe.CallSpan, code abi.Code, payload []byte) {
	s.Replied = time.Now().UnixNano()
	s.Drained = s.Pushed
	s.Code = code.String()
	s.Failed = code != abi.CodeOK
	if s.Failed {
		if _, msg, _, err := abi.DecodeError(payload); err == nil {
			s.Message = observe.ErrorText(msg)
		}
	} else {
		s.Reply = len(payload) // the response, encoded
	}
	ep.e.opts.Tracing.Record(*s)
}

func port(u *url.URL) int {
	if p, err := strconv.Atoi(u.Port()); err == nil {
		return p
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}
