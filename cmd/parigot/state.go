package main

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/reflect/protoreflect"

	"parigot.dev/parigot/builder"
	"parigot.dev/parigot/internal/diag"
	"parigot.dev/parigot/internal/suggest"
	"parigot.dev/parigot/manifest"
	"parigot.dev/parigot/runtime/split"
	"parigot.dev/parigot/runtime/state"
)

// stateFlags are the flags every parigot state command takes: which app,
// and where its stores and topics are.
type stateFlags struct {
	app      string
	data     string
	natsURL  string
	natsUser string
	creds    string
	natsWait time.Duration
	// waitGiven: --nats-wait was given, which is for --nats alone.
	waitGiven func() bool
	json      bool
}

func newStateCommand(stdout, stderr io.Writer) *cobra.Command {
	f := &stateFlags{}
	cmd := &cobra.Command{
		Use:   "state",
		Short: "Show what the app's stores hold, and list or redeliver its topics' dead letters",
		Long: `state reads the stores and topics of the app in the current directory (or
--app): the keys of a store and their values, and the dead letters of a
topic, the messages that no delivery succeeded with, which it can publish
again to their topic.

Where: the app's data directory, as 'parigot run' keeps it (.parigot/data
in the app's directory, or --data DIR). While a run holds it (in either
mode, or under parigot dev), state joins that run's embedded JetStream
server, as the run says in the directory; when none does, it opens the
directory with an embedded server of its own. With --nats URL, state
works against an operator's NATS server or cluster instead, as the user
--nats-user or --nats-creds give (or PARIGOT_NATS_TOKEN,
PARIGOT_NATS_USER and PARIGOT_NATS_PASSWORD, PARIGOT_NATS_CREDS), which
must be allowed JetStream's API ($JS.API.>); a server that does not
answer yet is waited for, up to --nats-wait (2m; 0: not at all). While
the app runs with --ephemeral, its state is in that run's memory: state
says so, rather than show the directory's.

Stores and topics are named as parigot.hcl names them. keys, get and
messages also read one parigot.hcl no longer declares while the data
still holds it (saying so on stderr), so that it can be looked at before
it is dropped.`,
		Example: `  parigot state keys accounts              # the keys of store accounts
  parigot state keys accounts 'acct.>'     # those under acct.
  parigot state get accounts acct.alice    # the value of a key
  parigot state messages transfers         # what topic transfers keeps, and who has not taken it
  parigot state dead transfers             # the dead letters of topic transfers
  parigot state redeliver transfers        # publish them all again
  parigot state redeliver transfers 14 15 --dry-run
  parigot state drop store ledger          # a store parigot.hcl no longer declares
  parigot state dead transfers --nats nats://10.0.0.1:4222 --nats-creds ops.creds`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError{err: fmt.Errorf("state needs a command: keys, get, messages, dead, redeliver or drop")}
		},
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.app, "app", "", "the app: its directory or its manifest file (default: the current directory)")
	pf.StringVar(&f.data, "data", "", "the app's data directory (default: .parigot/data in the app's directory, as parigot run)")
	pf.StringVar(&f.natsURL, "nats", "", "work against this NATS server or cluster (comma-separated URLs) instead of the data directory")
	pf.StringVar(&f.natsUser, "nats-user", "", "user:password for --nats")
	pf.StringVar(&f.creds, "nats-creds", "", "NATS credentials file for --nats")
	declareNATSWait(pf, &f.natsWait, "how long to wait for the --nats server when it does not answer yet, before giving up")
	f.waitGiven = func() bool { return pf.Changed(natsWaitFlag) }
	pf.BoolVar(&f.json, "json", false, "print JSON, for machines")
	cmd.MarkPersistentFlagDirname("app")
	cmd.MarkPersistentFlagDirname("data")
	cmd.AddCommand(newStateKeysCommand(f, stdout, stderr), newStateGetCommand(f, stdout, stderr),
		newStateMessagesCommand(f, stdout, stderr), newStateDeadCommand(f, stdout, stderr), newStateRedeliverCommand(f, stdout, stderr), newStateDropCommand(f, stdout, stderr))
	return cmd
}

