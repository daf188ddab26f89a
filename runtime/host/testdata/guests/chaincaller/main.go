// Command chaincaller is a test program for chains of calls. CHAIN_SCENARIO
// picks what it does:
//
//	relay   calls test.Front/Relay with CHAIN_REQUEST, prints how it ended
//	queued  calls test.Middle/Relay with "behind busy" (Middle calls
//	        test.Back/Busy, then relays to Back, where the relayed call
//	        waits behind Busy), prints how it ended, then calls
//	        test.Back/Count
package main

import (
	"fmt"
	"os"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	guest.LaunchClient().Success(func(struct{}) {
		switch os.Getenv("CHAIN_SCENARIO") {
		case "relay":
			front := locate("test.Front")
			// A second before exiting lets the links report how their own
			// calls ended.
			relay(front, os.Getenv("CHAIN_REQUEST"), func() { guest.After(time.Second, func() { guest.ExitSelf(0) }) })
		case "queued":
			middle, back := locate("test.Middle"), locate("test.Back")
			relay(middle, "behind busy", func() {
				guest.Invoke(back, "Count", wrapperspb.String(""), new(wrapperspb.StringValue)).
					Success(func(r *wrapperspb.StringValue) {
						fmt.Println("back:", r.GetValue())
						guest.ExitSelf(0)
					}).
					Failure(func(err error) {
						fmt.Println("count:", err)
						guest.ExitSelf(1)
					})
			})
		}
	})
	guest.MustRunClient()
}

func locate(service string) guest.Client {
	c, err := guest.Locate(service)
	if err != nil {
		fmt.Println("locate:", err)
		guest.ExitSelf(1)
	}
	return c
}

// relay calls Relay on c and prints how it ended: the reply, or the error
// with its code and any Int64Value detail.
func relay(c guest.Client, req string, next func()) {
	guest.Invoke(c, "Relay", wrapperspb.String(req), new(wrapperspb.StringValue)).
		Success(func(r *wrapperspb.StringValue) {
			fmt.Println("reply:", r.GetValue())
			next()
		}).
		Failure(func(err error) {
			detail := new(wrapperspb.Int64Value)
			if guest.ErrorDetail(err, detail) {
				fmt.Printf("error: %v (code %s, detail %d)\n", err, guest.CodeOf(err), detail.GetValue())
			} else {
				fmt.Printf("error: %v (code %s)\n", err, guest.CodeOf(err))
			}
			next()
		})
}
