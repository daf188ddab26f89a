package gateway

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// boundRoute is one REST route of a google.api.http annotation: its HTTP
// method, its path template as a regular expression, the request fields
// the template binds, and the field its body holds ("*" for all the
// fields the path does not bind, "" for no body); and the method's
// request, which its query sets.
type boundRoute struct {
	proc   string // the method's path, "/package.Service/Method"
	rule   string // as the rule writes it: post: "/v1/books"
	method string
	path   *regexp.Regexp
	fields []string // the template's variables, as written (proto names)
	body   string
	input  protoreflect.MessageDescriptor
	bound  [][]protoreflect.FieldDescriptor // fields, resolved in input
	held   []protoreflect.FieldDescriptor   // body resolved in input, unless it is "*" or ""
}

// restRoutes are the REST routes of the methods of services.
func restRoutes(sds []protoreflect.ServiceDescriptor) []boundRoute {
	var routes []boundRoute
	for _, sd := range sds {
		for i := 0; i < sd.Methods().Len(); i++ {
			rule, _ := proto.GetExtension(sd.Methods().Get(i).Options(), annotations.E_Http).(*annotations.HttpRule)
			if rule == nil {
				continue
			}
			md := sd.Methods().Get(i)
			input := md.Input()
			for _, r := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
				route, ok := routeOf(r)
				if !ok {
					continue
				}
				route.proc = "/" + string(sd.FullName()) + "/" + string(md.Name())
				route.input = input
				// A template or a body names fields by their proto
				// names; vanguard refuses a rule naming none when the
				// gateway starts.
				for _, f := range route.fields {
					if chain, ok := fieldPath(input, f, false); ok {
						route.bound = append(route.bound, chain)
					}
				}
				if route.body != "*" && route.body != "" {
					route.held, _ = fieldPath(input, route.body, false)
				}
				routes = append(routes, route)
			}
		}
	}
	return routes
}

// fieldPath is the one rule of how a request field is named in a REST
// route: a path of names separated by dots ("filter.min_pages"), each the
// name of a field of the message the one before it holds. In a query
// parameter (jsonNames) each element is the field's JSON name or, if no
// field has that JSON name, its proto name (?page_size= and ?pageSize=),
// as vanguard reads a query; a template or a body names fields by their
// proto names only. fieldPath returns the fields it resolved, from the
// first, and whether it resolved every element (not when one names no
// field, or follows a field that holds no single message).
func fieldPath(msg protoreflect.MessageDescriptor, path string, jsonNames bool) ([]protoreflect.FieldDescriptor, bool) {
	var chain []protoreflect.FieldDescriptor
	for _, elem := range strings.Split(path, ".") {
		if n := len(chain); n > 0 {
			if last := chain[n-1]; last.IsList() || last.IsMap() || last.Message() == nil {
				return chain, false
			}
			msg = chain[n-1].Message()
		}
		var fd protoreflect.FieldDescriptor
		if jsonNames {
			fd = msg.Fields().ByJSONName(elem)
		}
		if fd == nil {
			fd = msg.Fields().ByName(protoreflect.Name(elem))
		}
		if fd == nil {
			return chain, false
		}
		chain = append(chain, fd)
	}
	return chain, true
}

// under reports whether the fields of chain start with those of prefix:
// chain names prefix's field or a field inside it.
func under(chain, prefix []protoreflect.FieldDescriptor) bool {
	if len(prefix) == 0 || len(chain) < len(prefix) {
		return false
	}
	for i, fd := range prefix {
		if chain[i].FullName() != fd.FullName() {
			return false
		}
	}
	return true
}

// protoPath is chain's path by proto names ("filter.min_pages").
func protoPath(chain []protoreflect.FieldDescriptor) string {
	names := make([]string, len(chain))
	for i, fd := range chain {
		names[i] = string(fd.Name())
	}
	return strings.Join(names, ".")
}

