package measure

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"parigot.dev/parigot/internal/syncbuf"
	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/state"
)

// StateOps are the store and topic benchmarks: op "put" and "get" on a
// store, "publish" the latency from publishing a message to its delivery
// to a subscribed service.
var StateOps = []string{"put", "get", "publish"}

// openState starts an embedded JetStream server with its files in a fresh
// directory, as `parigot run` keeps an app's, and opens a store "kv" and a
// topic "news" on it.
func openState(ctx context.Context) (*state.Engine, func(), error) {
	dir, err := os.MkdirTemp("", "parigot-bench-state")
	if err != nil {
		return nil, nil, err
	}
	srv, err := state.StartServer(state.ServerOptions{Dir: dir})
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	nc, err := srv.Connect("bench")
	if err != nil {
		srv.Shutdown()
		os.RemoveAll(dir)
		return nil, nil, err
	}
	e, err := state.Open(ctx, nc, state.Options{App: "bench", Stores: []state.StoreSpec{{Name: "kv"}}, Topics: []state.TopicSpec{{Name: "news"}}, Create: true})
	if err != nil {
		nc.Close()
		srv.Shutdown()
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return e, func() { e.Close(); nc.Close(); srv.Shutdown(); os.RemoveAll(dir) }, nil
}

// StateGuest runs n operations op from a guest in single mode, one after
// the other, with size-byte values, timed inside the guest.
func StateGuest(ctx context.Context, w *Wasm, op string, n, size int) (Stats, error) {
	e, closeState, err := openState(ctx)
	if err != nil {
		return Stats{}, err
	}
	defer closeState()
	env := []string{"BENCH_OP=" + op, "BENCH_N=" + strconv.Itoa(n), "BENCH_SIZE=" + strconv.Itoa(size)}
	guests := []*host.GuestSpec{
		{Name: "bench", Kind: host.Program, Wasm: w.path("statebench"), Env: env, Uses: []string{"store.kv", "topic.news"}},
	}
	if op == "publish" {
		sub := &host.GuestSpec{Name: "sub", Kind: host.Service, Wasm: w.path("statebench"), Implements: []string{"test.Sub"},
			MethodTimeout: 5 * time.Second, Replicas: 1, Uses: []string{"store.kv", "topic.news"},
			Env:           []string{"BENCH_OP=subscriber", "BENCH_N=" + strconv.Itoa(n)},
			Subscriptions: []state.Subscription{{Topic: "news", Method: "test.Sub/Take"}}}
		guests = append([]*host.GuestSpec{sub}, guests...)
	}
	var out syncbuf.Buffer
	res, err := host.Run(ctx, host.Config{Guests: guests, Stdout: &out, Stderr: &out, State: e})
	if err != nil || res.ExitCode != 0 {
		return Stats{}, fmt.Errorf("store %s from a guest: %v, exit %d\n%s", op, err, res.ExitCode, out.String())
	}
	return parseGuest(out.String())
}

// StateNative runs n operations op ("put" or "get") with a native nats.go
// client on the same kind of embedded server: what the guest's figures
// compare with.
func StateNative(ctx context.Context, op string, n, size int) (Stats, error) {
	e, closeState, err := openState(ctx)
	if err != nil {
		return Stats{}, err
	}
	defer closeState()
	kv, err := e.JetStream().KeyValue(ctx, state.Bucket("bench", "kv"))
	if err != nil {
		return Stats{}, err
	}
	value := bytes.Repeat([]byte{'v'}, max(size, 8))
	if _, err := kv.Put(ctx, "k", value); err != nil {
		return Stats{}, err
	}
	lat := make([]time.Duration, 0, n)
	start := time.Now()
	for i := range n {
		t := time.Now()
		var err error
		switch op {
		case "put":
			_, err = kv.Put(ctx, "k"+strconv.Itoa(i%100), value)
		case "get":
			var ent jetstream.KeyValueEntry
			ent, err = kv.Get(ctx, "k")
			_ = ent
		default:
			return Stats{}, fmt.Errorf("no native figure for %s", op)
		}
		if err != nil {
			return Stats{}, err
		}
		lat = append(lat, time.Since(t))
	}
	return fromLatencies(lat, time.Since(start)), nil
}