func newStateKeysCommand(f *stateFlags, stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "keys STORE [FILTER]",
		Short: "List the keys of a store that hold a value, sorted",
		Long: `keys lists, one a line and sorted, the keys of STORE that hold a value:
all of them, or those matching FILTER, as a guest's Keys filters them
(acct.* for one element after acct., acct.> for any). With --json, a JSON
array.`,
		Example: `  parigot state keys accounts
  parigot state keys accounts 'acct.>' --json`,
		Args: rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			filter := ""
			if len(args) == 2 {
				filter = args[1]
			}
			return f.with(cmd.Context(), stderr, "store", args[0], func(in *state.Inspector, _ *manifest.App) error {
				keys, err := in.Keys(cmd.Context(), args[0], filter)
				if err != nil {
					return err
				}
				if f.json {
					return writeJSON(stdout, keys)
				}
				for _, k := range keys {
					fmt.Fprintln(stdout, k)
				}
				return nil
			})
		},
	}
}

// storeValue is a value of a store as parigot state get prints it.
type storeValue struct {
	Store    string    `json:"store"`
	Key      string    `json:"key"`
	Revision uint64    `json:"revision"`
	Written  time.Time `json:"written"`
	// Encoding is how Value is written: "text" (UTF-8, as it is) or
	// "base64" (bytes that are not text).
	Encoding string `json:"encoding"`
	Value    string `json:"value"`
	Size     int    `json:"size"`
	// The value decoded as the store's value type, or as --as says.
	shownMessage
}

func newStateGetCommand(f *stateFlags, stdout, stderr io.Writer) *cobra.Command {
	var as string
	cmd := &cobra.Command{
		Use:   "get STORE KEY",
		Short: "Print the value of a key of a store",
		Long: `get prints the value KEY of STORE holds. A value that is UTF-8 text is
printed as it is; any other is printed in base64, and stderr says so:
base64 -d turns it back into its bytes. With --json, an object with its
revision, when it was written, its encoding ("text" or "base64") and the
value.

A store holds bytes, whatever wrote them. A proto message (what a guest's
PutMessage writes) is shown in protobuf JSON: as the message the store's
value attribute in parigot.hcl names, or as the one --as names (its full
name, as its .proto file names it with its package: bank.v1.Account),
which wins. The message is read from the app's protos, which state
compiles as parigot build does (no build of the app and no protoc
needed). With --json, the object has the message beside the bytes: its
type, and the message as JSON (decoded). A value that is not that
message is printed as it would be without one, and the command fails,
saying why.`,
		Example: `  parigot state get accounts acct.alice                        # as the store's value type, if it has one
  parigot state get accounts acct.alice --as bank.v1.Account   # a proto message, as JSON
  parigot state get accounts acct.alice --json`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			app, undeclared, err := f.loadReading("store", args[0])
			if err != nil {
				return err
			}
			types, md, err := valueType(cmd.Context(), app, f.appDir(), args[0], as)
			if err != nil {
				return err
			}
			return f.read(cmd.Context(), stderr, app, "store", args[0], undeclared, func(in *state.Inspector, _ *manifest.App) error {
				e, err := in.Get(cmd.Context(), args[0], args[1])
				if err != nil {
					return err
				}
				v := storeValue{Store: args[0], Key: e.Key, Revision: e.Revision, Written: e.Written.UTC(), Size: len(e.Value)}
				v.Encoding, v.Value = showValue(e.Value)
				if md != nil {
					v.shownMessage = types.showAs(md, e.Value)
				}
				if f.json {
					if err := writeJSON(stdout, v); err != nil || v.Type == "" || v.JSON != nil {
						return err
					}
					return notAsError(v)
				}
				return printStoreValue(stdout, stderr, v)
			})
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "show the value as this proto message of the app (its full name: bank.v1.Account), in protobuf JSON (default: the store's value type)")
	return cmd
}

// valueType is the message parigot state get shows a value of store as:
// the one as names, else the one the store's value attribute declares;
// none (nil) when neither says.
func valueType(ctx context.Context, app *manifest.App, dir, store, as string) (*messageTypes, protoreflect.MessageDescriptor, error) {
	s := app.Store(store)
	if s == nil {
		s = &manifest.Store{} // a leftover: the data holds it, parigot.hcl no longer declares it
	}
	name := cmp.Or(as, s.Value)
	if name == "" {
		return nil, nil, nil
	}
	types, err := appMessageTypes(ctx, app, dir)
	if err != nil {
		return nil, nil, err
	}
	md, err := types.message(name)
	if err != nil && as == "" {
		return nil, nil, fmt.Errorf("store %s holds %s values (%s): %w; fix its value attribute (parigot check says more), or give the message with --as", store, s.Value, diag.Position(s.ValueRange), err)
	}
	return types, md, err
}

