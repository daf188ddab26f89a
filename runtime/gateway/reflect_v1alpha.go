//lint:file-ignore SA1019 reflection's v1alpha is deprecated, and still what grpcurl and older clients ask first: the gateway serves both versions

package gateway

import reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"

// sortV1alphaList orders the services of a v1alpha reflection answer that
// lists them like the gateway's list (see orderedList); other messages are
// left alone.
func sortV1alphaList(m any, order []string) {
	if r, ok := m.(*reflectionv1alpha.ServerReflectionResponse); ok {
		if l := r.GetListServicesResponse(); l != nil {
			sortLike(l.Service, order)
		}
	}
}
