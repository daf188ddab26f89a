package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/grpchealth"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // clients that compress their calls, as net/http's side takes them too
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"parigot.dev/parigot/runtime/internal/abi"
)

// grpcGateway is the gateway's second server: grpc-go's, over grpc-go's
// own HTTP/2 transport, for the connections the sniffer finds to be gRPC
// with protobuf (see listen). It serves what newHandler serves to gRPC
// clients, the same way: the unary methods of the gateway's services
// (unknown ones, through grpc.UnknownServiceHandler, as bytes), reflection
// of those services, and the standard health service, with the same codes,
// messages and details.
type grpcGateway struct {
	be      backend
	log     *slog.Logger
	methods map[string]string // "/pkg.Service/Method" of a unary method -> its service
	order   []string          // the services reflection lists, in the connect path's order
	why     *unknownRoute     // what the gateway says of a method it does not serve
	refused subscribed        // the subscription targets among methods, refused
	late    lateReads         // the calls whose requests are being read, bounded by limits.read
}

// maxStreams is how many calls a gRPC connection may have open at once,
// as net/http's HTTP/2 server allows: without a bound grpc-go takes any
// number, and a client opening streams it never sends a message on (a
// few megabytes of HEADERS frames) held gigabytes of the gateway's memory.
const maxStreams = 250

// newGRPC returns the grpc-go server of a gateway serving the proto
// services named, but for the methods of sub (see refuseSubscribed).
func newGRPC(schema *Schema, services []string, sub subscribed, be backend, log *slog.Logger, limits clientLimits) (*grpc.Server, error) {
	g := &grpcGateway{be: be, log: log, methods: map[string]string{}, refused: sub,
		order: append(slices.Clone(services), grpchealth.HealthV1ServiceName), late: lateReads{limit: limits.read}}
	var sds []protoreflect.ServiceDescriptor
	for _, name := range services {
		sd, err := schema.service(name)
		if err != nil {
			return nil, err
		}
		sds = append(sds, sd)
		for i := 0; i < sd.Methods().Len(); i++ {
			md := sd.Methods().Get(i)
			if !md.IsStreamingClient() && !md.IsStreamingServer() {
				g.methods["/"+name+"/"+string(md.Name())] = name
			}
		}
	}
	g.why = newUnknownRoute(sds)
	served, err := schema.servedFiles(services, sub)
	if err != nil {
		return nil, err
	}
	srv := grpc.NewServer(
		grpc.ForceServerCodecV2(grpcCodec{}),
		grpc.MaxConcurrentStreams(maxStreams),
		grpc.UnknownServiceHandler(g.unary),
		grpc.MaxRecvMsgSize(abi.MaxPayload),
		grpc.MaxHeaderListSize(maxHeaderBytes),
		grpc.ConnectionTimeout(limits.readHeader),
		// A connection whose client sends nothing for limits.write is
		// asked whether it is there (a PING), and closed when it does not
		// answer within limits.write more: a client that stopped reading
		// held the replies it had asked for, which grpc-go's transport
		// keeps until they are sent, for good (its default asks after two
		// hours).
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: IdleTimeout, Time: limits.write, Timeout: limits.write}),
		grpc.InTapHandle(g.boundRead),
		grpc.ChainUnaryInterceptor(g.guardUnary),
		grpc.ChainStreamInterceptor(g.guardStream),
	)
	opts := reflection.ServerOptions{Services: serviceNames(g.order), DescriptorResolver: withHealth{served, healthFile()}}
	reflectionv1.RegisterServerReflectionServer(srv, reflection.NewServerV1(opts))
	reflectionv1alpha.RegisterServerReflectionServer(srv, reflection.NewServer(opts))
	healthpb.RegisterHealthServer(srv, grpcHealth{checker: healthChecker{services: services, find: be.find}})
	return srv, nil
}

