package gateway

import (
	"fmt"
	"strings"

	"connectrpc.com/connect"

	"parigot.dev/parigot/runtime/internal/abi"
)

// passOn encodes the request headers of a call from outside that the
// gateway passes on to the method it calls: those of names (its block's
// headers, lowercase) that the request has, each value in the order the
// client sent them, as abi.AppendHeader writes them. values gives a
// header's values: from the HTTP request (REST, Connect, gRPC-Web) or from
// gRPC's metadata. No names, or none of them in the request, gives nil:
// the call carries nothing, as a guest's own calls do.
//
// A request whose headers to pass on are larger than abi.MaxHeader, or
// hold a value that no HTTP request can (a control character: gRPC's
// binary metadata, say), is refused with invalid argument, saying so.
func passOn(names []string, values func(name string) []string) ([]byte, *failure) {
	var h []byte
	for _, name := range names {
		for _, v := range values(name) {
			if !abi.IsHeaderValue(v) {
				return nil, &failure{code: connect.CodeInvalidArgument, msg: fmt.Sprintf("request header %s holds a control character or is longer than 65535 bytes; the gateway passes on only text headers", name)}
			}
			if len(h)+abi.HeaderPairSize(name, v) > abi.MaxHeader {
				return nil, &failure{code: connect.CodeInvalidArgument, msg: fmt.Sprintf("the request headers the gateway passes on to the method (%s) are larger than its limit of %d bytes; send smaller ones", strings.Join(names, ", "), abi.MaxHeader)}
			}
			h = abi.AppendHeader(h, name, v)
		}
	}
	return h, nil
}