// routeOf is the route of one HTTP rule, and false for a template it
// cannot read (vanguard refuses those when the gateway starts).
func routeOf(r *annotations.HttpRule) (boundRoute, bool) {
	var method, tmpl string
	switch p := r.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		method, tmpl = http.MethodGet, p.Get
	case *annotations.HttpRule_Put:
		method, tmpl = http.MethodPut, p.Put
	case *annotations.HttpRule_Post:
		method, tmpl = http.MethodPost, p.Post
	case *annotations.HttpRule_Delete:
		method, tmpl = http.MethodDelete, p.Delete
	case *annotations.HttpRule_Patch:
		method, tmpl = http.MethodPatch, p.Patch
	case *annotations.HttpRule_Custom:
		method, tmpl = p.Custom.GetKind(), p.Custom.GetPath()
	default:
		return boundRoute{}, false
	}
	if !strings.HasPrefix(tmpl, "/") {
		return boundRoute{}, false
	}
	path, verb := tmpl[1:], ""
	// A verb (":publish") follows the last segment, outside any variable.
	if i := strings.LastIndexByte(path, ':'); i > max(strings.LastIndexByte(path, '/'), strings.LastIndexByte(path, '}')) {
		path, verb = path[:i], path[i+1:]
	}
	var re strings.Builder
	re.WriteString("^")
	var fields []string
	for len(path) > 0 {
		re.WriteString("/")
		var seg string
		if strings.HasPrefix(path, "{") {
			end := strings.IndexByte(path, '}')
			if end < 0 {
				return boundRoute{}, false
			}
			field, sub, hasSub := strings.Cut(path[1:end], "=")
			fields = append(fields, field)
			if !hasSub {
				sub = "*"
			}
			re.WriteString("(?:" + segments(sub) + ")")
			path = strings.TrimPrefix(path[end+1:], "/")
			continue
		}
		seg, path, _ = strings.Cut(path, "/")
		re.WriteString(segments(seg))
	}
	if verb != "" {
		re.WriteString(regexp.QuoteMeta(":" + verb))
	}
	re.WriteString("$")
	rx, err := regexp.Compile(re.String())
	if err != nil {
		return boundRoute{}, false
	}
	return boundRoute{rule: fmt.Sprintf("%s: %q", strings.ToLower(method), tmpl), method: method, path: rx, fields: fields, body: r.GetBody()}, true
}

// segments is the regular expression of a template's segments without
// variables ("shelves/*/books/**"), joined by slashes.
func segments(s string) string {
	parts := strings.Split(s, "/")
	for i, p := range parts {
		switch p {
		case "*":
			parts[i] = "[^/]+"
		case "**":
			parts[i] = ".*"
		default:
			parts[i] = regexp.QuoteMeta(p)
		}
	}
	return strings.Join(parts, "/")
}

// restQuery holds a REST call's query to what google.api.http lets it
// say: the fields that neither the path binds nor the body holds, each
// given a value of its type, once unless it is repeated (see checkQuery).
//
// A parameter that names a field the path binds (or a field inside one)
// is dropped: the path says which resource a call is for, and a proxy, a
// firewall or a log that reads the path must be able to trust it; without
// this, /v1/books/1?id=2 read book 2. A parameter that names a field the
// body holds is refused (invalid argument, 400), and so is every
// parameter of a route whose body is "*": vanguard would let it override
// what the body says (POST /v1/transfers?amount=500 with {"amount": 5}
// moved 500), and dropping it would lose what the client sent without a
// word.
func restQuery(routes []boundRoute, h http.Handler) http.Handler {
	if len(routes) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery == "" {
			h.ServeHTTP(w, r)
			return
		}
		for _, route := range routes {
			if !route.matches(r) {
				continue
			}
			q, err := url.ParseQuery(r.URL.RawQuery)
			if err != nil {
				// Query would drop what it cannot read (every parameter,
				// past 10000), and the method be called without it.
				restError(w, http.StatusBadRequest, connect.CodeInvalidArgument, unreadableQuery(r.URL.RawQuery, err))
				return
			}
			changed := false
			for key := range q {
				if route.binds(key) {
					q.Del(key)
					changed = true
				}
			}
			if key, ok := route.heldByBody(q); ok {
				restError(w, http.StatusBadRequest, connect.CodeInvalidArgument, route.bodyRefusal(r, key))
				return
			}
			refusal, masks := checkQuery(route.input, q)
			if refusal != "" {
				restError(w, http.StatusBadRequest, connect.CodeInvalidArgument, refusal)
				return
			}
			if changed || masks {
				r.URL.RawQuery = q.Encode()
			}
			break
		}
		h.ServeHTTP(w, r)
	})
}