// unary serves every method grpc-go has no service for: a unary method of
// the gateway's services is called as the connect path calls it
// (backend.call); anything else is unimplemented, as it is there.
func (g *grpcGateway) unary(_ any, stream grpc.ServerStream) error {
	proc, _ := grpc.MethodFromServerStream(stream)
	service, ok := g.methods[proc]
	if !ok {
		return g.unknown(proc)
	}
	if msg, refused := g.refused.refusal(proc); refused {
		return status.Error(codes.PermissionDenied, msg) // its request unread
	}
	var req rawMsg
	err := stream.RecvMsg(&req)
	ctx := stream.Context()
	if b, ok := ctx.Value(readBoundKey{}).(*readBound); ok {
		g.late.arrived(b)
		if b.late.Load() {
			g.log.Warn("gateway: a gRPC call's request did not arrive in time; the call was cut off", "method", proc, "limit", g.late.limit)
		}
	}
	if err != nil {
		return grpcUnread(err) // or grpc-go's status: too large, canceled, past a deadline, ...
	}
	var traceparent string
	// One key, not FromIncomingContext, which copies every header.
	if v := metadata.ValueFromIncomingContext(ctx, "traceparent"); len(v) > 0 {
		traceparent = v[0]
	}
	header, f := passOn(g.be.headers, func(name string) []string { return metadata.ValueFromIncomingContext(ctx, name) })
	if f != nil {
		return f.grpc()
	}
	reply, f := g.be.call(ctx, service, strings.TrimPrefix(proc, "/"), traceparent, header, req.b)
	if f != nil {
		return f.grpc()
	}
	return stream.SendMsg(&rawMsg{b: reply})
}

// readBoundKey is the context key of a call's readBound.
type readBoundKey struct{}

// boundRead gives a call of the gateway's methods limits.read for its
// request to arrive, as net/http gives its requests (ReadTimeout): a client
// that sends the headers of a call and never its message holds a stream,
// and its handler, no longer. grpc-go's transport reads a stream's message
// under the context this returns, and ends the call with DeadlineExceeded
// when that context ends as past a deadline; unary lifts the bound once
// the message is in. Reflection and health streams are not bounded, nor
// are the calls unary refuses without reading their messages.
func (g *grpcGateway) boundRead(ctx context.Context, info *tap.Info) (context.Context, error) {
	if _, ok := g.methods[info.FullMethodName]; !ok || g.late.limit <= 0 {
		return ctx, nil
	}
	if _, refused := g.refused.refusal(info.FullMethodName); refused {
		return ctx, nil
	}
	inner, cancel := context.WithCancel(ctx)
	b := &readBound{Context: inner, cancel: cancel}
	g.late.add(b)
	return b, nil
}

// readBound is a call's context while its request is read: its stream's,
// which lateReads also ends, as past a deadline, if the request is late.
// (A context of the standard library's cannot have its deadline lifted,
// and a timer of its own for each call costs a gateway call about 4%.)
type readBound struct {
	context.Context // cancelled by cancel: Done and the rest are its
	cancel          context.CancelFunc
	since           time.Time // when the call's headers came
	late            atomic.Bool
}

func (b *readBound) Err() error {
	if b.late.Load() {
		return context.DeadlineExceeded
	}
	return b.Context.Err()
}

func (b *readBound) Value(key any) any {
	if key == (readBoundKey{}) {
		return b
	}
	return b.Context.Value(key)
}

// lateReads ends the calls whose requests have been read for longer than
// limit: one timer for all of a gateway's calls, armed while a request is
// being read, which looks every limit/8.
type lateReads struct {
	limit   time.Duration
	mu      sync.Mutex
	reading map[*readBound]bool
	timer   *time.Timer
	armed   bool
}

func (l *lateReads) add(b *readBound) {
	b.since = time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.reading == nil {
		l.reading = map[*readBound]bool{}
	}
	l.reading[b] = true
	if !l.armed {
		l.armed = true
		if l.timer == nil {
			l.timer = time.AfterFunc(l.limit/8, l.sweep)
		} else {
			l.timer.Reset(l.limit / 8)
		}
	}
}

// arrived lifts b's bound: its request is in.
func (l *lateReads) arrived(b *readBound) {
	l.mu.Lock()
	delete(l.reading, b)
	l.mu.Unlock()
}

func (l *lateReads) sweep() {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	for b := range l.reading {
		if now.Sub(b.since) >= l.limit {
			b.late.Store(true)
			b.cancel()
			delete(l.reading, b)
		}
	}
	l.armed = len(l.reading) > 0
	if l.armed {
		l.timer.Reset(l.limit / 8)
	}
}

// unknown is the error for a method the gateway does not serve.
func (g *grpcGateway) unknown(proc string) error {
	service, method, _ := strings.Cut(strings.TrimPrefix(proc, "/"), "/")
	msg, _ := g.why.call(service, method)
	return status.Error(codes.Unimplemented, msg)
}

// grpc is f as grpc-go's handlers return it: google.rpc.Status with f's
// details.
func (f *failure) grpc() error {
	return status.FromProto(&spb.Status{Code: int32(f.code), Message: f.msg, Details: f.details}).Err()
}

