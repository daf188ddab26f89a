// Command nostart is a version of test.Version that cannot start: its main
// panics before it exports anything. The reload tests swap it in for
// version1.
package main

func main() {
	panic("nostart cannot start")
}
