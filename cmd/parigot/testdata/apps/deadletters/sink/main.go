// Command sink takes the messages of topic news: it refuses each of them
// the first two times (its subscription's max_attempts, so the message is
// dead-lettered), counting them in the store under tries.<message>, and
// takes it the third time, writing done.<message>. Its Send publishes a
// message on news, a Note of the text it is given, on behalf of the call
// (the traces' tests).
package main

import (
	"context"
	"errors"
	"strconv"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/cmd/parigot/testdata/apps/deadletters/gen"
	"parigot.dev/parigot/runtime/guest"
)

const refusals = 2

func main() {
	kv, err := guest.OpenStore("kv")
	if err != nil {
		panic(err)
	}
	news, err := guest.OpenTopic("news")
	if err != nil {
		panic(err)
	}
	send := func(_ context.Context, body []byte) *guest.Future[[]byte] {
		out := guest.NewFuture[[]byte]()
		var text wrapperspb.StringValue
		if err := proto.Unmarshal(body, &text); err != nil {
			out.Reject(guest.Errorf(guest.CodeInvalidArgument, "not a StringValue: %v", err))
			return out
		}
		news.PublishMessage(&gen.Note{Text: text.GetValue()}).
			Success(func(uint64) { out.Resolve([]byte{}) }).
			Failure(func(err error) { out.Reject(err) })
		return out
	}
	take := func(_ context.Context, body []byte) *guest.Future[[]byte] {
		out := guest.NewFuture[[]byte]()
		var note gen.Note
		if err := proto.Unmarshal(body, &note); err != nil {
			out.Reject(guest.Errorf(guest.CodeInvalidArgument, "not a Note: %v", err))
			return out
		}
		msg := note.GetText()
		tries := func(n int) {
			kv.Put("tries."+msg, []byte(strconv.Itoa(n+1))).Success(func(uint64) {
				if n < refusals {
					out.Reject(guest.Errorf(guest.CodeInternal, "refused %s, as told", msg))
					return
				}
				kv.Put("done."+msg, []byte(msg)).
					Success(func(uint64) { out.Resolve([]byte{}) }).
					Failure(func(err error) { out.Reject(err) })
			}).Failure(func(err error) { out.Reject(err) })
		}
		kv.Get("tries." + msg).Success(func(e guest.Entry) {
			n, _ := strconv.Atoi(string(e.Value))
			tries(n)
		}).Failure(func(err error) {
			if errors.Is(err, guest.ErrNotFound) {
				tries(0)
				return
			}
			out.Reject(err)
		})
		return out
	}
	guest.Export("test.Sink", nil, map[string]guest.Method{"Send": send, "Take": take})
	guest.Run()
}
