// Command caller is a test program: it makes one call of each kind and prints
// how each ended, one line per call, in order.
package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	guest.LaunchClient().Success(func(struct{}) {
		switch os.Args[0] {
		case "spincaller":
			echo, _ := guest.Locate("test.Echo")
			call(echo, "Spin", nil, func() { untilOK(echo, 6000) })
			return
		case "spinlatercaller":
			echo, _ := guest.Locate("test.Echo")
			call(echo, "SpinLater", nil, func() {
				time.Sleep(500 * time.Millisecond) // the timer (due at 10ms) is looping by now, however busy the machine
				// The call fails: unavailable when the watchdog stops the
				// service first, deadline exceeded when its deadline comes
				// first (a busy machine); either way it must not succeed.
				guest.Invoke(echo, "Echo", wrapperspb.Bytes(nil), new(wrapperspb.BytesValue)).
					Success(func(*wrapperspb.BytesValue) { fmt.Println("Echo while the timer loops: ok"); untilOK(echo, 6000) }).
					Failure(func(error) { fmt.Println("Echo while the timer loops: failed"); untilOK(echo, 6000) })
			})
			return
		case "sleepcaller":
			echo, _ := guest.Locate("test.Echo")
			call(echo, "Sleep", nil, func() { untilOK(echo, 6000) })
			return
		case "stuckcaller":
			// Once both replicas have answered (the caller knows them
			// both, however late a busy machine got the second ready),
			// Spin loops on the replica that takes it until the host stops
			// it. A moment after its deadline has passed, 40 calls of Who
			// follow, one after another, each naming the replica that
			// answered it. (The moment leaves the first of them a margin
			// over the time the stuck replica takes to go past its budget,
			// however late it took Spin.)
			echo, _ := guest.Locate("test.Echo")
			untilBoth(echo, map[string]bool{}, 6000, func() {
				call(echo, "Spin", nil, func() {
					time.Sleep(100 * time.Millisecond)
					whoEach(echo, 0, 40)
				})
			})
			return
		case "churncaller":
			echo, _ := guest.Locate("test.Echo")
			call(echo, "Churn", nil, func() { guest.ExitSelf(0) })
			return
		case "largecaller", "largeechocaller":
			// 30 calls of LARGE_SIZE bytes (3 MB unless set), one after
			// another, each garbage once read: largecaller's replies are
			// that large, largeechocaller's requests and replies.
			echo, _ := guest.Locate("test.Echo")
			size := 3_000_000
			if s := os.Getenv("LARGE_SIZE"); s != "" {
				size, _ = strconv.Atoi(s)
			}
			if os.Args[0] == "largecaller" {
				repeatCalls(echo, "Large", []byte(strconv.Itoa(size)), 30, size,
					func() *wrapperspb.StringValue { return new(wrapperspb.StringValue) },
					func(r *wrapperspb.StringValue) int { return len(r.GetValue()) })
				return
			}
			repeatCalls(echo, "EchoKnown", make([]byte, size), 30, size,
				func() *wrapperspb.BytesValue { return new(wrapperspb.BytesValue) },
				func(r *wrapperspb.BytesValue) int { return len(r.GetValue()) })
			return
		case "hogcaller":
			echo, _ := guest.Locate("test.Echo")
			call(echo, "Hog", nil, func() { guest.ExitSelf(0) })
			return
		}
		if os.Args[0] == "crashrepeatcaller" {
			crash, _ := guest.Locate("test.Crash")
			crashTimes(crash, 6, 6000)
			return
		}
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
			// Calls the service answers come first; Slow keeps it busy past
			// its budget, so it comes last of those that reach it.
			func(next func()) { call(echo, "Echo", []byte("hi"), next) },
			func(next func()) { call(echo, "Fail", nil, next) },
			func(next func()) { call(echo, "Missing", nil, next) },
			func(next func()) { call(echo, "Echo", bytes.Repeat([]byte("x"), 1<<20), next) },
			func(next func()) { call(echo, "Never", nil, next) },
			func(next func()) { call(echo, "Slow", nil, next) },
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

// untilOK calls Echo every 20ms until it succeeds (a restarted service is
// back) or tries run out. spincaller and sleepcaller give it 6000 tries, about two minutes:
// a restarted split-mode service is a new process, which a busy machine may
// take seconds to start, and no machine takes minutes.
func untilOK(c guest.Client, tries int) {
	guest.Invoke(c, "Echo", wrapperspb.Bytes([]byte("again")), new(wrapperspb.BytesValue)).
		Success(func(*wrapperspb.BytesValue) {
			fmt.Println("Echo after restart: ok")
			guest.ExitSelf(0)
		}).
		Failure(func(err error) {
			if tries == 0 {
				fmt.Println("Echo after restart:", err)
				guest.ExitSelf(1)
			}
			time.Sleep(20 * time.Millisecond)
			untilOK(c, tries-1)
		})
}

// crashTimes calls Boom until the service has panicked n times, calling
// again every 20ms while it is restarting (tries calls at most), and exits.
func crashTimes(c guest.Client, n, tries int) {
	if n == 0 || tries == 0 {
		fmt.Printf("Boom: %d panics left to see\n", n)
		guest.ExitSelf(0)
		return
	}
	guest.Invoke(c, "Boom", wrapperspb.Bytes(nil), new(wrapperspb.BytesValue)).
		Failure(func(err error) {
			if strings.Contains(err.Error(), "panicked") {
				crashTimes(c, n-1, tries-1)
				return
			}
			time.Sleep(20 * time.Millisecond)
			crashTimes(c, n, tries-1)
		})
}

// untilBoth calls Who every 20ms until two replicas have answered (seen
// holds those that have), then goes on with then; after tries calls, it
// says how many answered and exits.
func untilBoth(c guest.Client, seen map[string]bool, tries int, then func()) {
	again := func() {
		if tries == 0 {
			fmt.Printf("Who: %d replicas answered, want 2\n", len(seen))
			guest.ExitSelf(1)
			return
		}
		time.Sleep(20 * time.Millisecond)
		untilBoth(c, seen, tries-1, then)
	}
	guest.Invoke(c, "Who", wrapperspb.Bytes(nil), new(wrapperspb.StringValue)).
		Success(func(r *wrapperspb.StringValue) {
			if seen[r.GetValue()] = true; len(seen) == 2 {
				then()
				return
			}
			again()
		}).
		Failure(func(error) { again() })
}

// whoEach calls Who, one call after the other, from i until n, printing
// which replica answered each (or how it failed), then exits.
func whoEach(c guest.Client, i, n int) {
	if i == n {
		guest.ExitSelf(0)
		return
	}
	guest.Invoke(c, "Who", wrapperspb.Bytes(nil), new(wrapperspb.StringValue)).
		Success(func(r *wrapperspb.StringValue) {
			fmt.Printf("Who %d: ok %s\n", i, r.GetValue())
			time.Sleep(20 * time.Millisecond)
			whoEach(c, i+1, n)
		}).
		Failure(func(err error) {
			fmt.Printf("Who %d: %s\n", i, err)
			time.Sleep(20 * time.Millisecond)
			whoEach(c, i+1, n)
		})
}

// repeatCalls calls method with req, n times, one call after the other,
// each reply of size bytes (as got measures it) and garbage once read; it
// prints the first failure, or that all n succeeded, then exits.
func repeatCalls[R proto.Message](c guest.Client, method string, req []byte, n, size int, newResp func() R, got func(R) int) {
	var next func(i int)
	next = func(i int) {
		if i == n {
			fmt.Printf("%s: %d replies of %d bytes\n", method, n, size)
			guest.ExitSelf(0)
			return
		}
		guest.Invoke(c, method, wrapperspb.Bytes(req), newResp()).
			Success(func(r R) {
				if got(r) != size {
					fmt.Printf("%s %d: %d bytes, want %d\n", method, i, got(r), size)
					guest.ExitSelf(1)
					return
				}
				next(i + 1)
			}).
			Failure(func(err error) {
				fmt.Printf("%s %d: %s\n", method, i, err)
				guest.ExitSelf(1)
			})
	}
	next(0)
}
