package hostlink

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"

	"parigot.dev/parigot/runtime/internal/abi"
)

func TestFrames(t *testing.T) {
	t.Run("a request and a response read back as written", func(t *testing.T) {
		var b bytes.Buffer
		req := Request{Op: OpDispatch, A: 3, B: 1 << 62, Data: DispatchData("greeting.v1.Greeting/FetchGreeting", []byte{1, 2, 3})}
		resp := Response{Status: abi.StatusBufferTooSmall, Value: 70000, Data: []byte("event")}
		if err := WriteRequest(&b, req); err != nil {
			t.Fatal(err)
		}
		if err := WriteResponse(&b, resp); err != nil {
			t.Fatal(err)
		}
		gotReq, err := ReadRequest(&b)
		if err != nil || !reflect.DeepEqual(gotReq, req) {
			t.Errorf("request read back as %+v, %v; want %+v", gotReq, err, req)
		}
		gotResp, err := ReadResponse(&b)
		if err != nil || !reflect.DeepEqual(gotResp, resp) {
			t.Errorf("response read back as %+v, %v; want %+v", gotResp, err, resp)
		}
		method, body, ok := SplitDispatch(gotReq.Data)
		if !ok || string(method) != "greeting.v1.Greeting/FetchGreeting" || !bytes.Equal(body, []byte{1, 2, 3}) {
			t.Errorf("SplitDispatch = %q, %v, %v", method, body, ok)
		}
	})

	t.Run("a frame claiming more than MaxData is refused before it is read", func(t *testing.T) {
		var h [requestHeader]byte
		h[0] = byte(OpReply)
		binary.LittleEndian.PutUint32(h[17:], MaxData+1)
		_, err := ReadRequest(bytes.NewReader(h[:]))
		if err == nil || !strings.Contains(err.Error(), "over the limit") {
			t.Errorf("ReadRequest = %v, want a frame over the limit refused", err)
		}
	})

	t.Run("a dispatch whose method length runs past its data is malformed", func(t *testing.T) {
		data := binary.LittleEndian.AppendUint32(nil, 100)
		if _, _, ok := SplitDispatch(append(data, "short"...)); ok {
			t.Error("SplitDispatch accepted a method longer than the data")
		}
		if _, _, ok := SplitDispatch([]byte{1, 2}); ok {
			t.Error("SplitDispatch accepted data shorter than its length field")
		}
	})
}
