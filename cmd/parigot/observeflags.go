package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// observeFlags are the flags by which a running app shows what it does:
// its dashboard and metrics, its traces, the format of its lines. parigot
// run and parigot dev both take them, with one meaning, declared here.
type observeFlags struct {
	dashboard string // address
	otlp      string // OTLP/HTTP receiver's URL
	logFormat string // text or json
}

// logFormatFlag is the flag that makes a command's lines JSON records; its
// value is read again at the end, to say how the command ended alike.
const logFormatFlag = "log-format"

// declare adds the flags to cmd.
func (o *observeFlags) declare(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.dashboard, "dashboard", "", "serve the app's dashboard and Prometheus /metrics on this address, e.g. 127.0.0.1:7070, until interrupted (the URL is printed)")
	cmd.Flags().StringVar(&o.logFormat, logFormatFlag, "text", "how the run's lines are written: text (guests' prefixed with the guest's name, for people) or json (every line of the run one object, with guest, method, trace and span ids, for machines)")
	cmd.Flags().StringVar(&o.otlp, "otlp", "", "send a span of every call to this OpenTelemetry OTLP/HTTP receiver: its base URL, e.g. http://127.0.0.1:4318 (a collector's), or its traces endpoint, .../v1/traces")
}

// check says what is wrong with the flags' values, before anything is
// built.
func (o observeFlags) check() error {
	if o.logFormat != "text" && o.logFormat != "json" {
		return usageError{err: fmt.Errorf("unknown --log-format %q: the formats are text and json", o.logFormat)}
	}
	if err := checkAddress("dashboard", o.dashboard); err != nil {
		return err
	}
	return checkOTLP(o.otlp)
}

// json reports whether lines are written as JSON records.
func (o observeFlags) json() bool { return o.logFormat == "json" }
