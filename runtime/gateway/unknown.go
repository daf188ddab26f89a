package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/reflect/protoreflect"

	"parigot.dev/parigot/internal/suggest"
)

// unknownRoute answers what vanguard routes nowhere (a method or service
// the gateway does not serve, a path no REST route maps, a method's path
// with a content type no protocol uses) in the protocol the client speaks,
// saying what the gateway does serve: a gRPC or gRPC-Web client gets
// status unimplemented in its trailers, anyone else Connect's JSON error,
// which Connect clients read and curl shows. Without it, vanguard answers
// net/http's plain-text "404 page not found", and a gRPC client a bare
// HTTP 404.
//
// The gRPC server of the gateway (grpcGateway) says the same of a method
// it does not serve.
type unknownRoute struct {
	services []string            // the services the gateway serves, sorted
	methods  map[string][]string // their unary methods, by service
	streams  map[string]bool     // their streaming methods, "/pkg.Service/Method"
}

func newUnknownRoute(sds []protoreflect.ServiceDescriptor) *unknownRoute {
	u := &unknownRoute{methods: map[string][]string{}, streams: map[string]bool{}}
	for _, sd := range sds {
		name := string(sd.FullName())
		u.services = append(u.services, name)
		u.methods[name] = []string{}
		for i := 0; i < sd.Methods().Len(); i++ {
			md := sd.Methods().Get(i)
			if md.IsStreamingClient() || md.IsStreamingServer() {
				u.streams["/"+name+"/"+string(md.Name())] = true
				continue
			}
			u.methods[name] = append(u.methods[name], string(md.Name()))
		}
	}
	slices.Sort(u.services)
	return u
}

// grpcTrailersOnly answers r, if it is a gRPC call, with status (its
// number) and msg in a response of headers alone ("trailers-only"), and
// reports whether it did.
func grpcTrailersOnly(w http.ResponseWriter, r *http.Request, status, msg string) bool {
	ct := mediaType(r.Header.Get("Content-Type"))
	if !strings.HasPrefix(ct, "application/grpc") {
		return false
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Grpc-Status", status)
	w.Header().Set("Grpc-Message", grpcMessage(msg))
	w.WriteHeader(http.StatusOK)
	return true
}

func (u *unknownRoute) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	status, msg := u.explain(r)
	if grpcTrailersOnly(w, r, "12", msg) { // unimplemented, as gRPC servers answer a method they do not have
		return
	}
	code := connect.CodeUnimplemented
	if status == http.StatusUnsupportedMediaType {
		code = connect.CodeInvalidArgument
	}
	if !procedureShaped(r.URL.Path) {
		// Not a method's path (/package.Service/Method): a REST client's,
		// told in REST's error form, as the gateway's other REST errors.
		restError(w, status, code, msg)
		return
	}
	connectError(w, status, code, msg)
}

// procedureShaped says whether path is a method's path as Connect, gRPC
// and gRPC-Web call it: /package.Service/Method.
func procedureShaped(path string) bool {
	service, method, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return ok && strings.Contains(service, ".") && method != "" && !strings.Contains(method, "/")
}

// explain is the HTTP status and the message for a request routed
// nowhere.
func (u *unknownRoute) explain(r *http.Request) (int, string) {
	if !procedureShaped(r.URL.Path) {
		// The path is as the client wrote it, escapes and all: vanguard,
		// which hands requests here, is given it so (see decodedOnce).
		return http.StatusNotFound, fmt.Sprintf("no method or REST route at %s %s; this gateway serves %s", r.Method, r.URL.Path, u.served())
	}
	service, method, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if msg, unknown := u.call(service, method); unknown {
		return http.StatusNotFound, msg
	}
	return http.StatusUnsupportedMediaType, fmt.Sprintf("%s %s with Content-Type %q: call a method with POST and application/json or application/proto (Connect), application/grpc or application/grpc-web", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
}

// call says why the gateway does not serve service/method, when it does
// not (unknown is then true).
func (u *unknownRoute) call(service, method string) (msg string, unknown bool) {
	methods, served := u.methods[service]
	switch {
	case !served:
		msg := fmt.Sprintf("this gateway serves no service %s", service)
		if c := suggest.Closest(service, u.services); c != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", c)
		}
		return msg + "; it serves " + u.served(), true
	case u.streams["/"+service+"/"+method]:
		return fmt.Sprintf("/%s/%s streams, and the gateway serves unary methods only", service, method), true
	case !slices.Contains(methods, method):
		msg := fmt.Sprintf("%s has no method %s", service, method)
		if c := suggest.Closest(method, methods); c != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", c)
		}
		return msg + fmt.Sprintf("; its methods are %s", strings.Join(methods, ", ")), true
	}
	return "", false
}

// served says what the gateway serves, for a request that reached none of
// it.
func (u *unknownRoute) served() string {
	if len(u.services) == 0 {
		return "no service"
	}
	return fmt.Sprintf("%s (each method at POST /SERVICE/METHOD, and the REST routes of the methods' google.api.http annotations)", strings.Join(u.services, ", "))
}

// unimplementedStream is the handler of the streaming method proc (md),
// which the gateway does not serve: unimplemented, with unknown's word on
// it, in whichever protocol vanguard hands the call over.
func unimplementedStream(proc string, unknown *unknownRoute, md protoreflect.MethodDescriptor) http.Handler {
	service, method, _ := strings.Cut(strings.TrimPrefix(proc, "/"), "/")
	msg, _ := unknown.call(service, method)
	err := connect.NewError(connect.CodeUnimplemented, errors.New(msg))
	opts := []connect.HandlerOption{connect.WithCodec(rawCodec{}), connect.WithSchema(md)}
	switch {
	case md.IsStreamingClient() && md.IsStreamingServer():
		return connect.NewBidiStreamHandler(proc, func(context.Context, *connect.BidiStream[rawMsg, rawMsg]) error { return err }, opts...)
	case md.IsStreamingClient():
		return connect.NewClientStreamHandler(proc, func(context.Context, *connect.ClientStream[rawMsg]) (*connect.Response[rawMsg], error) {
			return nil, err
		}, opts...)
	}
	return connect.NewServerStreamHandler(proc, func(context.Context, *connect.Request[rawMsg], *connect.ServerStream[rawMsg]) error { return err }, opts...)
}
