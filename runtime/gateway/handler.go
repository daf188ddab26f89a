package gateway

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"connectrpc.com/vanguard"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/anypb"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/native"
)

// MaxBody bounds the body of a request: room for a request of
// abi.MaxPayload bytes in protobuf's binary form written as JSON (bytes
// fields grow by a third in base64). The protobuf message a method
// receives is bounded by abi.MaxPayload itself.
const MaxBody = 2 * abi.MaxPayload

// backend is how a gateway reaches the app's services: their endpoints
// (a native.Registry in single mode, a split.Network in split mode), and
// the native caller whose calls the gateway's are.
type backend struct {
	find   native.Services
	caller *native.Caller
	log    *slog.Logger
	// headers are the request headers passed on to the methods called
	// (the gateway block's headers, lowercase; see passOn).
	headers []string
	// given, for the dashboard's explorer, passes on instead the headers
	// its user gave, which the explorer encoded (see explorer.givenHeaders).
	given bool
}

// passedOn is the encoded request headers a call passes on to the method:
// those of the gateway block's headers that the request has (passOn), or,
// for the explorer, those its user gave.
func (b backend) passedOn(ctx context.Context, h http.Header) ([]byte, *failure) {
	if b.given {
		given, _ := ctx.Value(givenKey{}).([]byte)
		return given, nil
	}
	return passOn(b.headers, h.Values)
}

// newHandler returns the one handler of a gateway serving the proto
// services named: vanguard in front (REST, Connect, gRPC, gRPC-Web, JSON
// and binary), connect-go's unary handlers behind it, which take and give
// the bytes the guests encode; reflection and health beside them, for these
// services only. The methods of sub are refused (see refuseSubscribed). A
// request that panics fails alone (see guard).
func newHandler(schema *Schema, services []string, sub subscribed, be backend, log *slog.Logger) (http.Handler, error) {
	var vsvcs []*vanguard.Service
	var sds []protoreflect.ServiceDescriptor
	for _, name := range services {
		sd, err := schema.service(name)
		if err != nil {
			return nil, err
		}
		sds = append(sds, sd)
	}
	unknown := newUnknownRoute(sds)
	procedures := map[string]protoreflect.MessageDescriptor{} // each method's path, and its request's type
	// The methods' paths that Connect's GET may not call.
	postOnly := map[string]bool{}
	for i, name := range services {
		sd := sds[i]
		methods := http.NewServeMux()
		for i := 0; i < sd.Methods().Len(); i++ {
			md := sd.Methods().Get(i)
			proc := "/" + name + "/" + string(md.Name())
			if md.IsStreamingClient() || md.IsStreamingServer() {
				// parigot calls are unary: a client gets unimplemented,
				// saying so.
				methods.Handle(proc, unimplementedStream(proc, unknown, md))
				continue
			}
			procedures[proc] = md.Input()
			if idempotency(md) != connect.IdempotencyNoSideEffects {
				postOnly[proc] = true
			}
			call := be.unary(name, string(md.Name()))
			if _, refused := sub.refusal(proc); refused {
				call = sub.refusedUnary(proc)
			}
			methods.Handle(proc, connect.NewUnaryHandler(proc, call,
				connect.WithCodec(rawCodec{}),
				connect.WithReadMaxBytes(abi.MaxPayload),
				// A compressed message is inflated a byte past the limit
				// at most: connect-go's own gzip inflated all of it to
				// say how large it was (a gigabyte of zeros is a megabyte
				// of gzip).
				connect.WithCompression("gzip", boundedGzip(abi.MaxPayload+1, false), newGzipWriter),
				connect.WithSchema(md),
				// A method its proto declares free of side effects may be
				// called with Connect's GET (connect-es's useHttpGet), as
				// connect-go's generated handlers allow.
				connect.WithIdempotency(idempotency(md)),
			))
		}
		vsvcs = append(vsvcs, vanguard.NewServiceWithSchema(sd, methods,
			vanguard.WithTargetCodecs(vanguard.CodecProto),
			vanguard.WithTypeResolver(schema.types),
			vanguard.WithMaxMessageBufferBytes(MaxBody),
		))
	}
	transcoder, err := vanguard.NewTranscoder(vsvcs, vanguard.WithUnknownHandler(unknown),
		// vanguard inflates a compressed message it transcodes (gRPC or
		// gRPC-Web in JSON, grpc-encoding: gzip) whole, whatever its size:
		// a megabyte of gzip held gigabytes of the gateway's memory.
		vanguard.WithCompression(vanguard.CompressionGzip, newGzipWriter, boundedGzip(MaxBody, true)))
	if err != nil {
		return nil, fmt.Errorf("mapping the services' methods: %w", err)
	}
	mux := http.NewServeMux()
	routes := restRoutes(sds)
	mux.Handle("/", blankContentType(refuseSubscribed(sub, routes, restNoBody(routes, procedures, connectUnary(procedures, connectGET(postOnly, checkCallHeaders(procedures, checkJSON(procedures, routes, schema.types, checkGRPCBody(procedures, schema.types, restQuery(routes, restFaults(procedures, decodedOnce(transcoder))))))))))))
	served, err := schema.servedFiles(services, sub)
	if err != nil {
		return nil, err
	}
	reflector := grpcreflect.NewReflector(staticNames(append(slices.Clone(services), grpchealth.HealthV1ServiceName)),
		grpcreflect.WithDescriptorResolver(withHealth{served, healthFile()}))
	mux.Handle(grpcreflect.NewHandlerV1(reflector))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
	mux.Handle(grpchealth.NewHandler(healthChecker{services: services, find: be.find}))
	return guard(mux, log), nil
}

