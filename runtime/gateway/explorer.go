package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"parigot.dev/parigot/manifest"
	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/native"
	"parigot.dev/parigot/runtime/observe"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// The dashboard's API explorer calls the app's methods with JSON through
// the gateway's own handler (vanguard, connect-go, the JSON codec over the
// app's descriptors), so that what it shows is what a Connect client of a
// gateway would get. It is a local tool on the dashboard's address: it may
// call every service of the app, whether a gateway serves it or not, and
// the methods a topic's subscription delivers to, which a gateway refuses
// to its clients: a call of one simulates a delivery (see ExplorerMethod's
// Topics). The request headers its user gives (Parigot-Header-<name>) reach
// the method as a gateway passes on those its block lists.

// ExplorerHeaderPrefix starts the name of a header of a call to the
// explorer that gives the method a request header: Parigot-Header-
// Authorization: Bearer abc gives it authorization: Bearer abc. The
// other headers of the call (the browser's cookies, its user agent) reach
// no method, as a gateway passes on only the headers its block lists.
const ExplorerHeaderPrefix = "Parigot-Header-"

// ExplorerName is the explorer's name as a gateway: in split mode it
// connects to NATS as split.GatewayIdentity(ExplorerName), which may call
// every service. A gateway of parigot.hcl starts with a letter, so none
// can have it.
const ExplorerName = "_explorer"

// ExplorerMethod is one method the explorer offers, with a template of its
// request: each field of the request message with its zero value, as
// protobuf's JSON mapping writes it.
type ExplorerMethod struct {
	Service  string          `json:"service"` // test.v1.Echo
	Method   string          `json:"method"`  // Say
	Guest    string          `json:"guest"`   // the guest implementing it
	Request  string          `json:"request"` // the request message's full name
	Template json.RawMessage `json:"template"`
	// Topics are the topics whose messages a subscribe block delivers to
	// the method, when there are any: a gateway refuses it to its
	// clients, and a call from the explorer simulates a delivery, which
	// carries no request headers.
	Topics []string `json:"topics,omitempty"`
}

// explorer serves GET /methods, the methods of the app's services, and
// POST /call/{service}/{method}, a call with a JSON body. A call's reply is
// Connect's: the reply message as JSON, or an error's code and message with
// the HTTP status of the code. The Parigot-Trace header names the trace
// of the call, whose span is a child of a span the explorer makes up.
type explorer struct {
	methods []ExplorerMethod
	known   map[string]protoreflect.MessageDescriptor // "/service/Method": its request
	topics  map[string][]string                       // "/service/Method": the topics delivered to it
	types   *dynamicpb.Types
	gateway http.Handler // the gateway's handler of every service
}

// explorerServices returns the proto services the guests implement, and
// the guest of each.
func explorerServices(guests []*host.GuestSpec) (names []string, guestOf map[string]string) {
	guestOf = map[string]string{}
	for _, g := range guests {
		if g.Kind != host.Service {
			continue
		}
		for _, s := range g.Implements {
			if _, dup := guestOf[s]; !dup {
				names = append(names, s)
				guestOf[s] = g.Name
			}
		}
	}
	return names, guestOf
}

// newExplorer returns the explorer of every service the guests implement,
// whose calls go to the endpoints find gives, from caller.
func newExplorer(schema *Schema, guests []*host.GuestSpec, find native.Services, caller *native.Caller, log *slog.Logger) (http.Handler, error) {
	names, guestOf := explorerServices(guests)
	log = log.With("gateway", ExplorerName)
	h, err := newHandler(schema, names, nil, backend{find: find, caller: caller, log: log, given: true}, log)
	if err != nil {
		return nil, fmt.Errorf("the dashboard's explorer: %w", err)
	}
	e := &explorer{known: map[string]protoreflect.MessageDescriptor{}, topics: deliveredTopics(guests), types: schema.types, gateway: h, methods: []ExplorerMethod{}}
	for _, name := range names {
		sd, err := schema.service(name)
		if err != nil {
			return nil, err
		}
		for i := 0; i < sd.Methods().Len(); i++ {
			md := sd.Methods().Get(i)
			if md.IsStreamingClient() || md.IsStreamingServer() {
				continue
			}
			tmpl, _ := json.MarshalIndent(template(md.Input(), 0), "", "  ")
			proc := "/" + name + "/" + string(md.Name())
			e.methods = append(e.methods, ExplorerMethod{Service: name, Method: string(md.Name()), Guest: guestOf[name],
				Request: string(md.Input().FullName()), Template: tmpl, Topics: e.topics[proc]})
			e.known[proc] = md.Input()
		}
	}
	sort.SliceStable(e.methods, func(i, j int) bool {
		return e.methods[i].Service+"/"+e.methods[i].Method < e.methods[j].Service+"/"+e.methods[j].Method
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /methods", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(e.methods)
	})
	mux.HandleFunc("POST /call/{service}/{method}", e.call)
	return mux, nil
}