// maxQueryParams is how many parameters net/url reads of a query, at most
// (GODEBUG urlmaxqueryparams): past them it reads none.
const maxQueryParams = 10000

// unreadableQuery says why net/url cannot read the query q (err), and
// what to send instead.
func unreadableQuery(q string, err error) string {
	var esc url.EscapeError
	switch {
	case strings.Count(q, "&")+1 > maxQueryParams:
		return fmt.Sprintf("the query has %d parameters, more than the %d the gateway reads; send fewer, or send the request's fields in a body (a method whose google.api.http rule says body: \"*\")", strings.Count(q, "&")+1, maxQueryParams)
	case errors.As(err, &esc):
		return fmt.Sprintf("the query has a %% that begins no escape (%q): write a %% in a parameter as %%25", string(esc))
	case strings.Contains(q, ";"):
		return "the query has a ';', which separates nothing: separate parameters with '&', and write a ';' in a value as %3B"
	}
	return fmt.Sprintf("the query cannot be read: %v", err)
}

// matches says whether r is a request of the route: its HTTP method, and
// its path as the client wrote it (see decodedOnce).
func (b boundRoute) matches(r *http.Request) bool {
	return r.Method == b.method && b.path.MatchString(r.URL.EscapedPath())
}

// routeFor is the route of the REST request r, when the routes that
// match it are of one method and agree on its body (vanguard picks among
// routes otherwise); nil when there is none such.
func routeFor(routes []boundRoute, r *http.Request) *boundRoute {
	var found *boundRoute
	for i := range routes {
		if !routes[i].matches(r) {
			continue
		}
		if found == nil {
			found = &routes[i]
		} else if found.proc != routes[i].proc || found.body != routes[i].body {
			return nil
		}
	}
	return found
}

// bodyMisfit says where and why the JSON body of a request of the route
// does not fit what the route's body holds (the request, for body: "*";
// one field of it, for body: "<field>"), or "" when it fits, as vanguard
// decodes it (fields the message does not have left out). See jsonMisfit.
func (b boundRoute) bodyMisfit(body []byte, types *dynamicpb.Types) string {
	opts := protojson.UnmarshalOptions{DiscardUnknown: true, Resolver: types}
	rule := fmt.Sprintf("body: %q in the google.api.http rule of %s", b.body, strings.TrimPrefix(b.proc, "/"))
	switch {
	case b.body == "*":
		if opts.Unmarshal(body, dynamicpb.NewMessage(b.input)) == nil {
			return ""
		}
		if why := jsonMisfit(body, b.input); why != "" {
			return fmt.Sprintf("the request body is not a %s (%s): %s", b.input.FullName(), rule, why)
		}
	case len(b.held) == 1:
		fd := b.held[0]
		wrapped := append(append([]byte(`{"`+fd.JSONName()+`":`), body...), '}')
		if opts.Unmarshal(wrapped, dynamicpb.NewMessage(b.input)) == nil {
			return ""
		}
		what := typeName(fd)
		if fd.IsList() {
			what = "list of " + what
		}
		if why := jsonFieldMisfit(body, fd); why != "" {
			return fmt.Sprintf("the request body is not a %s (%s): %s", what, rule, why)
		}
	}
	return "" // vanguard says what is wrong
}

// restNoBody refuses a REST request with a body whose route takes none
// (its google.api.http rule has no body), with 400 and what to change:
// vanguard refused it in words that named neither the rule nor the fix
// ("request should have no body; instead got 24 bytes"), a mistake easy
// to make in a POST rule. A request that routes of other methods, or
// with a body, also match is left to vanguard, which picks the route
// (see routeFor).
// procedures are the methods' own paths, which no REST rule maps.
func restNoBody(routes []boundRoute, procedures map[string]protoreflect.MessageDescriptor, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, isCall := procedures[r.URL.Path]; isCall || r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			h.ServeHTTP(w, r)
			return
		}
		route := routeFor(routes, r)
		if route == nil || route.body != "" {
			h.ServeHTTP(w, r)
			return
		}
		// Whether the body is empty, when its length is not said.
		body := bufio.NewReaderSize(r.Body, 16)
		if _, err := body.Peek(1); err != nil {
			r.Body = readCloser{body, r.Body}
			h.ServeHTTP(w, r)
			return
		}
		restError(w, http.StatusBadRequest, connect.CodeInvalidArgument, route.noBodyRefusal(r))
	})
}

