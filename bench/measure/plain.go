package measure

import (
	"bytes"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// PlainEcho is the floor: the protobuf work of one call with no transport.
// It marshals the request, unmarshals it as the service would, builds and
// marshals the reply, and unmarshals the reply as the caller would.
func PlainEcho(payload []byte) (*wrapperspb.BytesValue, error) {
	in, err := proto.Marshal(wrapperspb.Bytes(payload))
	if err != nil {
		return nil, err
	}
	req := new(wrapperspb.BytesValue)
	if err := proto.Unmarshal(in, req); err != nil {
		return nil, err
	}
	out, err := proto.Marshal(wrapperspb.Bytes(req.GetValue()))
	if err != nil {
		return nil, err
	}
	resp := new(wrapperspb.BytesValue)
	if err := proto.Unmarshal(out, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// Plain makes n calls of PlainEcho with a size-byte payload from callers
// goroutines.
func Plain(n, size, callers int) (Stats, error) {
	payload := bytes.Repeat([]byte{'p'}, size)
	return fanOut(n, callers, func() error {
		resp, err := PlainEcho(payload)
		if err == nil && len(resp.GetValue()) != size {
			err = fmt.Errorf("reply of %d bytes, want %d", len(resp.GetValue()), size)
		}
		return err
	})
}

// fanOut makes n calls of call from callers goroutines, each timing its own.
func fanOut(n, callers int, call func() error) (Stats, error) {
	callers = max(1, min(callers, n))
	lats := make([][]time.Duration, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range callers {
		share := n / callers
		if c < n%callers {
			share++
		}
		lats[c] = make([]time.Duration, 0, share)
		wg.Go(func() {
			for range share {
				t := time.Now()
				if err := call(); err != nil {
					errs[c] = err
					return
				}
				lats[c] = append(lats[c], time.Since(t))
			}
		})
	}
	wg.Wait()
	total := time.Since(start)
	var all []time.Duration
	for c := range callers {
		if errs[c] != nil {
			return Stats{}, errs[c]
		}
		all = append(all, lats[c]...)
	}
	return fromLatencies(all, total), nil
}
