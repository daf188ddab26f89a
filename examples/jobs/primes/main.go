// Command primes is the jobs app's service. Its Start method returns at once
// with a JobId; the counting runs in short background steps between calls,
// so the service stays within its 50ms method budget however long the job.
package main

import (
	"context"
	"fmt"

	"parigot.dev/parigot/examples/jobs/gen/ids"
	jobsv1 "parigot.dev/parigot/examples/jobs/gen/jobs/v1"
	"parigot.dev/parigot/runtime/guest"
)

func main() {
	jobsv1.RunPrimes(&server{jobs: jobs{}})
}

type server struct{ jobs jobs }

// Start is the protocol half: it starts the job and schedules its steps.
func (s *server) Start(ctx context.Context, req *jobsv1.StartRequest) *guest.Future[*jobsv1.StartResponse] {
	resp, j, err := s.jobs.start(req)
	if err == nil {
		guest.Background(j.step)
	}
	return guest.Completed(resp, err)
}

// Status is the protocol half of the status query.
func (s *server) Status(ctx context.Context, req *jobsv1.StatusRequest) *guest.Future[*jobsv1.StatusResponse] {
	return guest.Completed(s.jobs.status(req))
}

// jobs are the service's jobs by Id.
type jobs map[ids.JobId]*job

// job counts the primes below a number, a slice at a time.
type job struct {
	below, next, primes uint64
}

// stepSize numbers per step keeps each step around a millisecond, so a call
// that arrives meanwhile waits little.
const stepSize = 4_000

// start registers a new job.
func (js jobs) start(req *jobsv1.StartRequest) (*jobsv1.StartResponse, *job, error) {
	if req.GetBelow() < 2 || req.GetBelow() > 1<<32 {
		return nil, nil, fmt.Errorf("below must be between 2 and 2^32, not %d", req.GetBelow())
	}
	id := ids.NewJobId()
	j := &job{below: req.GetBelow(), next: 2}
	js[id] = j
	return &jobsv1.StartResponse{JobId: id.Proto()}, j, nil
}

// status reports on a job.
func (js jobs) status(req *jobsv1.StatusRequest) (*jobsv1.StatusResponse, error) {
	id, err := ids.JobIdFromProto(req.GetJobId())
	if err != nil {
		return nil, err
	}
	j, ok := js[id]
	if !ok {
		return nil, fmt.Errorf("no job %s", id)
	}
	return &jobsv1.StatusResponse{Done: j.next >= j.below, Checked: j.next, Primes: j.primes}, nil
}

// step examines the next stepSize numbers and reports whether the job is done.
func (j *job) step() bool {
	end := min(j.next+stepSize, j.below)
	for n := j.next; n < end; n++ {
		if isPrime(n) {
			j.primes++
		}
	}
	j.next = end
	return j.next >= j.below
}

func isPrime(n uint64) bool {
	if n < 4 {
		return n >= 2
	}
	if n%2 == 0 {
		return false
	}
	for d := uint64(3); d*d <= n; d += 2 {
		if n%d == 0 {
			return false
		}
	}
	return true
}