// call hands a call to the gateway's handler as Connect's unary protocol
// with a JSON body, under a span made up for it.
func (e *explorer) call(w http.ResponseWriter, req *http.Request) {
	proc := "/" + req.PathValue("service") + "/" + req.PathValue("method")
	input, ok := e.known[proc]
	if !ok {
		connectError(w, http.StatusNotFound, connect.CodeUnimplemented, fmt.Sprintf("the app has no method %s: its services' methods are at /api/explorer/methods", proc[1:]))
		return
	}
	if why := foreignRequest(req); why != "" {
		connectError(w, http.StatusForbidden, connect.CodePermissionDenied, why)
		return
	}
	header, f := e.givenHeaders(proc, req.Header)
	if f != nil {
		refuseConnect(w, f.code, f.msg)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig): // as the gateway answers it
		connectError(w, http.StatusRequestEntityTooLarge, connect.CodeResourceExhausted, fmt.Sprintf("the request body is larger than the gateway's limit of %d bytes", tooBig.Limit))
		return
	case err != nil:
		connectError(w, http.StatusBadRequest, connect.CodeInvalidArgument, fmt.Sprintf("reading the request body: %v", err))
		return
	}
	// A body that is JSON but not the request (a field misspelt, a string
	// where a number goes) is said to be so here: the gateway, like
	// Connect's servers, would drop the fields it does not know.
	if json.Valid(body) {
		if err := (protojson.UnmarshalOptions{Resolver: e.types}).Unmarshal(body, dynamicpb.NewMessage(input)); err != nil {
			why := err.Error()
			if misfit := jsonMisfit(body, input); misfit != "" {
				why = misfit // where, and what the field takes (a misspelt field is protojson's to say)
			}
			connectError(w, http.StatusBadRequest, connect.CodeInvalidArgument, fmt.Sprintf("the body is not a %s: %s", input.FullName(), why))
			return
		}
	}
	traceID := observe.NewTraceID()
	span := abi.TraceContext{TraceID: traceID, SpanID: observe.NewSpanID(), Flags: 1}
	r := req.Clone(context.WithValue(req.Context(), givenKey{}, header))
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	r.URL.Path, r.URL.RawPath = proc, ""
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Connect-Protocol-Version", "1")
	r.Header.Set("traceparent", span.Traceparent())
	w.Header().Set("Parigot-Trace", traceID.String())
	e.gateway.ServeHTTP(w, r)
}

// deliveredTopics are the topics the subscribe blocks of guests deliver
// to each method, by its path ("/package.Service/Method").
func deliveredTopics(guests []*host.GuestSpec) map[string][]string {
	topics := map[string][]string{}
	for _, g := range guests {
		for _, sub := range g.Subscriptions {
			proc := "/" + sub.Method
			if !slices.Contains(topics[proc], sub.Topic) {
				topics[proc] = append(topics[proc], sub.Topic)
			}
		}
	}
	return topics
}

// givenKey keys, in the context of a call from the explorer, the request
// headers its user gave, encoded as passOn encodes a gateway's (see
// backend.passedOn).
type givenKey struct{}

