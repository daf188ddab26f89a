//go:build !wasip1

// The topology tests of jobs: long work started with one call, polled with
// another, from native Go code and from the client program.
package jobs_test

import (
	"testing"
	"time"

	jobsv1 "parigot.dev/parigot/examples/jobs/gen/jobs/v1"
	"parigot.dev/parigot/runtime/apptest"
)

func TestJobs(t *testing.T) {
	app := apptest.Start(t, ".", apptest.Default)
	primes := jobsv1.NewPrimesNativeClient(app)

	t.Run("Start returns a job at once and Status reports it done", func(t *testing.T) {
		started, err := primes.Start(t.Context(), &jobsv1.StartRequest{Below: 200_000})
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			st, err := primes.Status(t.Context(), &jobsv1.StatusRequest{JobId: started.GetJobId()})
			if err == nil && st.GetDone() {
				if st.GetPrimes() != 17984 {
					t.Errorf("primes below 200000: %d, want 17984", st.GetPrimes())
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the job did not finish: last status %v, err %v", st, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("the client program counts the primes and exits 0", func(t *testing.T) {
		res := app.RunProgram(t, "client")
		want := "started a job to count the primes below 2000000\nprimes below 2000000: 148933\nit outlived the method budget and was polled while it ran: true\n"
		if res.Stdout != want || res.ExitCode != 0 {
			t.Errorf("stdout %q, exit code %d (stderr %q)", res.Stdout, res.ExitCode, res.Stderr)
		}
	})
}