// idempotency is the idempotency level md's options declare.
func idempotency(md protoreflect.MethodDescriptor) connect.IdempotencyLevel {
	if o, ok := md.Options().(*descriptorpb.MethodOptions); ok {
		switch o.GetIdempotencyLevel() {
		case descriptorpb.MethodOptions_NO_SIDE_EFFECTS:
			return connect.IdempotencyNoSideEffects
		case descriptorpb.MethodOptions_IDEMPOTENT:
			return connect.IdempotencyIdempotent
		}
	}
	return connect.IdempotencyUnknown
}

// decodedOnce hands h (vanguard) the request's path as the client wrote
// it, escapes and all. vanguard matches a REST route against the path
// net/http has decoded already, then decodes each path variable it binds
// again: a%2541 reached the method as aA, 100%25 and a%2Fb matched no
// route (the second, split into a and b), and a%2F..%2F smuggled a path's
// structure into a variable. Matched as written, each variable is decoded
// once, as google.api.http says. (Vanguard is where this should change.)
func decodedOnce(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.EscapedPath(); p != r.URL.Path {
			u := *r.URL
			u.Path, u.RawPath = p, ""
			r2 := *r
			r2.URL = &u
			r = &r2
		}
		h.ServeHTTP(w, r)
	})
}

// blankContentType drops a Content-Type header that says nothing (given,
// but empty, as some clients send one with a GET): vanguard takes a REST
// request with such a header for one with a body of an unknown type, and
// reads none of its query, so that ?page_size=5 reached the method unset.
func blankContentType(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct, ok := r.Header["Content-Type"]; ok && strings.TrimSpace(strings.Join(ct, "")) == "" {
			r.Header.Del("Content-Type")
		}
		h.ServeHTTP(w, r)
	})
}

// connectUnary marks a POST to a method's own path with a body of
// application/json or application/proto (in any case, with a charset) as
// Connect's unary protocol, which
// it is (`curl -d '{"name":"x"}' .../greeting.v1.Greeting/FetchGreeting`):
// Connect's servers take it without the Connect-Protocol-Version header
// its clients send, and vanguard, without that header, would take it for a
// REST call of a path no annotation maps.
func connectUnary(procedures map[string]protoreflect.MessageDescriptor, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := procedures[r.URL.Path]; ok && r.Method == http.MethodPost && r.Header.Get("Connect-Protocol-Version") == "" {
			if ct := r.Header.Values("Content-Type"); len(ct) == 1 && (isJSON(ct[0]) || mediaType(ct[0]) == "application/proto") {
				r.Header.Set("Connect-Protocol-Version", "1")
				r.Header.Set("Content-Type", mediaType(ct[0])) // as vanguard matches it: lower case, no charset
			}
		}
		h.ServeHTTP(w, r)
	})
}

