package apptest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	bankv1 "parigot.dev/parigot/examples/bank/gen/bank/v1"
	"parigot.dev/parigot/runtime/guest"
)

// TestStoreAndTopicHandles checks, in both modes against examples/bank,
// that the test's handles on a store and a topic see what the services
// do, and the services what the handles do: the accounts service keeps
// balances in the store accounts and publishes each transfer on the topic
// transfers, to which the audit service subscribes, recording each in the
// store audit (of bank.v1.Transfer values).
func TestStoreAndTopicHandles(t *testing.T) {
	for _, mode := range []Mode{Single, Split} {
		t.Run(string(mode)+" mode", func(t *testing.T) {
			t.Setenv(EnvMode, "")
			app := Start(t, "../../examples/bank", mode)
			bank := bankv1.NewAccountsNativeClient(app)
			accounts, audit := app.Store(t, "accounts"), app.Store(t, "audit")
			transfers := app.Topic(t, "transfers")
			// Generous: a busy machine, and CI's CPU hog.
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()

			t.Run("a value a method stored is read by the handle", func(t *testing.T) {
				if _, err := bank.Transfer(ctx, &bankv1.TransferRequest{Transfer: &bankv1.Transfer{Id: "t1", From: "alice", To: "bob", Amount: 10}}); err != nil {
					t.Fatalf("Transfer: %v", err)
				}
				var alice bankv1.Account
				if err := accounts.Get(ctx, "acct.alice", &alice); err != nil || alice.GetBalance() != 90 {
					t.Errorf("Get(acct.alice) = %v, %v; want a balance of 90", &alice, err)
				}
				keys, err := accounts.Keys(ctx, "acct.*")
				if want := []string{"acct.alice", "acct.bob"}; err != nil || !slices.Equal(keys, want) {
					t.Errorf("Keys(acct.*) = %q, %v; want %q", keys, err, want)
				}
			})

			t.Run("a method's publication is read by the handle", func(t *testing.T) {
				var got bankv1.Transfer
				if err := transfers.Next(ctx, &got); err != nil || got.GetId() != "t1" || got.GetAmount() != 10 {
					t.Errorf("Next = %v, %v; want transfer t1 of 10", &got, err)
				}
			})

			t.Run("a value the handle put is what the method reads", func(t *testing.T) {
				if err := accounts.Put(ctx, "acct.zed", &bankv1.Account{Balance: 500}); err != nil {
					t.Fatalf("Put: %v", err)
				}
				if b, err := bank.Balance(ctx, &bankv1.BalanceRequest{Account: "zed"}); err != nil || b.GetBalance() != 500 {
					t.Errorf("Balance(zed) = %v, %v; want 500, as put", b, err)
				}
				if err := accounts.Delete(ctx, "acct.zed"); err != nil {
					t.Fatalf("Delete: %v", err)
				}
				if b, err := bank.Balance(ctx, &bankv1.BalanceRequest{Account: "zed"}); err != nil || b.GetBalance() != 100 {
					t.Errorf("Balance(zed) after Delete = %v, %v; want the opening balance of 100", b, err)
				}
				if _, err := accounts.GetBytes(ctx, "acct.zed"); !errors.Is(err, guest.ErrNotFound) {
					t.Errorf("GetBytes(acct.zed) after Delete: err = %v, want not found", err)
				}
			})

			t.Run("a message the handle published reaches the subscriber", func(t *testing.T) {
				sent := &bankv1.Transfer{Id: "from-test", From: "carol", To: "dave", Amount: 7}
				if err := transfers.Publish(ctx, sent); err != nil {
					t.Fatalf("Publish: %v", err)
				}
				// The audit service records it under its id once the
				// topic has delivered it: a moment after.
				var recorded bankv1.Transfer
				for {
					err := audit.Get(ctx, "transfer.from-test", &recorded)
					if err == nil {
						break
					}
					if !errors.Is(err, guest.ErrNotFound) {
						t.Fatalf("Get(transfer.from-test): %v", err)
					}
					if ctx.Err() != nil {
						t.Fatal("the audit service did not record the transfer the test published")
					}
					time.Sleep(20 * time.Millisecond)
				}
				if !proto.Equal(&recorded, sent) {
					t.Errorf("recorded %v, want %v", &recorded, sent)
				}
				var got bankv1.Transfer
				if err := transfers.Next(ctx, &got); err != nil || got.GetId() != "from-test" {
					t.Errorf("Next = %v, %v; want the handle's own from-test, after t1", &got, err)
				}
			})

			t.Run("the handles fail as a guest's operations do", func(t *testing.T) {
				err := audit.Put(ctx, "transfer.x", &bankv1.Account{Balance: 1})
				if !errors.Is(err, guest.ErrInvalidArgument) || !strings.Contains(err.Error(), "store audit holds bank.v1.Transfer values (value in its block of parigot.hcl), not bank.v1.Account") {
					t.Errorf("Put of an Account in audit: err = %v, want invalid argument naming both messages", err)
				}
				if err := accounts.PutBytes(ctx, "acct.bad", []byte{0xff}); err != nil {
					t.Fatalf("PutBytes: %v", err)
				}
				err = accounts.Get(ctx, "acct.bad", &bankv1.Account{})
				if !errors.Is(err, guest.ErrDataLoss) || !strings.Contains(err.Error(), `the value of "acct.bad" in store accounts is not a bank.v1.Account`) {
					t.Errorf("Get of a damaged value: err = %v, want data loss naming the key and the message", err)
				}
				if err := accounts.PutBytes(ctx, "no spaces", nil); !errors.Is(err, guest.ErrInvalidArgument) {
					t.Errorf("PutBytes of an invalid key: err = %v, want invalid argument", err)
				}
			})

			t.Run("Next waits no longer than its context", func(t *testing.T) {
				short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
				defer cancel()
				_, err := transfers.NextBytes(short)
				if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "topic transfers: no message was published after the 2 this handle read") {
					t.Errorf("NextBytes with nothing published: err = %v, want the deadline, saying what was read", err)
				}
			})
		})
	}
}

// TestAHandleOnAStoreOrTopicTheAppLacksFailsTheTest checks that the test
// fails, naming the stores (topics) the app declares.
func TestAHandleOnAStoreOrTopicTheAppLacksFailsTheTest(t *testing.T) {
	t.Setenv(EnvMode, "")
	bank := Start(t, "../../examples/bank", Single)
	hello := Start(t, "../../examples/helloworld", Single)
	tests := []struct {
		scenario string
		open     func(testing.TB)
		want     string
	}{
		{"a store", func(t testing.TB) { bank.Store(t, "acounts") },
			`apptest: bank declares no store "acounts" (a store block of parigot.hcl); its stores: accounts, audit`},
		{"a topic", func(t testing.TB) { bank.Topic(t, "transfer") },
			`apptest: bank declares no topic "transfer" (a topic block of parigot.hcl); its topics: transfers`},
		{"a store of an app without any", func(t testing.TB) { hello.Store(t, "accounts") },
			`apptest: helloworld declares no store "accounts" (a store block of parigot.hcl); it declares no stores`},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			rec := &fatalRecorder{TB: t}
			t.Run("handle", func(t *testing.T) {
				rec.TB = t
				tt.open(rec)
			})
			if rec.fatal != tt.want {
				t.Errorf("the test failed with %q, want %q", rec.fatal, tt.want)
			}
		})
	}
}

// fatalRecorder is a testing.TB whose Fatalf records its message and
// ends the test as skipped, rather than failed.
type fatalRecorder struct {
	testing.TB
	fatal string
}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	r.SkipNow()
}
