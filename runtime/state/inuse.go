package state

import (
	"fmt"
	"strconv"
)

// InUseError is a data directory that another process holds (see
// JetStreamDir): a run, or a parigot state command, reading it while it
// runs. Only one server may keep JetStream's files at a time.
type InUseError struct {
	Dir string
	PID int // the holder's process id, as it recorded it; 0: unknown
}

// Holder is who holds the directory: "another parigot run (process N)".
func (e *InUseError) Holder() string {
	who := "another parigot run"
	if e.PID > 0 {
		who += " (process " + strconv.Itoa(e.PID) + ")"
	}
	return who
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("the data directory %s is in use by %s: two runs on one directory would lose each other's writes; stop that run, or give this one another --data (or --ephemeral)", e.Dir, e.Holder())
}
