// Command teller is the bank's program: it counts its runs in the store
// "accounts" (key "runs"), prints "run N", makes two transfers and prints
// the balances. Run it twice with the same data directory and the second
// run starts from the first one's balances.
package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	bankv1 "parigot.dev/parigot/examples/bank/gen/bank/v1"
	"parigot.dev/parigot/runtime/guest"
)

var people = []string{"alice", "bob", "carol"}

func main() {
	guest.LaunchClient().Success(func(struct{}) {
		store, err := guest.OpenStore("accounts")
		if err != nil {
			fail(err)
		}
		accounts, err := bankv1.LocateAccounts()
		if err != nil {
			fail(err)
		}
		countRun(store).Failure(fail).Success(func(run int) {
			fmt.Printf("run %d\n", run)
			transfers(accounts, run, []*bankv1.Transfer{
				{From: "alice", To: "bob", Amount: 10},
				{From: "bob", To: "carol", Amount: 5},
			}, func() { balances(accounts, 0) })
		})
	})
	guest.MustRunClient()
}

// countRun adds one to the run counter and returns it: 1 on a fresh data
// directory.
func countRun(store *guest.Store) *guest.Future[int] {
	out := guest.NewFuture[int]()
	store.Get("runs").
		Success(func(e guest.Entry) {
			n, err := strconv.Atoi(string(e.Value))
			if err != nil {
				out.Reject(fmt.Errorf("the run counter holds %q", e.Value))
				return
			}
			store.Update("runs", []byte(strconv.Itoa(n+1)), e.Revision).
				Success(func(uint64) { out.Resolve(n + 1) }).
				Failure(func(err error) { out.Reject(err) })
		}).
		Failure(func(err error) {
			if !errors.Is(err, guest.ErrNotFound) {
				out.Reject(err)
				return
			}
			store.Create("runs", []byte("1")).
				Success(func(uint64) { out.Resolve(1) }).
				Failure(func(err error) { out.Reject(err) })
		})
	return out
}

// transfers makes the transfers one after the other, then calls done.
func transfers(accounts *bankv1.AccountsClient, run int, ts []*bankv1.Transfer, done func()) {
	if len(ts) == 0 {
		done()
		return
	}
	t := ts[0]
	t.Id = fmt.Sprintf("%d-%d", run, 3-len(ts))
	accounts.Transfer(&bankv1.TransferRequest{Transfer: t}).
		Failure(fail).
		Success(func(*bankv1.TransferResponse) { transfers(accounts, run, ts[1:], done) })
}

// balances prints the balance of people[i:], then exits.
func balances(accounts *bankv1.AccountsClient, i int) {
	if i == len(people) {
		guest.ExitSelf(0)
	}
	accounts.Balance(&bankv1.BalanceRequest{Account: people[i]}).
		Failure(fail).
		Success(func(r *bankv1.BalanceResponse) {
			fmt.Printf("%s %d\n", people[i], r.GetBalance())
			balances(accounts, i+1)
		})
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	guest.ExitSelf(1)
}
