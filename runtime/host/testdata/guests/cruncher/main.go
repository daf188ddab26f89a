// Command cruncher is a test program that computes forever without calling
// the host: it must not stall the other guests, nor keep the host from
// stopping it.
package main

var x uint64 = 1

func main() {
	for {
		x = x*6364136223846793005 + 1442695040888963407
	}
}
