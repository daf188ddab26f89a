package guest

import (
	"context"

	"google.golang.org/protobuf/proto"
)

// Caller calls the services of a running app from native Go code, outside
// any guest: the generated <Service>NativeClient types (in the
// <name>_parigot_native.pb.go files, built only natively) call through one.
// A topology test gets one from package apptest (apptest.App).
//
// Call sends req to service ("package.Service") method and decodes the reply
// into resp. It blocks until the reply arrives, ctx ends, or the service's
// method budget passes; a failed call returns an *Error with the same codes a
// guest's future would carry.
type Caller interface {
	Call(ctx context.Context, service, method string, req, resp proto.Message) error
}
