// Command stateful is a test program that uses a store and a topic the way
// a guest does, and one store its uses does not list. It prints what each
// operation gave, one line each.
package main

import (
	"fmt"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	guest.LaunchClient().Success(func(struct{}) {
		if _, err := guest.OpenStore("secret"); err != nil {
			fmt.Println("open secret:", guest.CodeOf(err))
		}
		if _, err := guest.OpenStore("nothere"); err != nil {
			fmt.Println("open nothere:", guest.CodeOf(err))
		}
		kv, err := guest.OpenStore("kv")
		if err != nil {
			fmt.Println("open kv:", err)
			guest.ExitSelf(1)
		}
		news, err := guest.OpenTopic("news")
		if err != nil {
			fmt.Println("open news:", err)
			guest.ExitSelf(1)
		}
		kv.Put("k", []byte("v1")).Failure(fail).Success(func(rev uint64) {
			kv.Get("k").Failure(fail).Success(func(e guest.Entry) {
				fmt.Printf("get: %s at the put's revision: %v\n", e.Value, e.Revision == rev)
				kv.Update("k", []byte("v2"), rev+100).Failure(func(err error) {
					fmt.Println("stale update:", guest.CodeOf(err))
					kv.Create("k", []byte("v3")).Failure(func(err error) {
						fmt.Println("create over a value:", guest.CodeOf(err))
						kv.Put("no spaces", nil).Failure(func(err error) {
							fmt.Println("bad key:", guest.CodeOf(err))
							kv.Keys("").Failure(fail).Success(func(keys []string) {
								fmt.Println("keys:", keys)
								kv.Delete("k").Failure(fail).Success(func(struct{}) {
									kv.Get("k").Failure(func(err error) {
										fmt.Println("get after delete:", guest.CodeOf(err))
										news.Publish([]byte("hello")).Failure(fail).Success(func(seq uint64) {
											fmt.Println("published at:", seq)
											guest.ExitSelf(0)
										})
									})
								})
							})
						})
					})
				})
			})
		})
	})
	guest.MustRunClient()
}

func fail(err error) {
	fmt.Println("unexpected:", err)
	guest.ExitSelf(1)
}
