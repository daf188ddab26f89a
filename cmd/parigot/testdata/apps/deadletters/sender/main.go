// Command sender has the sink publish "hello" to topic news in the app's
// first run (and writes a text value, a binary one and a Note), then
// waits until the sink has taken it: in the first run, not before parigot
// state redeliver has published it again, since the sink refuses it until
// it is dead-lettered.
package main

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/cmd/parigot/testdata/apps/deadletters/gen"
	"parigot.dev/parigot/runtime/guest"
)

func main() {
	kv, err := guest.OpenStore("kv")
	if err != nil {
		panic(err)
	}
	fail := func(err error) {
		fmt.Println("failed:", err)
		guest.ExitSelf(1)
	}
	var wait func()
	wait = func() {
		kv.Get("done.hello").Success(func(guest.Entry) {
			fmt.Println("hello was taken")
			guest.ExitSelf(0)
		}).Failure(func(err error) {
			if !errors.Is(err, guest.ErrNotFound) {
				fail(err)
				return
			}
			guest.After(20*time.Millisecond, wait)
		})
	}
	guest.LaunchClient().Success(func(struct{}) {
		kv.Get("sent").Success(func(guest.Entry) { wait() }).Failure(func(error) {
			kv.Put("bin", []byte{0xff, 0x00, 0x01}).Success(func(uint64) {
				guest.PutMessage(kv, "note", &gen.Note{Text: "kept"}).Success(func(uint64) {
					kv.Put("sent", []byte("yes")).Success(func(uint64) {
						sink, err := guest.Locate("test.Sink")
						if err != nil {
							fail(err)
							return
						}
						guest.Invoke(sink, "Send", wrapperspb.String("hello"), new(emptypb.Empty)).Success(func(*emptypb.Empty) {
							fmt.Println("published hello")
							wait()
						}).Failure(fail)
					}).Failure(fail)
				}).Failure(fail)
			}).Failure(fail)
		})
	})
	guest.MustRunClient()
}
