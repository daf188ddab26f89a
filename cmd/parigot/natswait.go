package main

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"parigot.dev/parigot/runtime/split"
)

// natsWaitFlag is the name of the flag by which parigot run, parigot
// guest and parigot state say how long to wait for a NATS server given by
// URL that does not answer yet (see split.AwaitServer).
const natsWaitFlag = "nats-wait"

// declareNATSWait declares --nats-wait in fs, into d, with its default
// (split.DefaultNATSWait); usage says what waits.
func declareNATSWait(fs *pflag.FlagSet, d *time.Duration, usage string) {
	fs.DurationVar(d, natsWaitFlag, split.DefaultNATSWait, usage+" (0: not at all)")
}

// checkNATSWait refuses a --nats-wait that is no wait.
func checkNATSWait(d time.Duration) error {
	if d < 0 {
		return usageError{err: fmt.Errorf("--%s %s is negative: give how long to wait for the NATS server (0: not at all)", natsWaitFlag, d)}
	}
	return nil
}
