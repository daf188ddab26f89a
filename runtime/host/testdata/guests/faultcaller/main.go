// Command faultcaller is a test program: it calls test.Faulty/Hello, then,
// a second later, the method named by FAULT, then, a second later again
// (when the host has dealt with the fault, even an overrun), Hello, and
// prints how each call ended, one line each. The pauses leave a test time
// to act between the calls (to kill the service's process, say). With
// TIMES=n it calls the faulty method n times, a second apart. With
// THEN=exit it exits right after the (last) faulty method's call ends. Before it
// exits, it prints SAY when set; it exits with EXIT (0 when unset). With
// LOOP=none its main returns without running the event loop, as a
// program that forgot guest.MustRunClient does: it calls nothing.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	guest.LaunchClient().Success(func(struct{}) {
		faulty, err := guest.Locate("test.Faulty")
		if err != nil {
			fmt.Println("locate:", err)
			guest.ExitSelf(1)
		}
		times, err := strconv.Atoi(os.Getenv("TIMES"))
		if err != nil {
			times = 1
		}
		var fault func(n int)
		fault = func(n int) {
			call(faulty, os.Getenv("FAULT"), func() {
				if n < times {
					guest.After(time.Second, func() { fault(n + 1) })
					return
				}
				if os.Getenv("THEN") == "exit" {
					end()
				}
				guest.After(time.Second, func() {
					call(faulty, "Hello", end)
				})
			})
		}
		call(faulty, "Hello", func() {
			guest.After(time.Second, func() { fault(1) })
		})
	})
	if os.Getenv("LOOP") == "none" {
		return
	}
	guest.MustRunClient()
}

func call(c guest.Client, method string, next func()) {
	guest.Invoke(c, method, wrapperspb.Bytes([]byte("hi")), new(wrapperspb.BytesValue)).
		Success(func(*wrapperspb.BytesValue) {
			fmt.Printf("%s: ok\n", method)
			next()
		}).
		Failure(func(err error) {
			fmt.Printf("%s: %s\n", method, err)
			next()
		})
}

// end ends the program as SAY and EXIT say.
func end() {
	if say := os.Getenv("SAY"); say != "" {
		fmt.Println(say)
	}
	code, _ := strconv.Atoi(os.Getenv("EXIT"))
	guest.ExitSelf(code)
}
