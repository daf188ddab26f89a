package host

import (
	"strconv"
	"strings"
	"testing"
)

// A frame of a generic function's instance, named by the shapes of its
// type arguments (every field of a message struct), is shortened to its
// package and function and its method and signature, and says how much
// it left out; the other frames, and the lines that are no frames, are
// left as they are.
func TestAWasmStackTracesLongFramesAreShortenedToTheirEnds(t *testing.T) {
	shapes := strings.Repeat("struct___shop_gen_shop_v1.state_google.golang.org_protobuf_internal_impl.MessageState__", 8)
	long := "\t.parigot.dev_parigot_runtime_guest.__unaryVT_go.shape." + shapes + "_.serve(i32) i32"
	trace := strings.Join([]string{
		"module[shop] function[_start] failed: stopped by parigot: over its method budget (recovered by wazero)",
		"wasm stack trace:",
		"\tparigot.yield() i32",
		"\t.main.__server_.Greet(i32) i32",
		long,
		"\t.main.main(i32) i32",
	}, "\n")

	got := strings.Split(shortFrames(trace), "\n")
	want := strings.Split(trace, "\n")
	if len(got) != len(want) {
		t.Fatalf("the trace has %d lines, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if i == 4 {
			continue
		}
		if got[i] != want[i] {
			t.Errorf("line %d is %q, want it as it was, %q", i, got[i], want[i])
		}
	}
	frame := got[4]
	if len(frame) > 260 {
		t.Errorf("the long frame is still %d characters: %q", len(frame), frame)
	}
	left := len(long) - frameHead - frameTail
	for _, part := range []string{"\t.parigot.dev_parigot_runtime_guest.__unaryVT_go.shape.", " … (" + strconv.Itoa(left) + " characters of type arguments left out) … ", "_.serve(i32) i32"} {
		if !strings.Contains(frame, part) {
			t.Errorf("the shortened frame %q does not keep %q", frame, part)
		}
	}
}

// A long frame that is no generic instance (a closure nested in closures,
// say) is shortened too, without being called type arguments.
func TestALongFrameOfNoGenericInstanceIsNotSaidToBeTypeArguments(t *testing.T) {
	long := "\t.main.main.func1" + strings.Repeat(".func1", 60) + "(i32) i32"
	got := shortFrames("wasm stack trace:\n" + long)
	left := len(long) - frameHead - frameTail
	if want := " … (" + strconv.Itoa(left) + " characters left out) … "; !strings.Contains(got, want) {
		t.Errorf("the shortened frame %q does not say %q", got, want)
	}
}