// printStoreValue prints v for people: the message it was decoded as, or
// its value as it is. Not being the message asked for is an error.
func printStoreValue(stdout, stderr io.Writer, v storeValue) error {
	switch {
	case v.JSON != nil:
		if v.Why != "" {
			fmt.Fprintf(stderr, "parigot: the value of key %s: %s\n", v.Key, v.Why)
		}
		_, err := fmt.Fprintln(stdout, v.indented())
		return err
	case v.Type == "" && v.Encoding != "text":
		fmt.Fprintf(stderr, "parigot: the value of key %s (%d bytes) is not UTF-8 text: it is printed in %s\n", v.Key, v.Size, v.Encoding)
	}
	value := v.Value
	if value != "" && !strings.HasSuffix(value, "\n") {
		value += "\n"
	}
	if _, err := io.WriteString(stdout, value); err != nil {
		return err
	}
	if v.Type == "" {
		return nil
	}
	return notAsError(v)
}

// notAsError says that v is not the message --as asked for.
func notAsError(v storeValue) error {
	how := "as text"
	if v.Encoding != "text" {
		how = "in " + v.Encoding
	}
	return fmt.Errorf("the value of key %s of store %s is %s (it is printed %s)", v.Key, v.Store, v.Why, how)
}

// showValue is how a value is printed: as it is when it is UTF-8 text
// (which may span lines and hold tabs), else in base64.
func showValue(b []byte) (encoding, shown string) {
	text := utf8.Valid(b)
	for _, r := range string(b) {
		if unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' {
			text = false
			break
		}
	}
	if text {
		return "text", string(b)
	}
	return "base64", base64.StdEncoding.EncodeToString(b)
}

// with loads the app, opens where its state is, and runs do on the store
// or topic name (kind "store" or "topic"), as read does.
func (f *stateFlags) with(ctx context.Context, stderr io.Writer, kind, name string, do func(*state.Inspector, *manifest.App) error) error {
	app, undeclared, err := f.loadReading(kind, name)
	if err != nil {
		return err
	}
	return f.read(ctx, stderr, app, kind, name, undeclared, do)
}

// loadReading loads the app to read its store or topic name (kind):
// undeclared is why the app does not declare it (nil: it does), which
// read tells from a leftover.
func (f *stateFlags) loadReading(kind, name string) (app *manifest.App, undeclared, err error) {
	app, err = f.load("", "")
	if err != nil {
		return nil, nil, err
	}
	return app, checkDeclared(app, kind, name), nil
}

// read opens where app's state is and runs do on its store or topic name
// (kind). One the app does not declare (undeclared says why) is read when
// the data holds it, a leftover of an earlier parigot.hcl, which stderr
// is told once; when the data does not hold it, or cannot be reached,
// undeclared is the error (with its "did you mean"), as for a name no run
// ever knew.
func (f *stateFlags) read(ctx context.Context, stderr io.Writer, app *manifest.App, kind, name string, undeclared error, do func(*state.Inspector, *manifest.App) error) error {
	if undeclared == nil {
		return f.inspect(ctx, stderr, app, true, do)
	}
	held := false
	err := f.inspect(ctx, stderr, app, true, func(in *state.Inspector, app *manifest.App) error {
		var err error
		if held, err = in.Holds(ctx, kind, name); err != nil || !held {
			return err
		}
		fmt.Fprintf(stderr, "parigot: parigot.hcl no longer declares %s %s: this is what the data still holds of it, which runs leave as it is (parigot state drop %[1]s %[2]s removes it)\n", kind, name)
		return do(in, app)
	})
	if !held {
		return undeclared
	}
	return err
}

