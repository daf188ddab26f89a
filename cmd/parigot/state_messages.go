package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protopath"
	"google.golang.org/protobuf/reflect/protorange"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"parigot.dev/parigot/builder"
	"parigot.dev/parigot/manifest"
)

// messageTypes are the messages of an app's protos and of the files they
// import, by which parigot state shows what a store or topic holds as
// protobuf JSON, with no code of the app and no protoc.
type messageTypes struct {
	app   string
	files *protoregistry.Files
	types *dynamicpb.Types
}

// appMessageTypes compiles the protos of app, loaded from dir, as a build
// does, and writes nothing: stored messages read the same before the
// app's first build as after it.
func appMessageTypes(ctx context.Context, app *manifest.App, dir string) (*messageTypes, error) {
	set, err := builder.Descriptors(ctx, app, dir)
	if err != nil {
		return nil, err
	}
	files, err := protodesc.NewFiles(set)
	if err != nil {
		return nil, fmt.Errorf("the descriptors of the protos of %s do not resolve: %w", app.Name, err)
	}
	return &messageTypes{app: app.Name, files: files, types: dynamicpb.NewTypes(files)}, nil
}

// message is the message called name ("shop.v1.StockLevel"). Any other
// name is an error with the nearest message, or the app's messages.
func (m *messageTypes) message(name string) (protoreflect.MessageDescriptor, error) {
	if d, err := m.files.FindDescriptorByName(protoreflect.FullName(name)); err == nil {
		if md, ok := d.(protoreflect.MessageDescriptor); ok {
			return md, nil
		}
	}
	var own, sameName []string
	m.files.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		eachMessage(f.Messages(), func(md protoreflect.MessageDescriptor) {
			if string(md.Name()) == name {
				sameName = append(sameName, string(md.FullName()))
			}
			if !strings.HasPrefix(f.Path(), "google/") {
				own = append(own, string(md.FullName()))
			}
		})
		return true
	})
	msg := fmt.Sprintf("%s is no message of the protos of %s", name, m.app)
	if len(sameName) == 1 {
		return nil, fmt.Errorf("%s: did you mean %s? (a message is named in full, with its package)", msg, sameName[0])
	}
	slices.Sort(own)
	return nil, notAmong(msg, name, own, "they define none", "its messages")
}

// eachMessage calls do with each message of ms and each message nested in
// them.
func eachMessage(ms protoreflect.MessageDescriptors, do func(protoreflect.MessageDescriptor)) {
	for i := range ms.Len() {
		md := ms.Get(i)
		if md.IsMapEntry() {
			continue
		}
		do(md)
		eachMessage(md.Messages(), do)
	}
}

// request is the message method ("pkg.Service/Method") takes.
func (m *messageTypes) request(method string) (protoreflect.MessageDescriptor, error) {
	service, name, _ := strings.Cut(method, "/")
	d, err := m.files.FindDescriptorByName(protoreflect.FullName(service))
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if err != nil || !ok {
		return nil, fmt.Errorf("the protos of %s define no service %s", m.app, service)
	}
	md := sd.Methods().ByName(protoreflect.Name(name))
	if md == nil {
		return nil, fmt.Errorf("service %s of the protos of %s has no method %s", service, m.app, name)
	}
	return md.Input(), nil
}

// shownMessage is stored bytes as a message of Type: the message in
// protobuf JSON, or why not.
// parigot state's --json shows it beside the bytes, as these fields.
type shownMessage struct {
	// Type is the message's full name; empty when it is not known.
	Type string `json:"type,omitempty"`
	// JSON is the message in protobuf JSON, compact; nil when the bytes
	// are not a Type.
	JSON json.RawMessage `json:"decoded,omitempty"`
	// Why says why JSON is nil, or what it leaves out (fields Type does
	// not declare); empty when JSON is all of the bytes.
	Why string `json:"undecoded,omitempty"`
}

