// Command caller is a test program: it makes one call of each kind and prints
// how each ended, one line per call, in order.
package main

import (
	"bytes"
	"fmt"
	"os"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	guest.LaunchClient().Success(func(struct{}) {
		if os.Args[0] == "crashcaller" {
			crash, err := guest.Locate("test.Crash")
			if err != nil {
				fmt.Println("locate:", err)
				guest.ExitSelf(1)
			}
			steps := []func(next func()){
				func(next func()) { call(crash, "Boom", nil, next) },
				func(next func()) { call(crash, "Boom", nil, next) },
			}
			run(steps, func() { guest.ExitSelf(0) })
			return
		}
		echo, err := guest.Locate("test.Echo")
		if err != nil {
			fmt.Println("locate:", err)
			guest.ExitSelf(1)
		}
		if _, err := guest.Locate("test.Nobody"); err != nil {
			fmt.Println("locate missing:", err)
		}
		steps := []func(next func()){
			func(next func()) { call(echo, "Echo", []byte("hi"), next) },
			func(next func()) { call(echo, "Fail", nil, next) },
			func(next func()) { call(echo, "Slow", nil, next) },
			func(next func()) { call(echo, "Never", nil, next) },
			func(next func()) { call(echo, "Missing", nil, next) },
			func(next func()) { call(echo, "Echo", bytes.Repeat([]byte("x"), 1<<20), next) },
			func(next func()) { call(echo, "Echo", make([]byte, 5<<20), next) },
		}
		run(steps, func() { guest.ExitSelf(0) })
	})
	guest.MustRunClient()
}

func run(steps []func(func()), done func()) {
	if len(steps) == 0 {
		done()
		return
	}
	steps[0](func() { run(steps[1:], done) })
}

func call(c guest.Client, method string, payload []byte, next func()) {
	guest.Invoke(c, method, wrapperspb.Bytes(payload), new(wrapperspb.BytesValue)).
		Success(func(r *wrapperspb.BytesValue) {
			fmt.Printf("%s: ok %d bytes, intact=%v\n", method, len(r.GetValue()), bytes.Equal(r.GetValue(), payload))
			next()
		}).
		Failure(func(err error) {
			fmt.Printf("%s: %s\n", method, err)
			next()
		})
}
