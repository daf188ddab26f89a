// Command accounts is the bank's accounts service: balances in the store
// "accounts", one key per account ("acct.<name>", a bankv1.Account), and
// each transfer published on the topic "transfers" once both balances are
// written.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	bankv1 "parigot.dev/parigot/examples/bank/gen/bank/v1"
	"parigot.dev/parigot/runtime/guest"
)

// openingBalance is what an account holds the first time it is used.
const openingBalance = 100

type server struct {
	accounts  *guest.Store
	transfers *guest.Topic
}

func main() {
	bankv1.RunAccounts(&server{})
}

// Ready opens the store and the topic the manifest's uses lists.
func (s *server) Ready(context.Context) bool {
	var err error
	if s.accounts, err = guest.OpenStore("accounts"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return false
	}
	if s.transfers, err = guest.OpenTopic("transfers"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return false
	}
	return true
}

// account is a balance and the revision it was read at.
type account struct {
	key      string
	balance  int64
	revision uint64
}

// Transfer reads both balances, writes both only if neither changed since
// (compare-and-set), then publishes the transfer and answers once the
// topic holds it.
func (s *server) Transfer(ctx context.Context, req *bankv1.TransferRequest) *guest.Future[*bankv1.TransferResponse] {
	t := req.GetTransfer()
	if err := checkTransfer(t); err != nil {
		return guest.Rejected[*bankv1.TransferResponse](err)
	}
	out := guest.NewFuture[*bankv1.TransferResponse]()
	s.account(t.GetFrom()).Failure(func(err error) { out.Reject(err) }).Success(func(from account) {
		s.account(t.GetTo()).Failure(func(err error) { out.Reject(err) }).Success(func(to account) {
			fromBalance, toBalance, err := transfer(from.balance, to.balance, t.GetAmount())
			if err != nil {
				out.Reject(err)
				return
			}
			guest.UpdateMessage(s.accounts, from.key, &bankv1.Account{Balance: fromBalance}, from.revision).
				Failure(func(err error) { out.Reject(err) }).
				Success(func(uint64) {
					guest.UpdateMessage(s.accounts, to.key, &bankv1.Account{Balance: toBalance}, to.revision).
						Failure(func(err error) { out.Reject(err) }).
						Success(func(uint64) {
							s.transfers.PublishMessage(t).
								Failure(func(err error) { out.Reject(err) }).
								Success(func(uint64) {
									out.Resolve(&bankv1.TransferResponse{FromBalance: fromBalance, ToBalance: toBalance})
								})
						})
				})
		})
	})
	return out
}

// Balance reads an account's balance; an account never used holds the
// opening balance.
func (s *server) Balance(ctx context.Context, req *bankv1.BalanceRequest) *guest.Future[*bankv1.BalanceResponse] {
	out := guest.NewFuture[*bankv1.BalanceResponse]()
	guest.GetMessage(s.accounts, key(req.GetAccount()), &bankv1.Account{}).
		Success(func(e guest.MessageEntry[*bankv1.Account]) {
			out.Resolve(&bankv1.BalanceResponse{Balance: e.Value.GetBalance()})
		}).
		Failure(func(err error) {
			if errors.Is(err, guest.ErrNotFound) {
				out.Resolve(&bankv1.BalanceResponse{Balance: openingBalance})
				return
			}
			out.Reject(err)
		})
	return out
}

// account reads an account, opening it with the opening balance the first
// time.
func (s *server) account(name string) *guest.Future[account] {
	out := guest.NewFuture[account]()
	k := key(name)
	guest.GetMessage(s.accounts, k, &bankv1.Account{}).
		Success(func(e guest.MessageEntry[*bankv1.Account]) {
			out.Resolve(account{key: k, balance: e.Value.GetBalance(), revision: e.Revision})
		}).
		Failure(func(err error) {
			if !errors.Is(err, guest.ErrNotFound) {
				out.Reject(err)
				return
			}
			guest.CreateMessage(s.accounts, k, &bankv1.Account{Balance: openingBalance}).
				Success(func(rev uint64) { out.Resolve(account{key: k, balance: openingBalance, revision: rev}) }).
				Failure(func(err error) { out.Reject(err) })
		})
	return out
}

// key is the store key of an account.
func key(name string) string { return "acct." + name }

// checkTransfer refuses a transfer the bank cannot make.
func checkTransfer(t *bankv1.Transfer) error {
	switch {
	case t.GetId() == "" || t.GetFrom() == "" || t.GetTo() == "":
		return guest.Errorf(guest.CodeInvalidArgument, "a transfer needs an id, from and to")
	case t.GetFrom() == t.GetTo():
		return guest.Errorf(guest.CodeInvalidArgument, "a transfer from %s to itself", t.GetFrom())
	case t.GetAmount() <= 0:
		return guest.Errorf(guest.CodeInvalidArgument, "a transfer of %d: amounts are positive", t.GetAmount())
	}
	return nil
}

// transfer is the plain half of Transfer: the balances after it.
func transfer(from, to, amount int64) (int64, int64, error) {
	if from < amount {
		return 0, 0, guest.Errorf(guest.CodeFailedPrecondition, "a balance of %d is below %d", from, amount)
	}
	return from - amount, to + amount, nil
}