// mediaType is the media type of a Content-Type header, lower case and
// without its parameters ("application/json; charset=utf-8" is
// "application/json"), or "" when it does not parse.
func mediaType(contentType string) string {
	t, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return t
}

// isJSON reports whether a Content-Type header says JSON, however it is
// spelt ("Application/JSON", with a charset).
func isJSON(contentType string) bool { return mediaType(contentType) == "application/json" }

// checkJSON refuses a request whose body is JSON, and malformed, with the
// error of its protocol (Connect's, or REST's google.rpc.Status) and HTTP
// 400, before anything else reads it: vanguard, which decodes JSON while
// its handler reads the request, would hand the method an empty request
// instead, and answer 500. A Connect call's body must also be its
// method's request (procedures: each method's path and request type),
// decoded with types for its Any fields: {"id": 5} for a string id is the
// client's mistake (400), not the server's (500). Fields the type does not
// have are left out, as Connect's servers do. A REST request's body must
// fit what its route's body holds (routes; see bodyMisfit). A body
// compressed with gzip comes here inflated (see inflate); one in another
// encoding is left to vanguard.
func checkJSON(procedures map[string]protoreflect.MessageDescriptor, routes []boundRoute, types *dynamicpb.Types, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if enc := r.Header.Get("Content-Encoding"); r.Body == nil || !isJSON(r.Header.Get("Content-Type")) || enc != "" && enc != "identity" {
			h.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		pass := func(body []byte) { // to h, the body read
			r.Body = io.NopCloser(bytes.NewReader(body))
			h.ServeHTTP(w, r)
		}
		code, msg, status := connect.CodeInvalidArgument, "the request body is not valid JSON", http.StatusBadRequest
		var tooBig *http.MaxBytesError
		input, isCall := procedures[r.URL.Path]
		switch {
		case errors.As(err, &tooBig):
			code, msg, status = connect.CodeResourceExhausted, fmt.Sprintf("the request body is larger than the gateway's limit of %d bytes", tooBig.Limit), http.StatusRequestEntityTooLarge
		case errors.Is(err, errNotGzip):
			msg = err.Error()
		case err != nil:
			// The client did not send its body in time (ReadTimeout), or
			// is gone (see closeOnReadError).
			code, msg, status = connect.CodeDeadlineExceeded, "the request body did not arrive in time", http.StatusRequestTimeout
		case len(body) == 0:
			pass(body)
			return
		case !json.Valid(body):
		case isCall:
			if err := notRequest(body, input, types); err != nil {
				msg = fmt.Sprintf("the request body is not a %s: %v", input.FullName(), err)
				break
			}
			pass(body)
			return
		default:
			if route := routeFor(routes, r); route != nil {
				if msg = route.bodyMisfit(body, types); msg != "" {
					break
				}
			}
			pass(body)
			return
		}
		if !isCall {
			restError(w, status, code, msg)
			return
		}
		connectError(w, status, code, msg)
	})
}

// notRequest says why the JSON msg is not a message of type input, or nil:
// decoded as Connect's servers decode it, fields the type does not have
// left out, Any fields resolved with types. Where it does not fit is said
// by the field's name as msg writes it, and what the field takes (see
// jsonMisfit); protojson's words are the last resort.
func notRequest(msg []byte, input protoreflect.MessageDescriptor, types *dynamicpb.Types) error {
	err := protojson.UnmarshalOptions{DiscardUnknown: true, Resolver: types}.Unmarshal(msg, dynamicpb.NewMessage(input))
	if err == nil {
		return nil
	}
	if why := jsonMisfit(msg, input); why != "" {
		return errors.New(why)
	}
	return err
}