// load checks the flags, loads the app, and checks that it declares the
// store or topic name (kind "store" or "topic"; "": nothing to check),
// before any data directory is opened.
func (f *stateFlags) load(kind, name string) (*manifest.App, error) {
	if f.natsURL != "" && f.data != "" {
		return nil, usageError{err: fmt.Errorf("--data reads the data directory, --nats an operator's server: give one or the other")}
	}
	if f.natsURL == "" && (f.natsUser != "" || f.creds != "") {
		return nil, usageError{err: fmt.Errorf("--nats-user and --nats-creds are credentials for --nats: give the server's URL with --nats")}
	}
	if f.natsURL == "" && f.waitGiven() {
		return nil, usageError{err: fmt.Errorf("--%s is how long to wait for the --nats server: give the server's URL with --nats", natsWaitFlag)}
	}
	if err := checkNATSWait(f.natsWait); err != nil {
		return nil, err
	}
	app, err := builder.Load(f.appDir())
	if err != nil {
		return nil, err
	}
	if kind == "" {
		return app, nil
	}
	if err := checkDeclared(app, kind, name); err != nil {
		return nil, err
	}
	return app, nil
}

// appDir is the app's directory, or its manifest file, as given.
func (f *stateFlags) appDir() string {
	if f.app == "" {
		return "."
	}
	return f.app
}

// inspect opens where app's state is and runs do on it. With joinRun,
// the server of a run that holds the data directory is where; without,
// such a run is an error (do needs more than a run lets parigot state do
// on its server).
func (f *stateFlags) inspect(ctx context.Context, stderr io.Writer, app *manifest.App, joinRun bool, do func(*state.Inspector, *manifest.App) error) error {
	nc, closeState, err := f.connect(ctx, app, stderr, joinRun)
	if err != nil {
		return err
	}
	defer closeState()
	in, err := state.NewInspector(nc, app.Name)
	if err != nil {
		return err
	}
	err = do(in, app)
	var notMade *state.NotMadeError
	if errors.As(err, &notMade) && f.natsURL == "" {
		return fmt.Errorf("%w: no run of %s has kept it in %s yet", err, app.Name, state.DataDir(app, f.data))
	}
	if errors.As(err, &notMade) {
		return fmt.Errorf("%w: no run of %s has made it on %s yet", err, app.Name, split.Conn{URL: f.natsURL}.ShownURL())
	}
	return err
}

// connect opens a NATS connection to where app's state is: the server of
// the run that holds its data directory, an embedded server of its own on
// that directory when none does (without joinRun, a run that holds it is
// an error), or --nats (once it answers, within --nats-wait).
// closeState closes it (and stops the server).
func (f *stateFlags) connect(ctx context.Context, app *manifest.App, stderr io.Writer, joinRun bool) (nc *nats.Conn, closeState func(), err error) {
	if f.natsURL != "" {
		conn := split.ConnFromEnv(f.natsURL)
		if f.natsUser != "" {
			conn.User, conn.Pass, _ = strings.Cut(f.natsUser, ":")
		}
		if f.creds != "" {
			conn.Creds = f.creds
		}
		if f.natsWait > 0 {
			if err := split.AwaitServer(ctx, conn, app.Name, "state", "parigot state", f.natsWait, stderr); err != nil {
				return nil, nil, err
			}
		}
		nc, err := conn.Connect(app.Name, "state")
		if err != nil {
			return nil, nil, err
		}
		return nc, nc.Close, nil
	}
	dir := state.DataDir(app, f.data)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("%s has no data in %s: no run has kept its stores and topics there yet (parigot run and parigot dev keep them there, --data names another directory; with --ephemeral a run keeps them in its memory only, out of parigot state's reach)", app.Name, dir)
	}
	srv, err := state.StartServer(state.ServerOptions{Dir: dir, Log: sayTo(stderr)})
	var inUse *state.InUseError
	if errors.As(err, &inUse) && !joinRun {
		return nil, nil, fmt.Errorf("%s holds the data directory %s: stop it first", inUse.Holder(), dir)
	}
	if errors.As(err, &inUse) {
		// A run holds it: join its server, as the run says to.
		live, err := state.ReadLive(inUse)
		if err != nil {
			return nil, nil, err
		}
		nc, err := live.Connect(app.Name)
		if err != nil {
			return nil, nil, err
		}
		return nc, nc.Close, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if pids := state.EphemeralRuns(dir); len(pids) > 0 {
		// A run with --ephemeral keeps the app's state in its memory: the
		// directory's, which no run holds, is not what the app sees.
		srv.Shutdown()
		return nil, nil, &state.EphemeralError{Dir: dir, PIDs: pids}
	}
	nc, err = srv.Connect("parigot " + app.Name + "/state")
	if err != nil {
		srv.Shutdown()
		return nil, nil, fmt.Errorf("connecting to the embedded JetStream server: %w", err)
	}
	return nc, func() { nc.Close(); srv.Shutdown() }, nil
}

