// Command poison is a test service of dead letters. It serves test.Sub/Take,
// to which the host delivers the messages of the topic "news". A message
// "poison" panics the service, but only once another message is in flight
// in it: the poison waits for one, reading the store "kv" again and again,
// then counts itself under "poisoned" and panics as that write completes.
// Any other message is innocent: it writes "seen.<message>", then waits,
// in flight, until the poison has panicked three times (its max_attempts),
// and then writes "done.<message>" and succeeds. So each panic of the
// poison happens while an innocent message waits in the service on its
// store reads.
package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

// poisonings is how often the poison panics before it is dead-lettered:
// the subscription's max_attempts.
const poisonings = 3

func main() {
	kv, err := guest.OpenStore("kv")
	if err != nil {
		fmt.Println("open kv:", err)
		guest.ExitSelf(1)
	}
	// innocentWaits is set while an innocent message is in flight in
	// this run of the service.
	innocentWaits := false
	// poisoned reads how often the poison panicked so far.
	poisoned := func(then func(n int), fail func(error)) {
		kv.Get("poisoned").Success(func(e guest.Entry) {
			n, _ := strconv.Atoi(string(e.Value))
			then(n)
		}).Failure(func(err error) {
			if errors.Is(err, guest.ErrNotFound) {
				then(0)
				return
			}
			fail(err)
		})
	}
	var poison func(out *guest.Future[*wrapperspb.StringValue])
	poison = func(out *guest.Future[*wrapperspb.StringValue]) {
		poisoned(func(n int) {
			if !innocentWaits {
				poison(out) // read again: the callbacks run on behalf of this message
				return
			}
			kv.Put("poisoned", []byte(strconv.Itoa(n+1))).Success(func(uint64) {
				panic("poison, as told")
			}).Failure(func(err error) { out.Reject(err) })
		}, func(err error) { out.Reject(err) })
	}
	var waitPoisoned func(body string, out *guest.Future[*wrapperspb.StringValue])
	waitPoisoned = func(body string, out *guest.Future[*wrapperspb.StringValue]) {
		poisoned(func(n int) {
			if n < poisonings {
				guest.After(10*time.Millisecond, func() { waitPoisoned(body, out) })
				return
			}
			kv.Put("done."+body, []byte("1")).
				Success(func(uint64) { out.Resolve(&wrapperspb.StringValue{}) }).
				Failure(func(err error) { out.Reject(err) })
		}, func(err error) { out.Reject(err) })
	}
	take := func(ctx context.Context, m *wrapperspb.StringValue) *guest.Future[*wrapperspb.StringValue] {
		out := guest.NewFuture[*wrapperspb.StringValue]()
		body := m.GetValue()
		if body == "poison" {
			poison(out)
			return out
		}
		innocentWaits = true
		kv.Put("seen."+body, []byte("1")).
			Success(func(uint64) { waitPoisoned(body, out) }).
			Failure(func(err error) { out.Reject(err) })
		return out
	}
	guest.Export("test.Sub", nil, map[string]guest.Method{
		"Take": guest.UnaryMethod(func() *wrapperspb.StringValue { return new(wrapperspb.StringValue) }, take),
	})
	guest.Run()
}
