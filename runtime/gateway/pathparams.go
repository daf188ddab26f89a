package gateway

import (
	"net/http"
	"regexp"
	"strings"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// boundRoute is one REST route of a google.api.http annotation: its HTTP
// method, its path template as a regular expression, and the request
// fields the template binds.
type boundRoute struct {
	method string
	path   *regexp.Regexp
	fields []string
}

// restRoutes are the REST routes of the methods of services that bind
// request fields in their path.
func restRoutes(sds []protoreflect.ServiceDescriptor) []boundRoute {
	var routes []boundRoute
	for _, sd := range sds {
		for i := 0; i < sd.Methods().Len(); i++ {
			rule, _ := proto.GetExtension(sd.Methods().Get(i).Options(), annotations.E_Http).(*annotations.HttpRule)
			if rule == nil {
				continue
			}
			for _, r := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
				if route, ok := routeOf(r); ok && len(route.fields) > 0 {
					routes = append(routes, route)
				}
			}
		}
	}
	return routes
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
	return boundRoute{method: method, path: rx, fields: fields}, true
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

// pathWins drops from a REST call's query the parameters that name a field
// its path binds (or a field inside one): the path says which resource a
// call is for, and a proxy, a firewall or a log that reads the path must
// be able to trust it. google.api.http makes only the fields the path does
// not bind query parameters; without this, /v1/books/1?id=2 read book 2.
func pathWins(routes []boundRoute, h http.Handler) http.Handler {
	if len(routes) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery == "" {
			h.ServeHTTP(w, r)
			return
		}
		for _, route := range routes {
			if r.Method != route.method || !route.path.MatchString(r.URL.EscapedPath()) {
				continue
			}
			q := r.URL.Query()
			changed := false
			for key := range q {
				for _, f := range route.fields {
					if key == f || strings.HasPrefix(key, f+".") {
						q.Del(key)
						changed = true
					}
				}
			}
			if changed {
				r.URL.RawQuery = q.Encode()
			}
			break
		}
		h.ServeHTTP(w, r)
	})
}
