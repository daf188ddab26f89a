// Command hammer is a test program for reloads. It asks test.Counter for
// the next count and prints it with the version test.Version answers; then
// it keeps 8 calls to test.Version in flight, printing a line after 100
// answers, each time the answer changes and for each call that fails,
// until it is stopped.
package main

import (
	"fmt"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	guest.LaunchClient().Success(func(struct{}) {
		version, _ := guest.Locate("test.Version")
		counter, _ := guest.Locate("test.Counter")
		guest.Invoke(counter, "Next", &wrapperspb.Int64Value{}, new(wrapperspb.Int64Value)).Success(func(n *wrapperspb.Int64Value) {
			which(version).Success(func(v string) {
				fmt.Printf("%s count %d\n", v, n.GetValue())
				for range 8 {
					hammer(version, v)
				}
			})
		}).Failure(func(err error) { fmt.Println("failed:", err) })
	})
	guest.MustRunClient()
}

func which(version guest.Client) *guest.Future[string] {
	f := guest.NewFuture[string]()
	guest.Invoke(version, "Which", &wrapperspb.StringValue{}, new(wrapperspb.StringValue)).
		Success(func(v *wrapperspb.StringValue) { f.Resolve(v.GetValue()) }).
		Failure(func(err error) {
			fmt.Println("failed:", err)
			f.Reject(err)
		})
	return f
}

var answers int

func hammer(version guest.Client, last string) {
	f := which(version)
	f.Success(func(v string) {
		if answers++; answers == 100 {
			fmt.Println("100 answers")
		}
		if v != last {
			fmt.Printf("now %s\n", v)
		}
		hammer(version, v)
	})
	f.Failure(func(error) { hammer(version, last) })
}