// givenHeaders encodes the request headers the explorer's user gave in
// the call to proc, hdr's Parigot-Header-<name> headers, as a gateway
// encodes those its block lists (passOn: the same bounds, the same
// refusals), or says why the call is refused: a name a gateway block may
// not list (manifest.HeaderRefusal), or headers given to a method a
// topic delivers to, whose deliveries carry none.
func (e *explorer) givenHeaders(proc string, hdr http.Header) ([]byte, *failure) {
	var names []string
	for key := range hdr {
		if len(key) < len(ExplorerHeaderPrefix) || !strings.EqualFold(key[:len(ExplorerHeaderPrefix)], ExplorerHeaderPrefix) {
			continue
		}
		name := strings.ToLower(key[len(ExplorerHeaderPrefix):])
		if why := manifest.HeaderRefusal(name); why != "" {
			return nil, &failure{code: connect.CodeInvalidArgument, msg: fmt.Sprintf("request header %s (%s) %s, so no gateway passes it on to a method, and neither does the explorer", name, key, why)}
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return nil, nil
	}
	sort.Strings(names)
	if topics := e.topics[proc]; len(topics) > 0 {
		return nil, &failure{code: connect.CodeInvalidArgument, msg: fmt.Sprintf("%s receives the messages of topic %s, and a call from the explorer simulates a delivery, which carries no request headers: call it without the headers given (%s)",
			proc[1:], strings.Join(quoted(topics), ", "), strings.Join(names, ", "))}
	}
	return passOn(names, func(name string) []string { return hdr.Values(ExplorerHeaderPrefix + name) })
}

// quoted is each of s in Go's double quotes.
func quoted(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strconv.Quote(v)
	}
	return out
}

// foreignRequest says why req may not be the dashboard's own page calling
// the explorer, or "". Any web page the developer visits can send a POST to
// a local address; without these checks it could call the app's methods.
// A JSON content type makes a browser ask first (a CORS preflight, which
// the dashboard never allows), an Origin must be the dashboard's own, and
// the Host must be an IP address or localhost, so that a page whose domain
// is made to resolve to this machine (DNS rebinding) is refused too.
func foreignRequest(req *http.Request) string {
	ct := req.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return fmt.Sprintf("the explorer takes a JSON body (Content-Type: application/json), not %q", ct)
	}
	host := req.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host != "localhost" && net.ParseIP(host) == nil {
		return fmt.Sprintf("the explorer answers only at an IP address or localhost, not %q: open the dashboard at the URL parigot run printed", req.Host)
	}
	if origin := req.Header.Get("Origin"); origin != "" && origin != "http://"+req.Host {
		return fmt.Sprintf("the explorer takes calls from the dashboard's own page only, not from %s", origin)
	}
	return ""
}

// maxTemplateDepth bounds how deep a request's template spells out nested
// messages (a recursive message would never end).
const maxTemplateDepth = 3

// template is a JSON value for every field of md, zero but for its type:
// what the explorer's editor starts from.
func template(md protoreflect.MessageDescriptor, depth int) map[string]any {
	out := map[string]any{}
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		f := fields.Get(i)
		switch {
		case f.IsMap():
			out[f.JSONName()] = map[string]any{}
		case f.IsList():
			out[f.JSONName()] = []any{}
		default:
			out[f.JSONName()] = zeroJSON(f, depth)
		}
	}
	return out
}

// zeroJSON is the template's value of one singular field.
func zeroJSON(f protoreflect.FieldDescriptor, depth int) any {
	switch f.Kind() {
	case protoreflect.BoolKind:
		return false
	case protoreflect.StringKind, protoreflect.BytesKind:
		return ""
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return "0" // protobuf's JSON writes 64-bit integers as strings
	case protoreflect.EnumKind:
		if v := f.Enum().Values(); v.Len() > 0 {
			return string(v.Get(0).Name())
		}
		return 0
	case protoreflect.MessageKind, protoreflect.GroupKind:
		m := f.Message()
		if depth >= maxTemplateDepth || m.FullName().Parent() == "google.protobuf" {
			return nil // well-known types have JSON forms of their own
		}
		return template(m, depth+1)
	}
	return 0
}