// grpcMessage percent-encodes a grpc-message header's value, as gRPC
// requires of bytes outside printable ASCII and of '%'.
func grpcMessage(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '%' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// withHealth resolves the descriptors of the app's protos, and those of the
// standard health service, which the gateway serves too.
type withHealth struct {
	app    *protoregistry.Files
	health protoreflect.FileDescriptor // nil if it could not be made
}

func (r withHealth) FindFileByPath(p string) (protoreflect.FileDescriptor, error) {
	if f, err := r.app.FindFileByPath(p); err == nil {
		return f, nil
	}
	if f := r.health; f != nil && f.Path() == p {
		return f, nil
	}
	return nil, protoregistry.NotFound
}

func (r withHealth) FindDescriptorByName(name protoreflect.FullName) (protoreflect.Descriptor, error) {
	if d, err := r.app.FindDescriptorByName(name); err == nil {
		return d, nil
	}
	if f := r.health; f != nil && strings.HasPrefix(string(name), string(f.Package())+".") {
		if d := f.Services().ByName(name.Name()); d != nil && d.FullName() == name {
			return d, nil
		}
		if d := f.Messages().ByName(name.Name()); d != nil && d.FullName() == name {
			return d, nil
		}
	}
	return nil, protoregistry.NotFound
}

// staticNames lists the services reflection shows.
type staticNames []string

func (n staticNames) Names() []string { return n }

// guard bounds a request's body and turns a panic while serving it into a
// failed request, logged, so that the gateway serves everyone else on.
func guard(h http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				log.Error("gateway: a request panicked; it failed, and the gateway serves on", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		if r.ProtoMajor == 1 {
			r.Body = &closeOnReadError{ReadCloser: r.Body, w: w}
		}
		if strings.EqualFold(strings.TrimSpace(r.Header.Get("Content-Encoding")), "gzip") {
			inflate(w, r)
		}
		h.ServeHTTP(w, r)
	})
}

// inflate decompresses a gzip request body (Connect's unary calls and REST
// send one with Content-Encoding: gzip) as it is read, up to MaxBody
// inflated bytes, and drops the header: the rest of the gateway sees the
// body as if it came uncompressed. MaxBody bounds the compressed bytes
// already; without a bound on what they inflate to, a body of a megabyte
// made of one repeated byte would make the gateway hold a gigabyte.
// Beyond the bound a read fails as a body over MaxBody does, with
// *http.MaxBytesError; a body that is not gzip fails with errNotGzip.
func inflate(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, &gunzip{compressed: r.Body}, MaxBody)
	r.Header.Del("Content-Encoding")
	r.Header.Del("Content-Length")
	r.ContentLength = -1
}

// errNotGzip is the read error of a body said to be gzip that is not.
var errNotGzip = errors.New("the request body is not gzip, as its Content-Encoding says")

// gunzip reads its compressed body inflated, starting the gzip reader at
// the first read (its header is read then, from the client).
type gunzip struct {
	compressed io.ReadCloser
	z          *gzip.Reader
}

func (g *gunzip) Read(p []byte) (int, error) {
	if g.z == nil {
		z, err := gzip.NewReader(g.compressed)
		if err != nil {
			if errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF) {
				return 0, errNotGzip
			}
			return 0, err // the client's body itself: too large, too late
		}
		g.z = z
	}
	n, err := g.z.Read(p)
	var corrupt flate.CorruptInputError
	if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.As(err, &corrupt) {
		err = errNotGzip
	}
	return n, err
}

func (g *gunzip) Close() error { return g.compressed.Close() }

// boundedGzip makes the gzip decompressors of vanguard and connect-go,
// which inflate a message no further than limit bytes, where theirs would
// inflate the message whole, to hold it (vanguard) or to say how large it
// is (connect-go). Past them, a read fails: with resource exhausted
// (errInflatesPast) when coded; with a plain error otherwise, for
// connect-go, which says it so itself ("message is larger than configured
// max ... unable to determine message size: ...").
func boundedGzip(limit int64, coded bool) func() connect.Decompressor {
	return func() connect.Decompressor { return &inflater{limit: limit, coded: coded} }
}

