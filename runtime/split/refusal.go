package split

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/nats-io/nats.go"
)

// PermissionError is something the NATS server refused a guest's
// connection: a subscription or a publication its NATS user may not make.
// With the embedded server that cannot happen; with an operator's server
// it means the server is configured otherwise than the guests need.
type PermissionError struct {
	App     string
	Guest   string // whose connection (or NativeCaller)
	Action  string // "subscribe to" or "publish to"; empty when the server's words were not understood
	Subject string
	Queue   string // the queue group of a refused subscription, if any
	Server  string // the server's own words
}

func (e *PermissionError) Error() string {
	what := fmt.Sprintf("refused guest %s: %s", e.Guest, e.Server)
	if e.Action != "" {
		what = fmt.Sprintf("refused to let guest %s %s %q", e.Guest, e.Action, e.Subject)
		if e.Queue != "" {
			what += fmt.Sprintf(" in queue group %q", e.Queue)
		}
	}
	return fmt.Sprintf("the NATS server %s: give the NATS user of %s the permissions `parigot nats-config` prints for it "+
		"(or, for one user shared by the whole app, publish and subscribe on %s.>); if the server has them, check that %s runs with its own credentials: with --nats-seeds, the seed in %s.nk, not another guest's",
		what, e.Guest, subjects{e.App}.root(), e.Guest, e.Guest)
}

// violation reads the server's permission errors, as
// `Permissions Violation for Subscription to "s" using queue "q"`. The
// protocol gives the refused subject only in these words (nats.go reads
// them the same way to find the subscription).
var violation = regexp.MustCompile(`Permissions Violation for (Publish|Subscription) to "([^"]*)"(?: using queue "([^"]*)")?`)

// permissionError turns an error of the connection of app's guest who into
// a PermissionError, or nil when it is not a refused permission.
func permissionError(app, who string, err error) *PermissionError {
	if !errors.Is(err, nats.ErrPermissionViolation) {
		return nil
	}
	pe := &PermissionError{App: app, Guest: who, Server: err.Error()}
	if m := violation.FindStringSubmatch(err.Error()); m != nil {
		pe.Action = map[string]string{"Publish": "publish to", "Subscription": "subscribe to"}[m[1]]
		pe.Subject, pe.Queue = m[2], m[3]
	}
	return pe
}