// checkDeclared says what is wrong when app declares no store (or topic)
// name: a near name gets a "did you mean", else the declared ones are
// listed.
func checkDeclared(app *manifest.App, kind, name string) error {
	var known []string
	switch kind {
	case "store":
		if app.Store(name) != nil {
			return nil
		}
		for _, s := range app.Stores {
			known = append(known, s.Name)
		}
	case "topic":
		if app.Topic(name) != nil {
			return nil
		}
		for _, t := range app.Topics {
			known = append(known, t.Name)
		}
	}
	return notAmong(fmt.Sprintf("%s declares no %s %q", app.Name, kind, name), name, known,
		fmt.Sprintf("it declares no %s in %s", kind, app.File), "its "+kind+"s")
}

// notAmong is the error msg about name, which is none of known: with the
// nearest of known ("did you mean"), else with none when there is none,
// else with known listed, as what.
func notAmong(msg, name string, known []string, none, what string) error {
	switch c := suggest.Closest(name, known); {
	case c != "":
		msg += fmt.Sprintf(": did you mean %s?", c)
	case len(known) == 0:
		msg += " (" + none + ")"
	default:
		msg += fmt.Sprintf(" (%s: %s)", what, strings.Join(known, ", "))
	}
	return errors.New(msg)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// exactArgs and rangeArgs are cobra's, as usage errors naming the
// command's arguments.
func exactArgs(n int) cobra.PositionalArgs { return rangeArgs(n, n) }

func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return usageError{err: fmt.Errorf("usage: parigot state %s", cmd.Use)}
		}
		return nil
	}
}

// deadLetter is a dead letter as parigot state dead prints it.
type deadLetter struct {
	Seq        uint64    `json:"seq"`
	Message    uint64    `json:"message"`
	Subscriber string    `json:"subscriber"`
	Attempts   uint64    `json:"attempts"`
	Error      string    `json:"error"`
	Trace      string    `json:"trace,omitempty"`
	Size       int       `json:"size"`
	Time       time.Time `json:"time"`
	Data       []byte    `json:"data"`
	// The message decoded as its subscriber's request.
	shownMessage
}

