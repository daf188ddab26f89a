// Command compute is a CPU-bound test guest made of small function calls
// and loops: recursion, a sieve, sorting, a map. It prints its results.
// Its argument is how many rounds to run (1 by default).
package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
)

func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

// primes counts the primes below n.
func primes(n int) int {
	composite := make([]bool, n)
	count := 0
	for i := 2; i < n; i++ {
		if composite[i] {
			continue
		}
		count++
		for j := i * i; j < n; j += i {
			composite[j] = true
		}
	}
	return count
}

// sorted sorts n pseudo-random numbers and returns a checksum of the result.
func sorted(n int) uint64 {
	s := make([]uint64, n)
	x := uint64(88172645463325252)
	for i := range s {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		s[i] = x % 1_000_000
	}
	slices.Sort(s)
	var sum uint64
	for i, v := range s {
		sum = sum*31 + v*uint64(i+1)
	}
	return sum
}

// mapped fills a map and sums what it finds again.
func mapped(n int) int {
	m := make(map[int]int)
	for i := range n {
		m[i*7%n] += i
	}
	sum := 0
	for i := range n {
		sum += m[i]
	}
	return sum
}

func main() {
	rounds := 1
	if len(os.Args) > 1 {
		var err error
		if rounds, err = strconv.Atoi(os.Args[1]); err != nil {
			fmt.Fprintln(os.Stderr, "compute: rounds:", err)
			os.Exit(2)
		}
	}
	var f, p, m int
	var s uint64
	for range rounds {
		f = fib(25)
		p = primes(200_000)
		s = sorted(50_000)
		m = mapped(50_000)
	}
	fmt.Printf("fib(25)=%d primes<200000=%d sorted=%x mapped=%d\n", f, p, s, m)
}
