// Command rounds is a test program: it makes ROUNDS_N rounds of
// ROUNDS_CALLS test.Echo/Echo calls each, all dispatched without waiting
// for a reply, and once a round's calls have all completed prints how
// they ended, counted by what each said ("ok" or the error), before the
// next round. It exits 0 once every round has completed.
package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	rounds, _ := strconv.Atoi(os.Getenv("ROUNDS_N"))
	calls, _ := strconv.Atoi(os.Getenv("ROUNDS_CALLS"))
	guest.LaunchClient().Success(func(struct{}) {
		echo, err := guest.Locate("test.Echo")
		if err != nil {
			fmt.Println("locate:", err)
			guest.ExitSelf(1)
		}
		var round func(r int)
		round = func(r int) {
			if r == rounds {
				fmt.Println("done")
				guest.ExitSelf(0)
				return
			}
			ended := map[string]int{}
			left := calls
			end := func(how string) {
				ended[how]++
				if left--; left > 0 {
					return
				}
				var hows []string
				for h, n := range ended {
					hows = append(hows, fmt.Sprintf("%d %s", n, h))
				}
				slices.Sort(hows)
				fmt.Printf("round %d: %s\n", r, strings.Join(hows, "; "))
				round(r + 1)
			}
			msg := wrapperspb.String("round " + strconv.Itoa(r))
			for range calls {
				guest.Invoke(echo, "Echo", msg, new(wrapperspb.StringValue)).
					Success(func(*wrapperspb.StringValue) { end("ok") }).
					Failure(func(err error) { end(err.Error()) })
			}
		}
		round(0)
	})
	guest.MustRunClient()
}