// readCloser reads from one reader and closes another.
type readCloser struct {
	io.Reader
	io.Closer
}

// noBodyRefusal says why r, a request with a body, is refused by its
// route, which takes none, and what to do.
func (b boundRoute) noBodyRefusal(r *http.Request) string {
	rule := fmt.Sprintf("the google.api.http rule of %s (%s) has no body", strings.TrimPrefix(b.proc, "/"), b.rule)
	switch b.method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		one := ""
		if fd := b.bodyField(); fd != nil {
			one = fmt.Sprintf(" or names one field, body: %q (the body holds that field)", fd.Name())
		}
		return fmt.Sprintf("%s %s has a body, but %s, so the request takes none: a %s rule usually says body: \"*\" (the body holds every field the path does not bind)%s; or send the fields as query parameters, with no body",
			r.Method, r.URL.EscapedPath(), rule, b.method, one)
	}
	return fmt.Sprintf("%s %s has a body, but %s, so the request takes none: send the fields as query parameters, with no body", r.Method, r.URL.EscapedPath(), rule)
}

// bodyField is a field of the route's request that its body could hold,
// for an example: the first that the path does not bind, of those that
// are messages if any is. Nil when the path binds every field.
func (b boundRoute) bodyField() protoreflect.FieldDescriptor {
	var first protoreflect.FieldDescriptor
	fields := b.input.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if b.binds(string(fd.Name())) {
			continue
		}
		if fd.Message() != nil && !fd.IsList() && !fd.IsMap() {
			return fd
		}
		if first == nil {
			first = fd
		}
	}
	return first
}

// binds says whether the query parameter key names a field the route's
// path binds, or a field inside one.
func (b boundRoute) binds(key string) bool {
	chain, _ := fieldPath(b.input, key, true)
	for _, bound := range b.bound {
		if under(chain, bound) {
			return true
		}
	}
	return false
}

// heldByBody is the first (by name) of the query's parameters that names
// a field the route's body holds: any of them when the body is "*".
func (b boundRoute) heldByBody(q url.Values) (string, bool) {
	if b.body == "" {
		return "", false
	}
	for _, key := range slices.Sorted(maps.Keys(q)) {
		if b.body == "*" {
			return key, true
		}
		if chain, _ := fieldPath(b.input, key, true); under(chain, b.held) {
			return key, true
		}
	}
	return "", false
}

// bodyRefusal says why the query parameter key of r is refused (see
// heldByBody), and what to send instead.
func (b boundRoute) bodyRefusal(r *http.Request, key string) string {
	if b.body == "*" {
		return fmt.Sprintf("query parameter %q: %s %s takes its request's fields in the body (body: \"*\" in the method's google.api.http rule), not in the query; send it in the JSON body",
			key, r.Method, r.URL.EscapedPath())
	}
	return fmt.Sprintf("query parameter %q names a field the body holds (body: %q in the method's google.api.http rule); set it in the JSON body, not in the query",
		key, b.body)
}

// restError answers a REST request with REST's error (google.rpc.Status
// in JSON). The message may hold the request's path: JSON's HTML escaping
// stays on, and no browser may take the answer for a page.
func restError(w http.ResponseWriter, status int, code connect.Code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(restStatus(code, msg))
}

// restStatus is REST's error, google.rpc.Status in JSON, with no details:
// its fields in the order, and without the newline, of those the
// transcoder writes for a method's errors, so that a client sees one
// form whoever refused its call; and, as protojson writes them, with &, <
// and > as they are (json.Marshal writes them \u0026...).
func restStatus(code connect.Code, msg string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Details []any  `json:"details"`
	}{int(code), msg, []any{}})
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