func newStateDeadCommand(f *stateFlags, stdout, stderr io.Writer) *cobra.Command {
	var subscriber string
	cmd := &cobra.Command{
		Use:   "dead TOPIC [SEQ...]",
		Short: "List the dead letters of a topic, or show some in full",
		Long: `dead lists the dead letters of TOPIC, oldest first: the messages whose
every delivery to a subscriber failed (see max_attempts). For each: SEQ, its
place among the topic's stored messages, which redeliver takes; MESSAGE,
the message's own place in the topic, which the run's "message N of topic
T dead-lettered" line named; the subscriber whose deliveries failed; how
many attempts it made; the message's size; when it was dead-lettered (UTC);
and why its last attempt failed. --subscriber NAME lists only those of the
service NAME.

With SEQ (one or more), dead shows those dead letters in full: the same
and, for a message published while a traced call ran, the id of its trace
(where its deliveries are, and its redelivery will be), and the message
itself in protobuf JSON. A topic's message is the request of the method
its subscriber's subscribe block names, so its type is known from the
app's protos, which state compiles as parigot build does (no build of the
app and no protoc needed). A message that is not of that type (another
shape, written by other code) is shown in base64, with why.

With --json, an array of objects with the same fields, the message's
bytes (data, base64), its type and the message decoded as JSON (decoded),
or why not (undecoded).`,
		Example: `  parigot state dead transfers
  parigot state dead transfers 14             # dead letter 14, its message as JSON
  parigot state dead transfers --subscriber audit
  parigot state dead transfers --json`,
		Args: seqArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			topic := args[0]
			app, err := f.load("topic", topic)
			if err != nil {
				return err
			}
			var messages *topicDecoder
			if f.json || len(args) > 1 {
				messages = newTopicDecoder(cmd.Context(), app, f.appDir(), topic)
			}
			return f.inspect(cmd.Context(), stderr, app, true, func(in *state.Inspector, app *manifest.App) error {
				dead, err := in.DeadLetters(cmd.Context(), topic)
				if err != nil {
					return err
				}
				none := fmt.Sprintf("topic %s has no dead letters", topic)
				if subscriber != "" {
					if dead, err = deadLettersOf(app, topic, subscriber, dead); err != nil {
						return err
					}
					none += " of subscriber " + subscriber
				}
				if dead, err = chooseDeadLetters(topic, dead, args[1:]); err != nil {
					return err
				}
				if f.json {
					out := []deadLetter{}
					for _, d := range dead {
						out = append(out, deadLetter{Seq: d.Seq, Message: d.Message, Subscriber: d.Subscriber, Attempts: d.Attempts,
							Error: d.Error, Trace: d.Trace, Size: len(d.Data), Time: d.Time.UTC(), Data: d.Data,
							shownMessage: messages.show(d.Subscriber, d.Data)})
					}
					return writeJSON(stdout, out)
				}
				if len(dead) == 0 {
					fmt.Fprintln(stdout, none)
					return nil
				}
				if len(args) > 1 {
					return printDeadLetters(stdout, dead, messages)
				}
				tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "SEQ\tMESSAGE\tSUBSCRIBER\tATTEMPTS\tSIZE\tTIME\tERROR")
				for _, d := range dead {
					fmt.Fprintf(tw, "%d\t%d\t%s\t%d\t%d B\t%s\t%s\n", d.Seq, d.Message, d.Subscriber, d.Attempts, len(d.Data),
						d.Time.UTC().Format(time.DateTime), d.Error)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&subscriber, "subscriber", "", "list only the dead letters of this subscribed service")
	return cmd
}

// printDeadLetters prints dead in full, one after the other, each with
// its message as its subscriber's request, in protobuf JSON (or in base64,
// saying why not).
func printDeadLetters(w io.Writer, dead []state.DeadLetter, messages *topicDecoder) error {
	for i, d := range dead {
		if i > 0 {
			fmt.Fprintln(w)
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "dead letter\t%d of topic %s\n", d.Seq, d.Topic)
		fmt.Fprintf(tw, "message\t%d\n", d.Message)
		fmt.Fprintf(tw, "subscriber\t%s\n", d.Subscriber)
		fmt.Fprintf(tw, "attempts\t%d\n", d.Attempts)
		fmt.Fprintf(tw, "time\t%s UTC\n", d.Time.UTC().Format(time.DateTime))
		fmt.Fprintf(tw, "error\t%s\n", d.Error)
		if d.Trace != "" {
			fmt.Fprintf(tw, "trace\t%s\n", d.Trace)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		messages.show(d.Subscriber, d.Data).print(w, d.Data)
	}
	return nil
}

// print writes m, the message data decoded: its type, its size and the
// message in indented protobuf JSON, or data in base64 with why not.
func (m shownMessage) print(w io.Writer, data []byte) {
	switch {
	case m.JSON != nil && m.Why == "":
		fmt.Fprintf(w, "%s (%d B):\n%s\n", m.Type, len(data), m.indented())
	case m.JSON != nil:
		fmt.Fprintf(w, "%s (%d B; %s):\n%s\n", m.Type, len(data), m.Why, m.indented())
	default:
		fmt.Fprintf(w, "%d B in base64 (%s):\n%s\n", len(data), m.Why, base64.StdEncoding.EncodeToString(data))
	}
}

// deadLettersOf keeps, of a topic's dead letters, those of subscriber: a
// service that subscribes to the topic, or did when one of them died (the
// manifest may have changed since). Any other name is an error, with the
// nearest subscriber.
func deadLettersOf(app *manifest.App, topic, subscriber string, dead []state.DeadLetter) ([]state.DeadLetter, error) {
	known := state.SubscribersOf(app, topic)
	for _, d := range dead {
		if d.Subscriber != "" && !slices.Contains(known, d.Subscriber) {
			known = append(known, d.Subscriber)
		}
	}
	if !slices.Contains(known, subscriber) {
		return nil, notAmong(fmt.Sprintf("%s is no subscriber of topic %s", subscriber, topic), subscriber, known,
			"no service subscribes to it", "its subscribers")
	}
	return slices.DeleteFunc(dead, func(d state.DeadLetter) bool { return d.Subscriber != subscriber }), nil
}

func newStateRedeliverCommand(f *stateFlags, stdout, stderr io.Writer) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "redeliver TOPIC [SEQ...]",
		Short: "Publish dead letters of a topic again, and remove them from the dead letters",
		Long: `redeliver publishes the dead letters of TOPIC numbered SEQ (as 'parigot
state dead' lists them; all of them when none is given) again to the topic,
as new messages: every subscription of the topic delivers each again, each
with its max_attempts anew. A dead letter is removed from the dead letters
only once JetStream has acknowledged its publication, so a redelivery cut
short loses nothing: what was not published is still among the dead
letters. Several dead letters of one message (one per subscriber whose
deliveries failed) are published once. One line per dead letter says what
became of it; --dry-run says what would be done, and does nothing.

Fix the subscriber first (or the message's cause): a message that fails
again is dead-lettered again.`,
		Example: `  parigot state redeliver transfers --dry-run   # what it would do
  parigot state redeliver transfers             # all of them
  parigot state redeliver transfers 7 9         # dead letters 7 and 9`,
		Args: seqArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			topic := args[0]
			// Only to a topic parigot.hcl declares: a leftover's messages
			// reach no subscriber.
			app, err := f.load("topic", topic)
			if err != nil {
				return err
			}
			return f.inspect(cmd.Context(), stderr, app, true, func(in *state.Inspector, _ *manifest.App) error {
				dead, err := in.DeadLetters(cmd.Context(), topic)
				if err != nil {
					return err
				}
				chosen, err := chooseDeadLetters(topic, dead, args[1:])
				if err != nil {
					return err
				}
				if len(chosen) == 0 {
					fmt.Fprintf(stdout, "topic %s has no dead letters\n", topic)
					return nil
				}
				failed := 0
				for _, d := range chosen {
					what := fmt.Sprintf("dead letter %d (message %d, subscriber %s)", d.Seq, d.Message, d.Subscriber)
					if dryRun {
						fmt.Fprintf(stdout, "%s: would be published again to topic %s\n", what, topic)
						continue
					}
					r, err := in.Redeliver(cmd.Context(), d)
					switch {
					case err != nil:
						failed++
						fmt.Fprintf(stdout, "%s: not published (%v); still among the dead letters\n", what, err)
					case r.NotRemoved != nil:
						failed++
						fmt.Fprintf(stdout, "%s: published again as message %d, but not removed from the dead letters (%v): redeliver it again within 2 minutes, and JetStream drops the second publication\n", what, r.Message, r.NotRemoved)
					case r.Duplicate:
						fmt.Fprintf(stdout, "%s: published again already as message %d; removed from the dead letters\n", what, r.Message)
					default:
						fmt.Fprintf(stdout, "%s: published again as message %d; removed from the dead letters\n", what, r.Message)
					}
				}
				if failed > 0 {
					return fmt.Errorf("%d of %d dead letters of topic %s were not redelivered in full (said above)", failed, len(chosen), topic)
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "say what would be redelivered, and do nothing")
	return cmd
}

func newStateDropCommand(f *stateFlags, stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "drop store|topic NAME | drop subscription TOPIC SERVICE",
		Short: "Remove a store, topic or subscription that parigot.hcl no longer declares, with all it holds",
		Long: `drop removes from the data the store or topic NAME, which parigot.hcl no
longer declares (renamed or removed since an earlier run), with every
value or message it holds: what parigot run says at every start that the
data holds unread ("the data holds store ledger (6 keys), which
parigot.hcl no longer declares"). Carry over what is to be kept first
(docs/STATE.md#changing-what-the-data-holds): nothing brings it back.

drop subscription removes the subscription of SERVICE to TOPIC, a service
that no longer subscribes to it (renamed, or its subscribe block moved or
removed): what parigot run says at every start ("topic transfers holds the
subscription of service audit, which parigot.hcl no longer declares").
The messages stay in the topic, for its other subscribers.

A store, topic or subscription parigot.hcl declares is not dropped: remove
its block first. Nor while a run holds the data directory: stop it first.`,
		Example: `  parigot state drop store ledger
  parigot state drop subscription transfers audit
  parigot state drop topic payments --nats nats://10.0.0.1:4222 --nats-creds ops.creds`,
		Args: rangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, name := args[0], args[1]
			if kind == "subscription" && len(args) == 3 {
				return f.dropSubscription(cmd.Context(), stdout, stderr, name, args[2])
			}
			if (kind != "store" && kind != "topic") || len(args) != 2 {
				return usageError{err: fmt.Errorf("drop removes a store, a topic or a subscription: parigot state drop store NAME, drop topic NAME, or drop subscription TOPIC SERVICE, not %q", strings.Join(args, " "))}
			}
			app, err := f.load("", "")
			if err != nil {
				return err
			}
			if checkDeclared(app, kind, name) == nil {
				return fmt.Errorf("%s declares %s %s: drop removes only what parigot.hcl no longer declares; remove its block from %s first", app.Name, kind, name, app.File)
			}
			return f.inspect(cmd.Context(), stderr, app, false, func(in *state.Inspector, _ *manifest.App) error {
				held, err := in.Drop(cmd.Context(), kind, name)
				var notMade *state.NotMadeError
				if errors.As(err, &notMade) {
					return fmt.Errorf("the data holds no %s %s: nothing to drop", kind, name)
				}
				if err != nil {
					return err
				}
				what := fmt.Sprintf("%d %s", held.Keys, plural(int(held.Keys), "key", "keys"))
				if kind == "topic" {
					what = fmt.Sprintf("%d %s", held.Messages, plural(int(held.Messages), "message", "messages"))
				}
				fmt.Fprintf(stdout, "dropped %s %s and the %s it held\n", kind, name, what)
				return nil
			})
		},
	}
}

// dropSubscription removes the subscription of service to topic, which
// parigot.hcl no longer declares.
func (f *stateFlags) dropSubscription(ctx context.Context, stdout, stderr io.Writer, topic, service string) error {
	app, err := f.load("", "")
	if err != nil {
		return err
	}
	if g := app.Guest(service); g != nil && slices.ContainsFunc(g.Subscriptions, func(s *manifest.Subscription) bool { return s.Topic == topic }) {
		return fmt.Errorf("service %s subscribes to topic %s in %s: drop removes only what parigot.hcl no longer declares; remove its subscribe block first", service, topic, app.File)
	}
	return f.inspect(ctx, stderr, app, false, func(in *state.Inspector, _ *manifest.App) error {
		old, err := in.DropSubscription(ctx, topic, service)
		var none *state.NoSubscriptionError
		if errors.As(err, &none) {
			return fmt.Errorf("%w: nothing to drop", err)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "dropped the subscription of %s to topic %s (it took the topic up to message %d; %d %s not taken)\n", service, topic, old.Taken, old.Waiting, plural(int(old.Waiting), "message", "messages"))
		return nil
	})
}

// seqArgs are the arguments TOPIC [SEQ...]: a topic and numbers of its
// dead letters.
func seqArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return usageError{err: fmt.Errorf("usage: parigot state %s", cmd.Use)}
	}
	for _, a := range args[1:] {
		if _, err := strconv.ParseUint(a, 10, 64); err != nil {
			return usageError{err: fmt.Errorf("%q is not the number of a dead letter (the SEQ that parigot state dead %s lists)", a, args[0])}
		}
	}
	return nil
}

// chooseDeadLetters picks the dead letters numbered seqs (all of them when
// none is given); a number that is none of them is an error.
func chooseDeadLetters(topic string, dead []state.DeadLetter, seqs []string) ([]state.DeadLetter, error) {
	if len(seqs) == 0 {
		return dead, nil
	}
	var chosen []state.DeadLetter
	for _, a := range seqs {
		n, _ := strconv.ParseUint(a, 10, 64) // checked with the arguments
		i := slices.IndexFunc(dead, func(d state.DeadLetter) bool { return d.Seq == n })
		if i < 0 {
			var have []string
			for _, d := range dead {
				have = append(have, strconv.FormatUint(d.Seq, 10))
			}
			list := "it has none"
			if len(have) > 0 {
				list = "its dead letters: " + strings.Join(have, ", ")
			}
			return nil, fmt.Errorf("topic %s has no dead letter %d (%s)", topic, n, list)
		}
		if !slices.ContainsFunc(chosen, func(d state.DeadLetter) bool { return d.Seq == n }) {
			chosen = append(chosen, dead[i])
		}
	}
	return chosen, nil
}
