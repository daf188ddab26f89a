// Command convert is the rates app's program: it converts 100 USD to EUR
// with the rates service, prints the result, and exits.
package main

import (
	"fmt"
	"os"

	ratesv1 "parigot.dev/parigot/examples/rates/gen/rates/v1"
	"parigot.dev/parigot/runtime/guest"
)

func main() {
	guest.LaunchClient().Success(func(struct{}) {
		rates, err := ratesv1.LocateRates()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			guest.ExitSelf(1)
		}
		rates.Convert(&ratesv1.ConvertRequest{From: "USD", To: "EUR", Amount: 100}).
			Success(func(resp *ratesv1.ConvertResponse) {
				fmt.Printf("100.00 USD = %.2f EUR (rate %g)\n", resp.GetAmount(), resp.GetRate())
				guest.ExitSelf(0)
			}).
			Failure(func(err error) {
				fmt.Fprintln(os.Stderr, "convert:", err)
				guest.ExitSelf(1)
			})
	})
	guest.MustRunClient()
}
