package split

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
)

// A program is not replicated: it runs once in an app, as single mode
// runs it. On one machine the supervisor starts each program once; across
// machines (--only over a shared NATS server), an operator who names a
// program in the --only of two machines would have it run twice, its
// work (a migration, a report, a batch) done twice. So a program's
// process, before it starts its guest, asks on the program's subject,
// parigot.<app>.program.<name>, whether a process of it runs already, and
// answers there itself from then on; one that hears an answer does not
// start, and says where the program runs.
//
// Two machines that start the program within the same moment may both
// hear nothing and both run it: the check catches a program left in two
// --only lists, which is how it happens, not a race of starts.

// programAsk bounds the wait for an answer. No process of the program
// answers at once ("no responders"); one that runs answers within a
// round trip, but on a machine short of processors its callback may wait
// seconds to run, and an answer missed is a program run twice. A server
// that refuses the subject (configured for an earlier parigot) lets the
// request wait for this long, once.
const programAsk = 5 * time.Second

// ProgramElsewhereError is a program not started because a process of it
// runs on another machine of the app already. Its message follows the
// program's name ("program report: runs on another machine ...").
type ProgramElsewhereError struct {
	Program string
	Where   string // what the running process said of itself
}

func (e *ProgramElsewhereError) Error() string {
	return fmt.Sprintf("runs on another machine of the app already (%s), so it is not started here: a program runs once in an app; name program %s in the --only of one machine only", e.Where, e.Program)
}

// claimProgram makes this process the one that runs program name in the
// app, or returns a *ProgramElsewhereError when another does already (see
// above). From then on until n closes, n answers for the program.
func (n *Network) claimProgram(ctx context.Context, name string) error {
	ask, cancel := context.WithTimeout(ctx, programAsk)
	defer cancel()
	m, err := n.nc.RequestWithContext(ask, n.subj.program(name), nil)
	switch {
	case err == nil:
		return &ProgramElsewhereError{Program: name, Where: string(m.Data)}
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, nats.ErrNoResponders), errors.Is(err, context.DeadlineExceeded):
		// None runs, or the server refused the question (programRefused).
	default:
		return fmt.Errorf("asking whether program %s runs on another machine: %w", name, err)
	}
	here := programHere()
	sub, err := n.nc.Subscribe(n.subj.program(name), func(m *nats.Msg) { m.Respond([]byte(here)) })
	if err != nil {
		return fmt.Errorf("answering for program %s: %w", name, err)
	}
	n.mu.Lock()
	n.subs = append(n.subs, sub)
	n.mu.Unlock()
	// The subscription reaches the server with the connection's next
	// write: until the server has it, another process's question finds
	// no one and that process runs the program too. The program starts
	// once the server has answered a ping sent after it.
	flush, cancelFlush := context.WithTimeout(ctx, programAsk)
	defer cancelFlush()
	if err := n.nc.FlushWithContext(flush); err != nil && ctx.Err() == nil {
		return fmt.Errorf("answering for program %s: the NATS server did not take the subscription: %w", name, err)
	}
	return ctx.Err()
}

// programHere is what a process running a program says of itself: where
// and since when.
func programHere() string {
	host, err := os.Hostname()
	if err != nil {
		host = "a machine that does not know its name"
	}
	return fmt.Sprintf("on %s, process %d, since %s", host, os.Getpid(), time.Now().UTC().Format("2006-01-02 15:04:05 UTC"))
}

// programRefused deals with the NATS server's refusal of a program's
// subject: said once; the program runs, unchecked, as before the check.
func (n *Network) programRefused(pe *PermissionError) {
	if n.programSubRefused.CompareAndSwap(false, true) {
		n.warnf("the NATS server refused to let it %s %q: it cannot tell whether this program runs on another machine too; give its NATS user the permissions `parigot nats-config` prints for it",
			pe.Action, pe.Subject)
	}
}
