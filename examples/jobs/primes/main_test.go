package main

import (
	"testing"

	jobsv1 "parigot.dev/parigot/examples/jobs/gen/jobs/v1"
)

func TestAJobCountsThePrimesStepByStep(t *testing.T) {
	js := jobs{}
	resp, j, err := js.start(&jobsv1.StartRequest{Below: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	steps := 1
	for !j.step() {
		steps++
	}
	if want := (100_000 + stepSize - 1) / stepSize; steps != want {
		t.Errorf("took %d steps, want %d of %d numbers", steps, want, stepSize)
	}
	st, err := js.status(&jobsv1.StatusRequest{JobId: resp.GetJobId()})
	if err != nil {
		t.Fatal(err)
	}
	if !st.GetDone() || st.GetPrimes() != 9592 {
		t.Errorf("status = %v, want done with 9592 primes below 100000", st)
	}
}

func TestStatusOfAnUnknownJobFails(t *testing.T) {
	other := jobs{}
	resp, _, _ := other.start(&jobsv1.StartRequest{Below: 10})
	if _, err := (jobs{}).status(&jobsv1.StatusRequest{JobId: resp.GetJobId()}); err == nil {
		t.Error("status of a job this service never started succeeded")
	}
}

func TestStartRefusesANumberOutOfRange(t *testing.T) {
	if _, _, err := (jobs{}).start(&jobsv1.StartRequest{Below: 1}); err == nil {
		t.Error("start below 2 succeeded")
	}
}
