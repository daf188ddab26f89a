// Command client is the jobs app's program: it starts a job on the primes
// service, polls its status every 20ms without blocking, and prints the
// result.
package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	jobsv1 "parigot.dev/parigot/examples/jobs/gen/jobs/v1"
	idv1 "parigot.dev/parigot/proto/parigot/id/v1"
	"parigot.dev/parigot/runtime/guest"
)

const below = 2_000_000

func main() {
	guest.LaunchClient().Success(func(struct{}) {
		primes, err := jobsv1.LocatePrimes()
		if err != nil {
			fail(err)
		}
		start(primes, 0)
	})
	guest.MustRunClient()
}

// start starts the job. A Start that missed its deadline on a busy machine
// is tried again; the job it may have started runs on, unobserved.
func start(primes *jobsv1.PrimesClient, tries int) {
	began := time.Now()
	primes.Start(&jobsv1.StartRequest{Below: below}).
		Success(func(r *jobsv1.StartResponse) {
			fmt.Printf("started a job to count the primes below %d\n", below)
			poll(primes, r.GetJobId(), began, 0)
		}).
		Failure(func(err error) {
			if errors.Is(err, guest.ErrDeadlineExceeded) && tries < 3 {
				start(primes, tries+1)
				return
			}
			fail(err)
		})
}

// poll asks for the job's status, and again 20ms later until it is done.
// The program's loop stays free meanwhile: guest.After does not block.
func poll(primes *jobsv1.PrimesClient, job *idv1.Id, began time.Time, polls int) {
	primes.Status(&jobsv1.StatusRequest{JobId: job}).
		Success(func(st *jobsv1.StatusResponse) {
			if !st.GetDone() && polls < maxPolls {
				guest.After(20*time.Millisecond, func() { poll(primes, job, began, polls+1) })
				return
			}
			fmt.Printf("primes below %d: %d\n", below, st.GetPrimes())
			fmt.Printf("it outlived the method budget and was polled while it ran: %v\n", time.Since(began) > 50*time.Millisecond && polls > 0)
			guest.ExitSelf(0)
		}).
		Failure(func(err error) {
			// A poll that missed its deadline (a busy machine) is simply
			// tried again: asking for a status twice is harmless.
			if errors.Is(err, guest.ErrDeadlineExceeded) && polls < maxPolls {
				guest.After(20*time.Millisecond, func() { poll(primes, job, began, polls+1) })
				return
			}
			fail(err)
		})
}

// maxPolls bounds the wait: 20ms apart, about a minute.
const maxPolls = 3000

func fail(err error) {
	fmt.Fprintln(os.Stderr, "client:", err)
	guest.ExitSelf(1)
}
