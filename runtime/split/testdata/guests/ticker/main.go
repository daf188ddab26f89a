// Command ticker is a test program: it calls test.Echo/Echo once every 50ms,
// 40 times, printing how each call ended, then asks test.Echo/Who 20 times
// and prints how many distinct replicas answered.
package main

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

const calls = 40

func main() {
	guest.LaunchClient().Success(func(struct{}) {
		echo, err := guest.Locate("test.Echo")
		if err != nil {
			fmt.Println("locate:", err)
			guest.ExitSelf(1)
		}
		ok, failed := 0, 0
		var tick func(i int)
		tick = func(i int) {
			if i == calls {
				fmt.Printf("done: ok=%d failed=%d\n", ok, failed)
				who(echo, 0, map[string]bool{})
				return
			}
			msg := fmt.Sprintf("tick %d", i)
			guest.Invoke(echo, "Echo", wrapperspb.String(msg), new(wrapperspb.StringValue)).
				Success(func(r *wrapperspb.StringValue) {
					if r.GetValue() != msg {
						fmt.Printf("call %d: wrong reply %q\n", i, r.GetValue())
						guest.ExitSelf(3)
					}
					ok++
					fmt.Printf("call %d: ok\n", i)
					time.Sleep(50 * time.Millisecond)
					tick(i + 1)
				}).
				Failure(func(err error) {
					failed++
					fmt.Printf("call %d: %v\n", i, err)
					time.Sleep(50 * time.Millisecond)
					tick(i + 1)
				})
		}
		tick(0)
	})
	guest.MustRunClient()
}

func who(echo guest.Client, i int, seen map[string]bool) {
	if i == 20 {
		fmt.Printf("replicas: %d\n", len(seen))
		guest.ExitSelf(0)
		return
	}
	guest.Invoke(echo, "Who", wrapperspb.Bytes(nil), new(wrapperspb.StringValue)).
		Success(func(r *wrapperspb.StringValue) {
			seen[r.GetValue()] = true
			who(echo, i+1, seen)
		}).
		Failure(func(err error) {
			fmt.Println("who:", err)
			who(echo, i+1, seen)
		})
}
