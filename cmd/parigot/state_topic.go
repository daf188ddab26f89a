package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"parigot.dev/parigot/manifest"
	"parigot.dev/parigot/runtime/state"
)

// topicMessage is a message of a topic as parigot state messages --json
// prints it.
type topicMessage struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Size    int       `json:"size"`
	Waiting []string  `json:"waiting"` // the subscribers that have not taken it
	Trace   string    `json:"trace,omitempty"`
	Data    []byte    `json:"data"`
	// The message decoded as its subscribers' request.
	shownMessage
}

func newStateMessagesCommand(f *stateFlags, stdout, stderr io.Writer) *cobra.Command {
	var limit int
	var full bool
	cmd := &cobra.Command{
		Use:   "messages TOPIC",
		Short: "List the messages a topic keeps, and which subscribers have not taken each",
		Long: `messages lists the messages TOPIC keeps, oldest first: the newest
--limit of them (100; 0 for all). For each: SEQ, its place in the topic (the
N of a run's "message N of topic T" lines); its size; when it was published
(UTC); and WAITING FOR, the subscribing services that have not taken it yet
(delivered and acknowledged: a message taken while an older one waits for
a redelivery is listed as waiting until the older one is taken), or "-".
A topic keeps its messages after every subscriber has taken them, within
its max_age and max_bytes. Dead letters are not listed: 'parigot state
dead' lists them. Reading takes nothing from the subscribers.

With --full, each message in full: the same, the id of the trace of the
call that published it (when tracing was on), and the message itself in
protobuf JSON, as the request of the method a subscribe block of TOPIC
names (from the app's protos, compiled as parigot build does). With
--json, an array of objects with the same fields, the message's bytes
(data, base64), its type and the message decoded (decoded), or why not
(undecoded).`,
		Example: `  parigot state messages transfers
  parigot state messages transfers --limit 5 --full
  parigot state messages transfers --limit 0 --json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			topic := args[0]
			if limit < 0 {
				return usageError{err: fmt.Errorf("--limit %d: give how many of the newest messages to list, or 0 for all", limit)}
			}
			app, undeclared, err := f.loadReading("topic", topic)
			if err != nil {
				return err
			}
			var messages *topicDecoder
			subscriber := firstSubscriber(app, topic)
			if f.json || full {
				messages = newTopicDecoder(cmd.Context(), app, f.appDir(), topic)
			}
			return f.read(cmd.Context(), stderr, app, "topic", topic, undeclared, func(in *state.Inspector, _ *manifest.App) error {
				read, err := in.Messages(cmd.Context(), topic, limit)
				if err != nil {
					return err
				}
				if f.json {
					out := []topicMessage{}
					for _, m := range read.Messages {
						out = append(out, topicMessage{Seq: m.Seq, Time: m.Time.UTC(), Size: len(m.Data), Waiting: nonNil(m.Waiting),
							Trace: m.Trace, Data: m.Data, shownMessage: messages.show(subscriber, m.Data)})
					}
					return writeJSON(stdout, out)
				}
				if len(read.Messages) == 0 {
					fmt.Fprintf(stdout, "topic %s keeps no messages\n", topic)
					return nil
				}
				if full {
					printTopicMessages(stdout, topic, read.Messages, messages, subscriber)
				} else if err := listTopicMessages(stdout, read.Messages); err != nil {
					return err
				}
				if shown := uint64(len(read.Messages)); shown < read.Kept {
					fmt.Fprintf(stderr, "parigot: the newest %d of the %d messages topic %s keeps (--limit 0 lists all)\n", shown, read.Kept, topic)
				}
				return nil
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 100, "list the newest N messages (0: all)")
	cmd.Flags().BoolVar(&full, "full", false, "show each message in full, decoded as protobuf JSON")
	return cmd
}

// listTopicMessages prints msgs as a table, one a line.
func listTopicMessages(w io.Writer, msgs []state.Message) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tSIZE\tTIME\tWAITING FOR")
	for _, m := range msgs {
		fmt.Fprintf(tw, "%d\t%d B\t%s\t%s\n", m.Seq, len(m.Data), m.Time.UTC().Format(time.DateTime), waitingFor(m.Waiting))
	}
	return tw.Flush()
}

// printTopicMessages prints msgs in full, one after the other, each
// decoded as the request of subscriber's method.
func printTopicMessages(w io.Writer, topic string, msgs []state.Message, messages *topicDecoder, subscriber string) {
	for i, m := range msgs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "message\t%d of topic %s\n", m.Seq, topic)
		fmt.Fprintf(tw, "time\t%s UTC\n", m.Time.UTC().Format(time.DateTime))
		fmt.Fprintf(tw, "waiting for\t%s\n", waitingFor(m.Waiting))
		if m.Trace != "" {
			fmt.Fprintf(tw, "trace\t%s\n", m.Trace)
		}
		tw.Flush()
		messages.show(subscriber, m.Data).print(w, m.Data)
	}
}

// waitingFor is the subscribers a message waits for, as a list shows them.
func waitingFor(subs []string) string {
	if len(subs) == 0 {
		return "-"
	}
	return strings.Join(subs, ", ")
}

// firstSubscriber is the first service, by name, that subscribes to topic
// in app: the method its subscribe block names says the type of the
// topic's messages. "" for none.
func firstSubscriber(app *manifest.App, topic string) string {
	subs := state.SubscribersOf(app, topic)
	if len(subs) == 0 {
		return ""
	}
	return subs[0]
}

// nonNil is s, or an empty slice for nil: a JSON list, not null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
