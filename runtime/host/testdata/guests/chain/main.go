// Command chain is a test service, one link of a chain of calls: it serves
// the proto service CHAIN_SERVE and, unless it is the last link, relays to
// CHAIN_NEXT. The last link answers Relay by its request: "never" (no reply
// ever), "fail" (a typed error with a detail), "deadline" (whether its call's
// deadline is at most DEADLINE_AT_MOST away), anything else (an echo).
// Middle links print how a relayed call failed, and forward its error as
// they got it. A middle link given "behind busy" first calls Busy on the
// next link, on the same way as the relay, so that the relayed call waits
// there behind Busy (half a second) whatever the scheduler does. With
// CHAIN_READY=hang, its Ready never returns.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

var relayed int // Relay calls this link has run

func main() {
	serve, next := os.Getenv("CHAIN_SERVE"), os.Getenv("CHAIN_NEXT")
	var nextLink guest.Client
	guest.Export(serve, readier(func(context.Context) bool {
		if os.Getenv("CHAIN_READY") == "hang" {
			time.Sleep(time.Hour)
		}
		if next == "" {
			return true
		}
		var err error
		nextLink, err = guest.Locate(next)
		if err != nil {
			fmt.Println("locate:", err)
			return false
		}
		return true
	}), map[string]guest.Method{
		"Relay": guest.UnaryMethod(func() *wrapperspb.StringValue { return new(wrapperspb.StringValue) },
			func(ctx context.Context, req *wrapperspb.StringValue) *guest.Future[*wrapperspb.StringValue] {
				relayed++
				if next != "" {
					if req.GetValue() == "behind busy" {
						guest.Invoke(nextLink, "Busy", wrapperspb.String("busy"), new(wrapperspb.StringValue))
					}
					out := guest.NewFuture[*wrapperspb.StringValue]()
					guest.Invoke(nextLink, "Relay", req, new(wrapperspb.StringValue)).
						Success(func(r *wrapperspb.StringValue) { out.Resolve(r) }).
						Failure(func(err error) {
							fmt.Println("relay failed:", err)
							out.Reject(err) // forwarded as it came: code, message, details
						})
					return out
				}
				switch req.GetValue() {
				case "never":
					return guest.NewFuture[*wrapperspb.StringValue]()
				case "fail":
					return guest.Rejected[*wrapperspb.StringValue](guest.Errorf(guest.CodeFailedPrecondition, "balance too low").
						WithDetails(wrapperspb.Int64(42)))
				case "deadline":
					d, ok := ctx.Deadline()
					limit, _ := time.ParseDuration(os.Getenv("DEADLINE_AT_MOST"))
					return guest.Resolved(wrapperspb.String(fmt.Sprintf("deadline set %v, at most %s away %v", ok, limit, time.Until(d) <= limit)))
				}
				return guest.Resolved(req)
			}),
		"Busy": func(_ context.Context, req []byte) *guest.Future[[]byte] {
			time.Sleep(500 * time.Millisecond) // the guest does nothing else meanwhile
			return guest.Resolved(req)
		},
		"Count": func(_ context.Context, req []byte) *guest.Future[[]byte] {
			s, _ := proto.Marshal(wrapperspb.String(fmt.Sprintf("relayed %d", relayed)))
			return guest.Resolved(s)
		},
	})
	guest.Run()
}

type readier func(context.Context) bool

func (r readier) Ready(ctx context.Context) bool { return r(ctx) }
