// Package hostlink carries parigot's host functions over a byte stream, for
// a guest that runs as a native process (under a debugger, see parigot run
// --debug) instead of as wasm inside the host. The guest's native build of
// runtime/guest sends one Request per host function call and waits for its
// Response; the host answers each with the very host function a wasm guest
// calls, so the two kinds of guest see the same API, statuses included.
//
// The stream is a Unix-domain socket that the host listens on, in a
// directory only its user may enter; the guest finds it in the environment
// variable EnvSocket. A guest makes one call at a time.
//
// It is not a general RPC: one request, one response, in order, on one
// connection, with sizes bounded so that a broken peer cannot make either
// side allocate without limit.
package hostlink

import (
	"encoding/binary"
	"fmt"
	"io"

	"parigot.dev/parigot/runtime/internal/abi"
)

// EnvSocket names the environment variable that holds the path of the
// host's socket.
const EnvSocket = "PARIGOT_HOST_LINK"

// Op is the host function a request calls.
type Op uint8

const (
	OpExport   Op = iota + 1 // Data: the service's name
	OpReady                  // nothing
	OpLocate                 // Data: the service's name; Response.Value: the handle
	OpDispatch               // A: handle, B: deadline; Data: Method(); Response.Value: the call id
	OpPoll                   // A: timeout (ns, as int64), B: buffer size; Response.Data: the event; Value: its size
	OpReply                  // A: call id, B: code; Data: payload
	OpExit                   // A: exit code: the guest is about to exit; no response
	OpOpen                   // A: kind (abi.OpenStore, abi.OpenTopic, abi.OpenHTTP; abi.OpenStore|abi.OpenWithValue); Data: the name; Response.Value: the handle, Response.Data: with abi.OpenWithValue, the store's value type
)

// MaxData bounds the bytes of a request or a response: a payload, its
// method name and framing.
const MaxData = abi.MaxPayload + 64<<10

// Request is one host function call.
type Request struct {
	Op   Op
	A, B uint64
	Data []byte
}

// DispatchData is the Data of an OpDispatch: the method's length, the
// method, the request.
func DispatchData(method string, req []byte) []byte {
	b := binary.LittleEndian.AppendUint32(make([]byte, 0, 4+len(method)+len(req)), uint32(len(method)))
	return append(append(b, method...), req...)
}

// SplitDispatch is the method and the request of an OpDispatch's Data.
func SplitDispatch(data []byte) (method, req []byte, ok bool) {
	if len(data) < 4 {
		return nil, nil, false
	}
	n := binary.LittleEndian.Uint32(data)
	if uint64(n) > uint64(len(data)-4) {
		return nil, nil, false
	}
	return data[4 : 4+n], data[4+n:], true
}

// Response is what the host function returned: its status, the value it
// wrote out (a handle, a call id, an event's size) and, for poll, the event.
type Response struct {
	Status abi.Status
	Value  uint64
	Data   []byte
}

const (
	requestHeader  = 1 + 8 + 8 + 4
	responseHeader = 4 + 8 + 4
)

// WriteRequest writes r to w.
func WriteRequest(w io.Writer, r Request) error {
	b := make([]byte, requestHeader, requestHeader+len(r.Data))
	b[0] = byte(r.Op)
	binary.LittleEndian.PutUint64(b[1:], r.A)
	binary.LittleEndian.PutUint64(b[9:], r.B)
	binary.LittleEndian.PutUint32(b[17:], uint32(len(r.Data)))
	_, err := w.Write(append(b, r.Data...))
	return err
}

// ReadRequest reads one request from rd.
func ReadRequest(rd io.Reader) (Request, error) {
	var h [requestHeader]byte
	if _, err := io.ReadFull(rd, h[:]); err != nil {
		return Request{}, err
	}
	r := Request{Op: Op(h[0]), A: binary.LittleEndian.Uint64(h[1:]), B: binary.LittleEndian.Uint64(h[9:])}
	data, err := readData(rd, binary.LittleEndian.Uint32(h[17:]))
	r.Data = data
	return r, err
}

// WriteResponse writes r to w.
func WriteResponse(w io.Writer, r Response) error {
	b := make([]byte, responseHeader, responseHeader+len(r.Data))
	binary.LittleEndian.PutUint32(b, uint32(r.Status))
	binary.LittleEndian.PutUint64(b[4:], r.Value)
	binary.LittleEndian.PutUint32(b[12:], uint32(len(r.Data)))
	_, err := w.Write(append(b, r.Data...))
	return err
}

// ReadResponse reads one response from rd.
func ReadResponse(rd io.Reader) (Response, error) {
	var h [responseHeader]byte
	if _, err := io.ReadFull(rd, h[:]); err != nil {
		return Response{}, err
	}
	r := Response{Status: abi.Status(binary.LittleEndian.Uint32(h[:])), Value: binary.LittleEndian.Uint64(h[4:])}
	data, err := readData(rd, binary.LittleEndian.Uint32(h[12:]))
	r.Data = data
	return r, err
}

func readData(rd io.Reader, n uint32) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	if n > MaxData {
		return nil, fmt.Errorf("hostlink: a frame of %d bytes, over the limit of %d", n, MaxData)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(rd, data); err != nil {
		return nil, err
	}
	return data, nil
}
