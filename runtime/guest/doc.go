// Package guest is the library a parigot guest imports: the single-threaded
// event loop, futures, errors, and the plumbing that generated service stubs
// call (Export, Locate, Invoke).
//
// A guest never blocks and never locks. A call returns a *Future at once; its
// Success or Failure callbacks run on the event loop when the reply, a typed
// failure, or a runtime error (deadline exceeded, unavailable) arrives. Every
// future completes exactly once.
//
// A program:
//
//	func main() {
//		guest.LaunchClient().Success(func(struct{}) {
//			greeting, err := greetingv1.LocateGreeting()
//			...
//			greeting.FetchGreeting(req).Success(func(r *greetingv1.FetchGreetingResponse) {
//				fmt.Println(r.GetGreeting())
//				guest.ExitSelf(0)
//			})
//		})
//		guest.MustRunClient()
//	}
//
// A service:
//
//	func main() {
//		greetingv1.InitGreeting(&server{})
//		guest.Run()
//	}
//
// The package compiles for GOOS=wasip1 (the real thing) and natively, so that
// service logic can be unit-tested with plain `go test`; natively there is no
// host, and Locate reports that.
package guest
