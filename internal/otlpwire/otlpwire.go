// Package otlpwire decodes the body of an OTLP/HTTP trace export, the
// message ExportTraceServiceRequest, into its ResourceSpans with the
// OpenTelemetry protocol's generated types. The dashboard's receiver and
// the tests' receiver (internal/otlptest) both read exports with it.
//
// It exists because the collector's own package for the service message
// would bring grpc-go into parigot's module: the request has one field,
// so it is read field by field here.
package otlpwire

import (
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// DecodeTraces reads an ExportTraceServiceRequest, whose one field, 1, is
// repeated ResourceSpans. A field of a newer protocol is skipped, as
// protobuf does.
func DecodeTraces(b []byte) ([]*tracepb.ResourceSpans, error) {
	var out []*tracepb.ResourceSpans
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		if num != 1 || typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return nil, protowire.ParseError(n)
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		rs := new(tracepb.ResourceSpans)
		if err := proto.Unmarshal(v, rs); err != nil {
			return nil, err
		}
		out = append(out, rs)
	}
	return out, nil
}
