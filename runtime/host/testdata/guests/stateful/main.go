// Command stateful is a test program that uses a store and a topic the way
// a guest does, and one store its uses does not list. It prints what each
// operation gave, one line each. When the app declares the store "typed"
// (whose values are google.protobuf.Int64Value), it then stores and reads
// messages of that type and of another in it and in kv.
package main

import (
	"fmt"

	"google.golang.org/protobuf/types/known/wrapperspb"

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
											typed(kv)
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

// typed stores and reads messages of the declared type and of another in
// the store "typed", then a message in kv, which declares no type, and
// bytes in typed, and exits.
func typed(kv *guest.Store) {
	refused := func(uint64) {
		fmt.Println("a StringValue was stored in typed")
		guest.ExitSelf(1)
	}
	s, err := guest.OpenStore("typed")
	if guest.CodeOf(err) == guest.CodeNotFound {
		guest.ExitSelf(0)
	} else if err != nil {
		fail(err)
	}
	guest.PutMessage(s, "n", wrapperspb.String("seven")).Success(refused).Failure(func(err error) {
		fmt.Println("put of a StringValue:", err)
		guest.GetMessage(s, "n", &wrapperspb.StringValue{}).Failure(func(err error) {
			fmt.Println("get into a StringValue:", guest.CodeOf(err))
			guest.PutMessage(s, "n", wrapperspb.Int64(7)).Failure(fail).Success(func(uint64) {
				guest.GetMessage(s, "n", &wrapperspb.Int64Value{}).Failure(fail).Success(func(e guest.MessageEntry[*wrapperspb.Int64Value]) {
					fmt.Println("get into an Int64Value:", e.Value.GetValue())
					guest.PutMessage(kv, "s", wrapperspb.String("seven")).Failure(fail).Success(func(uint64) {
						fmt.Println("put of a StringValue in kv: ok")
						s.Put("raw", []byte("seven")).Failure(fail).Success(func(uint64) {
							fmt.Println("put of bytes in typed: ok")
							guest.ExitSelf(0)
						})
					})
				})
			})
		})
	})
}

func fail(err error) {
	fmt.Println("unexpected:", err)
	guest.ExitSelf(1)
}
