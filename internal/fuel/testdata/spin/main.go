// Command spin prints "spinning", then loops forever without calling the
// host: the guest that, uninstrumented, would keep a host's garbage
// collector waiting forever.
package main

import "fmt"

func main() {
	fmt.Println("spinning")
	for {
	}
}
