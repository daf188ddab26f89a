// Command flaky is a test guest of subscriptions. As a service (FLAKY=sub)
// it serves test.Sub/Take, to which the host delivers the messages of the
// topic "news": the first time it sees a message it notes so in the store
// "kv" and then panics, mid-message; after its restart the message comes
// again and it keeps it under "got". As a program it publishes one message
// and waits until the service has kept it.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

func fail(err error) {
	fmt.Println("failed:", err)
	guest.ExitSelf(1)
}

func main() {
	if os.Getenv("FLAKY") == "sub" {
		serve()
		return
	}
	guest.LaunchClient().Success(func(struct{}) {
		kv, err := guest.OpenStore("kv")
		if err != nil {
			fail(err)
		}
		news, err := guest.OpenTopic("news")
		if err != nil {
			fail(err)
		}
		news.PublishMessage(wrapperspb.String("m1")).Failure(fail).Success(func(uint64) { wait(kv) })
	})
	guest.MustRunClient()
}

func wait(kv *guest.Store) {
	kv.Get("got").Success(func(e guest.Entry) {
		fmt.Println("kept:", string(e.Value))
		guest.ExitSelf(0)
	}).Failure(func(err error) {
		if !errors.Is(err, guest.ErrNotFound) {
			fail(err)
		}
		guest.After(10*time.Millisecond, func() { wait(kv) })
	})
}

func serve() {
	kv, err := guest.OpenStore("kv")
	if err != nil {
		fail(err)
	}
	take := func(ctx context.Context, m *wrapperspb.StringValue) *guest.Future[*wrapperspb.StringValue] {
		out := guest.NewFuture[*wrapperspb.StringValue]()
		kv.Create("crashed."+m.GetValue(), []byte("1")).
			Success(func(uint64) {
				panic("crashing mid-message, as told")
			}).
			Failure(func(error) { // crashed on it before: keep it now
				kv.Put("got", []byte(m.GetValue())).
					Success(func(uint64) { out.Resolve(&wrapperspb.StringValue{}) }).
					Failure(func(err error) { out.Reject(err) })
			})
		return out
	}
	guest.Export("test.Sub", nil, map[string]guest.Method{
		"Take": guest.UnaryMethod(func() *wrapperspb.StringValue { return new(wrapperspb.StringValue) }, take),
	})
	guest.Run()
}