// guardUnary and guardStream refuse a request in another encoding than
// protobuf (grpc-go's server decodes everything with grpcCodec), and turn a
// panic while serving it into a failed call, logged, so that the gateway
// serves everyone else on.
func (g *grpcGateway) guardUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer g.recover(info.FullMethod, &err)
	if err := protobufOnly(ctx); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (g *grpcGateway) guardStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	defer g.recover(info.FullMethod, &err)
	if err := protobufOnly(ss.Context()); err != nil {
		return err
	}
	switch info.FullMethod {
	case reflectionv1.ServerReflection_ServerReflectionInfo_FullMethodName, reflectionv1alpha.ServerReflection_ServerReflectionInfo_FullMethodName:
		ss = orderedList{ss, g.order}
	}
	return handler(srv, ss)
}

func (g *grpcGateway) recover(method string, err *error) {
	if v := recover(); v != nil {
		g.log.Error("gateway: a request panicked; it failed, and the gateway serves on", "path", method, "panic", v, "stack", string(debug.Stack()))
		*err = status.Error(codes.Internal, "internal error")
	}
}

// protobufOnly refuses a request whose content type is gRPC's in another
// encoding (application/grpc+json): it came on a connection whose first
// request was gRPC with protobuf, which the sniffer gave to grpc-go's
// server; or one that no server of the gateway takes (application/grpc+foo),
// saying which it takes. (A request that is not gRPC at all, grpc-go's
// transport refuses itself, with HTTP 415.)
func protobufOnly(ctx context.Context) error {
	ct := metadata.ValueFromIncomingContext(ctx, "content-type")
	switch {
	case len(ct) != 1 || grpcProto(ct[0]):
	case !grpcServed(mediaType(ct[0])):
		return status.Error(codes.InvalidArgument, unservedGRPCType(ct[0]))
	default:
		return status.Errorf(codes.Unimplemented, "content type %s on a connection that began with gRPC in protobuf: the gateway serves it on a connection of its own", ct[0])
	}
	return nil
}

// grpcCodec is the codec of every request grpc-go's server takes for the
// gateway (grpc.ForceServerCodecV2): a method's request and reply pass as
// the bytes they are (rawMsg); reflection's and health's messages are
// protobuf's.
type grpcCodec struct{}

func (grpcCodec) Name() string { return "proto" }

func (grpcCodec) Marshal(v any) (mem.BufferSlice, error) {
	var b []byte
	switch m := v.(type) {
	case *rawMsg:
		b = m.b
	case proto.Message:
		var err error
		if b, err = proto.Marshal(m); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("gateway: cannot encode %T", v)
	}
	if len(b) == 0 {
		return nil, nil
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (grpcCodec) Unmarshal(data mem.BufferSlice, v any) error {
	switch m := v.(type) {
	case *rawMsg:
		m.b = data.Materialize() // a copy: grpc-go reuses data's buffers
		return nil
	case proto.Message:
		return proto.Unmarshal(data.Materialize(), m)
	}
	return fmt.Errorf("gateway: cannot decode into %T", v)
}

// serviceNames lists the services grpc-go's reflection shows.
type serviceNames []string

func (n serviceNames) GetServiceInfo() map[string]grpc.ServiceInfo {
	m := make(map[string]grpc.ServiceInfo, len(n))
	for _, name := range n {
		m[name] = grpc.ServiceInfo{}
	}
	return m
}

// orderedList lists the services in reflection's answers in the order of
// the gateway's list, as the connect path's reflection does (grpc-go's
// sorts them by name).
type orderedList struct {
	grpc.ServerStream
	order []string
}

func (o orderedList) SendMsg(m any) error {
	switch r := m.(type) {
	case *reflectionv1.ServerReflectionResponse:
		if l := r.GetListServicesResponse(); l != nil {
			sortLike(l.Service, o.order)
		}
	default:
		sortV1alphaList(m, o.order)
	}
	return o.ServerStream.SendMsg(m)
}

func sortLike[T interface{ GetName() string }](list []T, order []string) {
	slices.SortStableFunc(list, func(a, b T) int {
		return slices.Index(order, a.GetName()) - slices.Index(order, b.GetName())
	})
}

// grpcHealth is the standard health service on grpc-go's server, answering
// Check as the connect path's does (healthChecker). Watch is
// unimplemented, as it is there (a client that watches then checks
// instead); so is List.
type grpcHealth struct {
	healthpb.UnimplementedHealthServer
	checker healthChecker
}

func (h grpcHealth) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	serving, err := h.checker.status(ctx, req.GetService())
	switch {
	case err != nil:
		return nil, status.Error(codes.NotFound, err.Error())
	case serving:
		return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_NOT_SERVING}, nil
}

func (grpcHealth) Watch(*healthpb.HealthCheckRequest, grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	return status.Error(codes.Unimplemented, "watching health state is not supported")
}
