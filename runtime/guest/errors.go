package guest

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"parigot.dev/parigot/runtime/internal/abi"
)

// Code classifies how a call failed: gRPC's canonical status codes, with
// the same numbers and meanings, so that a gateway and gRPC clients see
// exactly the code a guest returned.
type Code = abi.Code

// The codes a call can fail with. parigot's own failures use them too: a
// call with no reply within the callee's budget fails with
// CodeDeadlineExceeded; a service that is down or crashed, CodeUnavailable;
// an overloaded service or a payload over 4 MiB, CodeResourceExhausted; a
// request that cannot be decoded, CodeInvalidArgument; a method the service
// does not have, CodeUnimplemented; a method's own error without a code,
// CodeUnknown. CodeOK is no failure: the code of a nil error (CodeOf).
const (
	CodeOK                 = abi.CodeOK
	CodeCanceled           = abi.CodeCanceled
	CodeUnknown            = abi.CodeUnknown
	CodeInvalidArgument    = abi.CodeInvalidArgument
	CodeDeadlineExceeded   = abi.CodeDeadlineExceeded
	CodeNotFound           = abi.CodeNotFound
	CodeAlreadyExists      = abi.CodeAlreadyExists
	CodePermissionDenied   = abi.CodePermissionDenied
	CodeResourceExhausted  = abi.CodeResourceExhausted
	CodeFailedPrecondition = abi.CodeFailedPrecondition
	CodeAborted            = abi.CodeAborted
	CodeOutOfRange         = abi.CodeOutOfRange
	CodeUnimplemented      = abi.CodeUnimplemented
	CodeInternal           = abi.CodeInternal
	CodeUnavailable        = abi.CodeUnavailable
	CodeDataLoss           = abi.CodeDataLoss
	CodeUnauthenticated    = abi.CodeUnauthenticated
)

// Error is the error a failed call's future carries, and what a service
// method returns to give its callers a code and typed details.
type Error struct {
	Code    Code
	Method  string // "package.Service/Method"; set on the caller's side
	Message string
	// Details are typed error details: the error messages a .proto
	// declares (with the parigot.errors.v1.code option) travel here, packed
	// as google.protobuf.Any, as in google.rpc.Status. The generated
	// New<Detail>Error, Is<Detail> and As<Detail> functions read and write
	// them; ErrorDetail reads any message.
	Details []*anypb.Any
}

func (e *Error) Error() string {
	switch {
	case e.Method != "" && e.Message != "":
		return fmt.Sprintf("%s: %s: %s", e.Method, e.Code, e.Message)
	case e.Method != "":
		return fmt.Sprintf("%s: %s", e.Method, e.Code)
	case e.Message != "":
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	return e.Code.String()
}

// Is makes errors.Is(err, guest.ErrDeadlineExceeded) and friends match any
// *Error of the same code.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Code == e.Code && t.Method == "" && t.Message == "" && t.Details == nil
}

// WithDetails adds typed details to e and returns it. A detail that cannot
// be packed (a nil message) is left out.
func (e *Error) WithDetails(details ...proto.Message) *Error {
	for _, d := range details {
		if a, err := anypb.New(d); err == nil {
			e.Details = append(e.Details, a)
		}
	}
	return e
}

// Sentinels for errors.Is, one per code.
var (
	ErrCanceled           = &Error{Code: CodeCanceled}
	ErrUnknown            = &Error{Code: CodeUnknown}
	ErrInvalidArgument    = &Error{Code: CodeInvalidArgument}
	ErrDeadlineExceeded   = &Error{Code: CodeDeadlineExceeded}
	ErrNotFound           = &Error{Code: CodeNotFound}
	ErrAlreadyExists      = &Error{Code: CodeAlreadyExists}
	ErrPermissionDenied   = &Error{Code: CodePermissionDenied}
	ErrResourceExhausted  = &Error{Code: CodeResourceExhausted}
	ErrFailedPrecondition = &Error{Code: CodeFailedPrecondition}
	ErrAborted            = &Error{Code: CodeAborted}
	ErrOutOfRange         = &Error{Code: CodeOutOfRange}
	ErrUnimplemented      = &Error{Code: CodeUnimplemented}
	ErrInternal           = &Error{Code: CodeInternal}
	ErrUnavailable        = &Error{Code: CodeUnavailable}
	ErrDataLoss           = &Error{Code: CodeDataLoss}
	ErrUnauthenticated    = &Error{Code: CodeUnauthenticated}
)

// Errorf returns an *Error with the given code, for service methods that want
// their callers to see a code other than CodeUnknown.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of err: the code of an *Error in its chain,
// CodeDeadlineExceeded and CodeCanceled for the context package's errors,
// CodeOK for nil, and CodeUnknown for any other error.
func CodeOf(err error) Code {
	var e *Error
	switch {
	case err == nil:
		return abi.CodeOK
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, context.DeadlineExceeded):
		return CodeDeadlineExceeded
	case errors.Is(err, context.Canceled):
		return CodeCanceled
	}
	return CodeUnknown
}

// ErrorDetail reports whether err (an *Error in its chain) carries a detail
// of detail's message type, and if so decodes it into detail.
func ErrorDetail(err error, detail proto.Message) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	for _, a := range e.Details {
		if a.MessageIs(detail) && a.UnmarshalTo(detail) == nil {
			return true
		}
	}
	return false
}

// errorPayload is the payload of the reply that fails a call with err: a
// google.rpc.Status with its code, message and details. A forwarded *Error
// keeps its code, message and details intact. An error whose code is OK
// (a zero *Error) or none of the codes fails the call with CodeUnknown: a
// failure must not reach the caller as a success, nor as a code no caller
// knows.
func errorPayload(err error) (Code, []byte) {
	code := CodeOf(err)
	if code == abi.CodeOK || code > abi.MaxCode {
		code = CodeUnknown
	}
	var e *Error
	if !errors.As(err, &e) {
		return code, abi.EncodeError(code, err.Error())
	}
	details := make([][]byte, 0, len(e.Details))
	for _, a := range e.Details {
		if b, err := proto.Marshal(a); err == nil {
			details = append(details, b)
		}
	}
	return code, abi.EncodeError(code, e.Message, details...)
}

// replyError turns an error reply from method into the *Error its caller
// sees.
func replyError(method string, code Code, payload []byte) *Error {
	e := &Error{Code: code, Method: method}
	_, msg, details, err := abi.DecodeError(payload)
	if err != nil {
		e.Message = string(payload)
		return e
	}
	e.Message = msg
	for _, d := range details {
		a := new(anypb.Any)
		if proto.Unmarshal(d, a) == nil {
			e.Details = append(e.Details, a)
		}
	}
	return e
}

// ReplyError turns an error reply's code and payload into the *Error a
// caller sees: what apptest's native calls return, the same as a guest's
// future carries.
func ReplyError(method string, code Code, payload []byte) *Error {
	return replyError(method, code, payload)
}

// statusError turns a host status into an error for the user.
func statusError(op string, s abi.Status) error {
	return fmt.Errorf("parigot: %s: %s", op, s)
}
