package guest

import (
	"reflect"
	"unsafe"
)

// Future is the result of an asynchronous operation. It completes exactly once,
// either with a value (Success callbacks run) or with an error (Failure
// callbacks run). Callbacks registered after completion run at once.
//
// Futures belong to the guest's single event loop and are not safe for use
// from other goroutines.
type Future[T any] struct {
	done  bool
	value T
	err   error
	// The callbacks, in the order they were registered: the first of each
	// kind in a field of its own, since most futures get one of each (a
	// slice for them would cost two allocations on every call), the rest
	// in more, which few futures need: a future is allocated with every
	// call, and inside wasm an allocation costs about 0.6 ns a byte more
	// for each byte it has (docs/BENCHMARKS.md, "A smaller call").
	success func(T)
	failure func(error)
	more    *moreCallbacks[T]
	then    func(T, error) // the library's own callback (whenDone), after the others
}

// moreCallbacks are a future's callbacks after the first of each kind.
type moreCallbacks[T any] struct {
	successes []func(T)
	failures  []func(error)
}

// NewFuture returns a future that completes when Resolve or Reject is called.
func NewFuture[T any]() *Future[T] { return &Future[T]{} }

// Resolved returns a future already completed with v.
func Resolved[T any](v T) *Future[T] {
	if reflect.TypeFor[T]().Kind() != reflect.Pointer {
		return &Future[T]{done: true, value: v}
	}
	f := (*Future[T])(unsafe.Pointer(loop.completed()))
	f.value = v
	return f
}

// completed returns a completed future from a block of them, for Resolved
// of a pointer, so that a method answering at once with Resolved or
// Completed, as most do, costs no allocation for its future: a future of
// one pointer type is laid out as a future of any other (the value is one
// pointer word, the callbacks are func values whatever their argument),
// so one block serves every such type. A future that is kept keeps its
// block alive, as a kept context does (see callContext).
func (l *eventLoop) completed() *Future[unsafe.Pointer] {
	futuresMu.Lock() // natively only: Go code may resolve futures on several threads there
	f := fromBlock(&l.futures)
	futuresMu.Unlock()
	f.done = true
	return f
}

// Rejected returns a future already failed with err.
func Rejected[T any](err error) *Future[T] { return &Future[T]{done: true, err: err} }

// Completed returns Rejected(err) when err is not nil and Resolved(v) otherwise.
// It turns a plain Go function's (value, error) into a future:
//
//	func (s *server) FetchGreeting(ctx context.Context, req *pb.Req) *guest.Future[*pb.Resp] {
//		return guest.Completed(fetchGreeting(req))
//	}
func Completed[T any](v T, err error) *Future[T] {
	if err != nil {
		return Rejected[T](err)
	}
	return Resolved(v)
}

// Success registers fn to run with the value when the future succeeds.
func (f *Future[T]) Success(fn func(T)) *Future[T] {
	if f.done {
		if f.err == nil {
			fn(f.value)
		}
		return f
	}
	if f.success == nil {
		f.success = fn
	} else {
		if f.more == nil {
			f.more = new(moreCallbacks[T])
		}
		f.more.successes = append(f.more.successes, fn)
	}
	return f
}

// Failure registers fn to run with the error when the future fails.
func (f *Future[T]) Failure(fn func(error)) *Future[T] {
	if f.done {
		if f.err != nil {
			fn(f.err)
		}
		return f
	}
	if f.failure == nil {
		f.failure = fn
	} else {
		if f.more == nil {
			f.more = new(moreCallbacks[T])
		}
		f.more.failures = append(f.more.failures, fn)
	}
	return f
}

// Done reports whether the future has completed.
func (f *Future[T]) Done() bool { return f.done }

// Resolve completes the future with v. It reports false, and does nothing,
// when the future had already completed.
func (f *Future[T]) Resolve(v T) bool {
	if f.done {
		return false
	}
	f.done, f.value = true, v
	if f.success != nil {
		f.success(v)
	}
	if f.more != nil {
		for _, fn := range f.more.successes {
			fn(v)
		}
	}
	then := f.then
	f.success, f.failure, f.more, f.then = nil, nil, nil, nil
	if then != nil {
		then(v, nil)
	}
	return true
}

// Reject completes the future with err (which must not be nil). It reports
// false, and does nothing, when the future had already completed.
func (f *Future[T]) Reject(err error) bool {
	if f.done {
		return false
	}
	f.done, f.err = true, err
	if f.failure != nil {
		f.failure(err)
	}
	if f.more != nil {
		for _, fn := range f.more.failures {
			fn(err)
		}
	}
	then := f.then
	f.success, f.failure, f.more, f.then = nil, nil, nil, nil
	if then != nil {
		var zero T
		then(zero, err)
	}
	return true
}

// whenDone calls fn with the outcome once the future completes, after the
// Success or Failure callbacks. It is how the library chains futures on the
// path of every call, so it takes one slot instead of a closure and a slice
// entry for each outcome.
func (f *Future[T]) whenDone(fn func(T, error)) {
	if f.done {
		fn(f.value, f.err)
		return
	}
	if prev := f.then; prev != nil {
		f.then = func(v T, err error) { prev(v, err); fn(v, err) }
		return
	}
	f.then = fn
}