// showAs decodes b as a message md. Bytes of another shape are no error:
// Why says what is wrong with them.
func (m *messageTypes) showAs(md protoreflect.MessageDescriptor, b []byte) shownMessage {
	s := shownMessage{Type: string(md.FullName())}
	msg := dynamicpb.NewMessage(md)
	if err := (proto.UnmarshalOptions{Resolver: m.types}).Unmarshal(b, msg); err != nil {
		s.Why = fmt.Sprintf("not a %s: %v", s.Type, err)
		return s
	}
	// Zero values shown, not left out: a stock of 0 reads as 0.
	out, err := protojson.MarshalOptions{Resolver: m.types, EmitDefaultValues: true}.Marshal(msg)
	if err != nil {
		s.Why = fmt.Sprintf("not shown as JSON (%v)", err)
		return s
	}
	// protojson varies its spacing on purpose; a compact form is stable.
	var compact bytes.Buffer
	if err := json.Compact(&compact, out); err != nil {
		s.Why = fmt.Sprintf("not shown as JSON (%v)", err)
		return s
	}
	s.JSON = compact.Bytes()
	if n := unknownBytes(msg); n > 0 {
		s.Why = fmt.Sprintf("%d bytes of fields %s does not declare are not shown (a newer version of its proto, or another message)", n, s.Type)
	}
	return s
}

// unknownBytes counts the bytes of the fields m and the messages in it
// hold that their types do not declare.
func unknownBytes(m proto.Message) int {
	n := 0
	protorange.Range(m.ProtoReflect(), func(v protopath.Values) error {
		if msg, ok := v.Index(-1).Value.Interface().(protoreflect.Message); ok {
			n += len(msg.GetUnknown())
		}
		return nil
	})
	return n
}

// indented is s's JSON indented, for people.
func (s shownMessage) indented() string {
	var b bytes.Buffer
	if err := json.Indent(&b, s.JSON, "", "  "); err != nil {
		return string(s.JSON)
	}
	return b.String()
}

// errProtosDoNotCompile stands for the errors of protos that do not
// compile, where a dead letter says why its message is not decoded.
var errProtosDoNotCompile = errors.New("the app's protos do not compile (parigot check says why)")

// topicDecoder decodes the messages of a topic (those it keeps, and its
// dead letters): each as the request of the method a subscriber's
// subscription to the topic names in the manifest.
type topicDecoder struct {
	app   *manifest.App
	topic string
	types *messageTypes
	err   error // why no message can be decoded (the protos do not compile)
}

func newTopicDecoder(ctx context.Context, app *manifest.App, dir, topic string) *topicDecoder {
	types, err := appMessageTypes(ctx, app, dir)
	var diags *builder.DiagnosticsError
	if errors.As(err, &diags) {
		err = errProtosDoNotCompile
	}
	return &topicDecoder{app: app, topic: topic, types: types, err: err}
}

// show decodes data, a message of the topic, as the request of
// subscriber's subscribed method (its dead letter's subscriber, or any
// subscriber of a message it keeps).
func (d *topicDecoder) show(subscriber string, data []byte) shownMessage {
	if d.err != nil {
		return shownMessage{Why: "not decoded: " + d.err.Error()}
	}
	if subscriber == "" {
		return shownMessage{Why: fmt.Sprintf("not decoded: no service subscribes to topic %s in %s, which would say the message's type", d.topic, d.app.File)}
	}
	method := d.method(subscriber)
	if method == "" {
		return shownMessage{Why: fmt.Sprintf("not decoded: %s does not subscribe to topic %s in %s, which would say the message's type", subscriber, d.topic, d.app.File)}
	}
	md, err := d.types.request(method)
	if err != nil {
		return shownMessage{Why: "not decoded: " + err.Error()}
	}
	return d.types.showAs(md, data)
}

// method is the method subscriber's subscription to the topic calls, or
// "" when it has none.
func (d *topicDecoder) method(subscriber string) string {
	g := d.app.Guest(subscriber)
	if g == nil {
		return ""
	}
	for _, s := range g.Subscriptions {
		if s.Topic == d.topic {
			return s.Method
		}
	}
	return ""
}
