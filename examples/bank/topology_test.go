//go:build !wasip1

// The topology tests of bank: balances that outlive the teller's runs, and
// transfers that reach the audit service through a topic.
package bank_test

import (
	"errors"
	"testing"
	"time"

	bankv1 "parigot.dev/parigot/examples/bank/gen/bank/v1"
	"parigot.dev/parigot/runtime/apptest"
	"parigot.dev/parigot/runtime/guest"
)

// TestBank runs in both modes: the stores and topics live in the host's
// own JetStream server in one, in the NATS server every guest's process
// reaches in the other, and must behave the same. (Under parigot test
// --mode, the pass of the other mode skips each.)
func TestBank(t *testing.T) {
	for _, mode := range []apptest.Mode{apptest.Single, apptest.Split} {
		t.Run(string(mode)+" mode", func(t *testing.T) { testBank(t, mode) })
	}
}

func testBank(t *testing.T, mode apptest.Mode) {
	app := apptest.Start(t, ".", mode)
	accounts := bankv1.NewAccountsNativeClient(app)
	audit := bankv1.NewAuditNativeClient(app)

	t.Run("the teller counts its runs and starts from the last run's balances", func(t *testing.T) {
		for _, want := range []string{
			"run 1\nalice 90\nbob 105\ncarol 105\n",
			"run 2\nalice 80\nbob 110\ncarol 110\n",
		} {
			res := app.RunProgram(t, "teller")
			if res.Stdout != want || res.ExitCode != 0 {
				t.Errorf("stdout %q, exit code %d, want %q (stderr %q)", res.Stdout, res.ExitCode, want, res.Stderr)
			}
		}
	})

	t.Run("a transfer over the balance fails with failed precondition and moves nothing", func(t *testing.T) {
		_, err := accounts.Transfer(t.Context(), &bankv1.TransferRequest{Transfer: &bankv1.Transfer{Id: "big", From: "dave", To: "erin", Amount: 1000}})
		if !errors.Is(err, guest.ErrFailedPrecondition) {
			t.Errorf("err = %v, want failed precondition", err)
		}
		b, err := accounts.Balance(t.Context(), &bankv1.BalanceRequest{Account: "dave"})
		if err != nil || b.GetBalance() != 100 {
			t.Errorf("dave's balance %v, %v; want 100", b, err)
		}
	})

	t.Run("every transfer published reaches the audit service", func(t *testing.T) {
		// The teller's two runs made four transfers; the audit service
		// records them as the topic delivers them, soon after.
		deadline := time.Now().Add(time.Minute)
		for {
			c, err := audit.Count(t.Context(), &bankv1.CountRequest{})
			if err == nil && c.GetTransfers() == 4 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the audit service recorded %v transfers (err %v), want 4", c.GetTransfers(), err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
