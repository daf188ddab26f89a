// Command flood is a test program that floods a service: it dispatches
// FLOOD_N calls of test.Echo/Slow with FLOOD_SIZE-byte requests without
// waiting for any reply, then prints how the calls ended, counted by code,
// and exits 0 once every call has completed.
package main

import (
	"fmt"
	"os"
	"strconv"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	n, _ := strconv.Atoi(os.Getenv("FLOOD_N"))
	size, _ := strconv.Atoi(os.Getenv("FLOOD_SIZE"))
	guest.LaunchClient().Success(func(struct{}) {
		echo, err := guest.Locate("test.Echo")
		if err != nil {
			fmt.Println("locate:", err)
			guest.ExitSelf(1)
		}
		req := wrapperspb.Bytes(make([]byte, size))
		codes := map[string]int{}
		left := n
		done := func(code string) {
			codes[code]++
			if left--; left == 0 {
				fmt.Printf("flood: ok=%d resource_exhausted=%d other=%d\n", codes["ok"], codes["resource exhausted"], n-codes["ok"]-codes["resource exhausted"])
				guest.ExitSelf(0)
			}
		}
		for range n {
			guest.Invoke(echo, "Slow", req, new(wrapperspb.BytesValue)).
				Success(func(*wrapperspb.BytesValue) { done("ok") }).
				Failure(func(err error) { done(guest.CodeOf(err).String()) })
		}
	})
	guest.MustRunClient()
}