// inflater is a gzip decompressor bounded to limit inflated bytes.
type inflater struct {
	z     gzip.Reader
	limit int64
	left  int64
	coded bool // its error past the limit is resource exhausted
}

func (d *inflater) Reset(r io.Reader) error {
	d.left = d.limit
	return d.z.Reset(r)
}

func (d *inflater) Read(p []byte) (int, error) {
	if d.left <= 0 {
		// At the limit: a message of exactly limit bytes ends here.
		var one [1]byte
		if n, err := d.z.Read(one[:]); n == 0 && err != nil {
			return 0, err
		}
		if !d.coded {
			return 0, errors.New("the gateway inflates a compressed message no further than its limit")
		}
		return 0, errInflatesPast(d.limit)
	}
	if int64(len(p)) > d.left {
		p = p[:d.left]
	}
	n, err := d.z.Read(p)
	d.left -= int64(n)
	return n, err
}

func (d *inflater) Close() error { return d.z.Close() }

// errInflatesPast is the error of a compressed message that inflates past
// limit bytes.
func errInflatesPast(limit int64) error {
	return connect.NewError(connect.CodeResourceExhausted, fmt.Errorf("the message inflates to more than %d bytes, the gateway's limit: send a smaller one", limit))
}

// newGzipWriter is the gzip compressor of vanguard and connect-go, as
// their own.
func newGzipWriter() connect.Compressor { return gzip.NewWriter(io.Discard) }

// closeOnReadError ends an HTTP/1.1 connection whose request body could not
// be read (the client did not send it within ReadTimeout, or went away):
// whatever the handler answers, the connection cannot carry another
// request, and net/http would otherwise keep it open, waiting for one.
// (Over HTTP/2 a body that does not come in time resets its stream alone;
// the connection, which other calls share, stays.)
type closeOnReadError struct {
	io.ReadCloser
	w http.ResponseWriter
}

func (c *closeOnReadError) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	var tooBig *http.MaxBytesError
	if err != nil && err != io.EOF && !errors.As(err, &tooBig) {
		c.w.Header().Set("Connection", "close")
	}
	return n, err
}

// unary is the handler of one method: it hands the request's bytes to the
// service and its reply's bytes, or its error, back.
func (b backend) unary(service, method string) func(context.Context, *connect.Request[rawMsg]) (*connect.Response[rawMsg], error) {
	full := service + "/" + method
	return func(ctx context.Context, req *connect.Request[rawMsg]) (*connect.Response[rawMsg], error) {
		if !methodReached(ctx) {
			// The client has its answer (the refusal): this one goes nowhere.
			return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("the request was refused before it reached "+full))
		}
		header, f := b.passedOn(ctx, req.Header())
		if f != nil {
			return nil, f.connect()
		}
		reply, f := b.call(ctx, service, full, req.Header().Get("traceparent"), header, req.Msg.b)
		if f != nil {
			return nil, f.connect()
		}
		return connect.NewResponse(&rawMsg{b: reply}), nil
	}
}

