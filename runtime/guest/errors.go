package guest

import (
	"errors"
	"fmt"

	"parigot.dev/parigot/runtime/internal/abi"
)

// Code classifies how a call failed.
type Code = abi.Code

// The codes a call can fail with.
const (
	CodeApplication      = abi.CodeApplication
	CodeDeadlineExceeded = abi.CodeDeadlineExceeded
	CodeUnavailable      = abi.CodeUnavailable
	CodeBadRequest       = abi.CodeBadRequest
	CodeUnimplemented    = abi.CodeUnimplemented
	CodeTooLarge         = abi.CodeTooLarge
	CodeInternal         = abi.CodeInternal
	// CodeResourceExhausted: the service is overloaded (its inbox is full),
	// or the caller has too many calls or reply bytes waiting. It comes at
	// once, without waiting for a deadline: retry later, or slow down.
	CodeResourceExhausted = abi.CodeResourceExhausted
)

// Error is the error a failed call's future carries.
type Error struct {
	Code    Code
	Method  string // "package.Service/Method"
	Message string
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
	return t.Code == e.Code && t.Method == "" && t.Message == ""
}

// Sentinels for errors.Is.
var (
	ErrDeadlineExceeded  = &Error{Code: CodeDeadlineExceeded}
	ErrUnavailable       = &Error{Code: CodeUnavailable}
	ErrUnimplemented     = &Error{Code: CodeUnimplemented}
	ErrBadRequest        = &Error{Code: CodeBadRequest}
	ErrTooLarge          = &Error{Code: CodeTooLarge}
	ErrResourceExhausted = &Error{Code: CodeResourceExhausted}
)

// Errorf returns an *Error with the given code, for service methods that want
// their callers to see a code other than CodeApplication.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of err: the code of an *Error in its chain, and
// CodeApplication for any other error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeApplication
}

// statusError turns a host status into an error for the user.
func statusError(op string, s abi.Status) error {
	return fmt.Errorf("parigot: %s: %s", op, s)
}
