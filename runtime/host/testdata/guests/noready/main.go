// Command noready is a version of test.Version that never gets ready: its
// main sleeps before it exports anything. The reload tests swap it in for
// version1.
package main

import "time"

func main() {
	time.Sleep(time.Hour)
}