// call is one call of a method from either of the gateway's servers
// (connect-go's handlers and grpc-go's, see grpc.go): it hands the request's
// bytes to service and returns its reply's bytes, or how the call failed.
// traceparent is the client's W3C traceparent header, if any; header the
// request headers passed on (passOn). A panic fails the call alone, logged.
func (b backend) call(ctx context.Context, service, full, traceparent string, header, req []byte) (reply []byte, f *failure) {
	defer func() {
		if v := recover(); v != nil {
			b.log.Error("gateway: a call panicked; it failed, and the gateway serves on", "method", full, "panic", v, "stack", string(debug.Stack()))
			reply, f = nil, &failure{code: connect.CodeInternal, msg: "the gateway failed while calling " + full}
		}
	}()
	ep := b.find.Service(service)
	if ep == nil {
		return nil, &failure{code: connect.CodeUnavailable, msg: fmt.Sprintf("no service of the app serves %s now", service)}
	}
	// A W3C traceparent from the client makes the call's span a child
	// of the client's (parigot run --otlp, --dashboard).
	var t abi.TraceContext
	if p, ok := abi.ParseTraceparent(traceparent); ok {
		t = p
	}
	ev, err := b.caller.CallWith(ctx, native.CallOptions{Trace: t, Header: header}, ep, full, req)
	if err != nil {
		return nil, callError(err)
	}
	if ev.Code != abi.CodeOK {
		return nil, replyError(ev)
	}
	if !wellFormed(ev.Payload) {
		// A guest that encodes its reply with the generated code cannot
		// send this; one that writes bytes of its own can. Told as a
		// guest's client is told it: internal, where the transcoding
		// would have failed with an unknown error of protobuf's words.
		return nil, &failure{code: connect.CodeInternal, msg: fmt.Sprintf("service %s replied to %s with bytes that are not a protobuf message", ep.GuestName(), full)}
	}
	return ev.Payload, nil
}

// wellFormed reports whether b is a sequence of protobuf fields: valid
// tags, and each field's value whole. It does not look into nested
// messages (a bytes field looks the same), so that it costs a walk over
// the top level's tags alone.
func wellFormed(b []byte) bool {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return false
		}
		b = b[m:]
	}
	return true
}

// failure is how a call failed, as both of the gateway's servers tell the
// client: a code (Connect's codes are gRPC's), a message, and the typed
// details of google.rpc.Status.
type failure struct {
	code    connect.Code
	msg     string
	details []*anypb.Any
}

// connect is f as connect-go's handlers return it.
func (f *failure) connect() *connect.Error {
	ce := connect.NewError(f.code, errors.New(f.msg))
	for _, d := range f.details {
		if det, err := connect.NewErrorDetail(d); err == nil {
			ce.AddDetail(det)
		}
	}
	return ce
}

// callError is the client's error for a call that got no reply.
func callError(err error) *failure {
	var de *native.DeadlineError
	switch {
	case errors.As(err, &de):
		return &failure{code: connect.CodeDeadlineExceeded, msg: err.Error()}
	case errors.Is(err, context.DeadlineExceeded):
		return &failure{code: connect.CodeDeadlineExceeded, msg: "the client's deadline passed before the service replied"}
	case errors.Is(err, context.Canceled):
		return &failure{code: connect.CodeCanceled, msg: "the call was canceled before the service replied"}
	}
	return &failure{code: connect.CodeInternal, msg: err.Error()}
}

// replyError is the client's error for an error reply: its code (parigot's
// codes are gRPC's), message and typed details, as the service sent them.
func replyError(ev abi.Event) *failure {
	_, msg, details, err := abi.DecodeError(ev.Payload)
	if err != nil {
		msg = "the service replied with a malformed error"
	}
	f := &failure{code: connect.Code(ev.Code), msg: msg}
	for _, d := range details {
		a := new(anypb.Any)
		if proto.Unmarshal(d, a) == nil {
			f.details = append(f.details, a)
		}
	}
	return f
}

// rawMsg is a message as the bytes of its protobuf binary form, which the
// gateway passes on without decoding.
type rawMsg struct{ b []byte }

// rawCodec is the "proto" codec of the gateway's handlers: it hands bytes
// through. vanguard turns every other codec (JSON) into it.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

// Marshal hands a rawMsg's bytes through, and encodes other messages
// (connect-go's own, such as the status of a gRPC error) as protobuf does.
func (rawCodec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case *rawMsg:
		return m.b, nil
	case proto.Message:
		return proto.Marshal(m)
	}
	return nil, fmt.Errorf("gateway: cannot encode %T", v)
}

func (rawCodec) Unmarshal(b []byte, v any) error {
	switch m := v.(type) {
	case *rawMsg:
		m.b = append([]byte(nil), b...) // connect-go reuses its buffers
		return nil
	case proto.Message:
		return proto.Unmarshal(b, m)
	}
	return fmt.Errorf("gateway: cannot decode into %T", v)
}
