// Command loader is a load-test program: it makes LOAD_N calls of
// test.Echo/Echo, LOAD_DEPTH at a time, with payloads from 0 B to 1 MiB that
// encode the caller and the call's number, and checks every reply by
// content. It prints one summary line and exits 0 only when every call
// completed exactly once with its own payload.
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

// sizes cycles through small and medium payloads; every 500th call is 1 MiB.
var sizes = []int{0, 100, 1 << 10, 10 << 10, 64 << 10}

// small keeps payloads at 1 KiB at most (LOAD_SMALL=1): for tests about
// routing rather than volume.
var small = os.Getenv("LOAD_SMALL") != ""

func size(seq int) int {
	if small {
		return sizes[seq%3]
	}
	if seq%500 == 499 {
		return 1 << 20
	}
	return sizes[seq%len(sizes)]
}

// payload is n bytes that only call (caller, seq) would send.
func payload(caller string, seq, n int) []byte {
	if n == 0 {
		return nil
	}
	head := fmt.Appendf(nil, "%s/%d/", caller, seq)
	b := make([]byte, n)
	copy(b, head)
	for i := len(head); i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], uint64(seq)*0x9E3779B97F4A7C15+uint64(i))
	}
	return b
}

func main() {
	n, _ := strconv.Atoi(os.Getenv("LOAD_N"))
	depth, _ := strconv.Atoi(os.Getenv("LOAD_DEPTH"))
	depth = max(depth, 1)
	me := os.Args[0]
	done := make([]uint8, n)
	var ok, failed, mismatched, duplicated int
	next := 0
	guest.LaunchClient().Success(func(struct{}) {
		echo, err := guest.Locate("test.Echo")
		if err != nil {
			fmt.Println("locate:", err)
			guest.ExitSelf(1)
		}
		var send func()
		finish := func() {
			if ok+failed+mismatched+duplicated < n {
				return
			}
			fmt.Printf("%s: calls=%d ok=%d failed=%d mismatched=%d duplicated=%d\n", me, n, ok, failed, mismatched, duplicated)
			if ok != n {
				guest.ExitSelf(1)
			}
			guest.ExitSelf(0)
		}
		send = func() {
			if next >= n {
				return
			}
			seq := next
			next++
			want := payload(me, seq, size(seq))
			guest.Invoke(echo, "Echo", wrapperspb.Bytes(want), new(wrapperspb.BytesValue)).
				Success(func(r *wrapperspb.BytesValue) {
					done[seq]++
					switch {
					case done[seq] > 1:
						duplicated++
					case !bytes.Equal(r.GetValue(), want):
						mismatched++
					default:
						ok++
					}
					send()
					finish()
				}).
				Failure(func(err error) {
					done[seq]++
					if done[seq] > 1 {
						duplicated++
					} else {
						failed++
						if failed <= 3 {
							fmt.Printf("%s: call %d failed: %v\n", me, seq, err)
						}
					}
					send()
					finish()
				})
		}
		for i := 0; i < depth; i++ {
			send()
		}
	})
	guest.MustRunClient()
}
