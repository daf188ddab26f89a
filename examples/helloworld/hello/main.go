// Command hello is the helloworld app's program: it asks the greeting service
// for a greeting, prints it, and exits.
package main

import (
	"fmt"
	"os"

	greetingv1 "parigot.dev/parigot/examples/helloworld/gen/greeting/v1"
	"parigot.dev/parigot/runtime/guest"
)

func main() {
	guest.LaunchClient().Success(func(struct{}) {
		greeting, err := greetingv1.LocateGreeting()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			guest.ExitSelf(1)
		}
		greeting.FetchGreeting(&greetingv1.FetchGreetingRequest{Name: "world"}).
			Success(func(resp *greetingv1.FetchGreetingResponse) {
				fmt.Println(resp.GetGreeting())
				guest.ExitSelf(0)
			}).
			Failure(func(err error) {
				fmt.Fprintln(os.Stderr, "FetchGreeting failed:", err)
				guest.ExitSelf(1)
			})
	})
	guest.MustRunClient()
}
