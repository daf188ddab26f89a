// Command caller sends GET ok and GET missing to the endpoint api, one
// after the other, prints each response's status, and exits.
package main

import (
	"fmt"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	guest.LaunchClient().Success(func(struct{}) {
		api, err := guest.OpenHTTP("api")
		if err != nil {
			fmt.Println(err)
			guest.ExitSelf(1)
		}
		get := func(path string, next func()) {
			api.Do(guest.HTTPRequest{Path: path}).Success(func(r guest.HTTPResponse) {
				fmt.Printf("%s: %d\n", path, r.Status)
				next()
			}).Failure(func(err error) {
				fmt.Printf("%s: %v\n", path, err)
				guest.ExitSelf(1)
			})
		}
		get("ok", func() { get("missing", func() { guest.ExitSelf(0) }) })
	})
	guest.MustRunClient()
}
