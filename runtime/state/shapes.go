package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"parigot.dev/parigot/internal/genfile"
	"parigot.dev/parigot/internal/wirecompat"
	"parigot.dev/parigot/manifest"
)

// ShapesFile is the file, in the data directory, where each run records
// which message each store's values and each topic's messages are, and
// the protos that define them: the shape of what it wrote, which the data
// itself does not say.
const ShapesFile = ".parigot.shapes"

// shapes is what ShapesFile holds.
type shapes struct {
	// Stores and Topics give the full name of the message each store
	// (with a value line) and each topic (with a subscriber) holds.
	Stores map[string]string `json:"stores,omitempty"`
	Topics map[string]string `json:"topics,omitempty"`
	// Protos is a FileDescriptorSet, in protobuf's binary form, that
	// defines them.
	Protos []byte `json:"protos"`
}

// ShapeChange is a store or topic whose message this run's protos read
// otherwise than the run that last wrote to the data.
type ShapeChange struct {
	Kind, Name string // "store" or "topic", and its name
	// Was and Is are the full names of its message then and now.
	Was, Is string
	Fields  []wirecompat.Change
}

func (c ShapeChange) String() string {
	msg := c.Is
	if c.Was != c.Is {
		msg = c.Was + ", now " + c.Is
	}
	var b strings.Builder
	for _, f := range c.Fields {
		fmt.Fprintf(&b, "\n  %s %s (%s): %s", c.Kind, c.Name, msg, f)
	}
	return b.String()
}

// ShapesError is a run refused because its protos would misread what
// earlier runs wrote to the data directory.
type ShapesError struct {
	Dir     string // the data directory
	Changes []ShapeChange
}

func (e *ShapesError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "this build's protos would misread what the data in %s holds, written by an earlier run:", e.Dir)
	for _, c := range e.Changes {
		b.WriteString(c.String())
	}
	fmt.Fprintf(&b, "\nKeep each field's number and wire type (give a new field a number of its own beside the old one), or read both shapes and rewrite every value in the new one (docs/STATE.md#changing-what-the-data-holds). "+
		"Once what the data holds is to be read with these protos, remove %s, where each run records the shape of what it writes, and run again", filepath.Join(e.Dir, ShapesFile))
	return b.String()
}

// CheckShapes compares the messages app's stores and topics hold, as
// protos (the app's compiled descriptors: a FileDescriptorSet in
// protobuf's binary form) define them, with those the
// last run recorded in the data directory dir, and records them there
// when nothing of what the data holds would be misread: a *ShapesError
// says what would be, and records nothing. A store with no value line, a
// topic no service subscribes to, and a store or topic a run first meets
// are not compared; no record (a directory from before the record was
// kept, or a first run) is nothing to compare with. A directory another
// run holds is an *InUseError, as for StartServer.
func CheckShapes(dir string, app *manifest.App, protos []byte) error {
	files, err := parseFiles(protos)
	if err != nil {
		return fmt.Errorf("the app's proto descriptors do not resolve: %w", err)
	}
	// Held while it is read and written, as a run holds it: a run that
	// another holds the directory of is refused here, recording nothing.
	_, release, err := JetStreamDir(dir, false)
	if err != nil {
		return err
	}
	defer release()
	now := shapesOf(app, files)
	path := filepath.Join(dir, ShapesFile)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	default:
		var was shapes
		if err := json.Unmarshal(b, &was); err != nil {
			return fmt.Errorf("%s: %w (remove it, and the next run records the shapes anew)", path, err)
		}
		changes, err := compareShapes(was, now, files)
		if err != nil {
			return fmt.Errorf("%s: %w (remove it, and the next run records the shapes anew)", path, err)
		}
		if len(changes) > 0 {
			return &ShapesError{Dir: dir, Changes: changes}
		}
	}
	now.Protos = protos
	if b, err = json.Marshal(now); err != nil {
		return err
	}
	_, err = genfile.WriteIfChanged(path, b) // a run of unchanged protos writes nothing
	return err
}

// shapesOf names the message each of app's stores and topics holds: a
// store's value line, a topic's subscribed method's request.
func shapesOf(app *manifest.App, files *protoregistry.Files) shapes {
	s := shapes{Stores: map[string]string{}, Topics: map[string]string{}}
	for _, st := range app.Stores {
		if st.Value != "" {
			s.Stores[st.Name] = st.Value
		}
	}
	for _, g := range app.Services {
		for _, sub := range g.Subscriptions {
			service, method, _ := strings.Cut(sub.Method, "/")
			d, err := files.FindDescriptorByName(protoreflect.FullName(service))
			if sd, ok := d.(protoreflect.ServiceDescriptor); ok && err == nil {
				if m := sd.Methods().ByName(protoreflect.Name(method)); m != nil && s.Topics[sub.Topic] == "" {
					s.Topics[sub.Topic] = string(m.Input().FullName())
				}
			}
		}
	}
	return s
}

// compareShapes returns what now's protos (files) read otherwise of the
// stores and topics was recorded, sorted by kind and name.
func compareShapes(was, now shapes, files *protoregistry.Files) ([]ShapeChange, error) {
	old, err := parseFiles(was.Protos)
	if err != nil {
		return nil, err
	}
	var out []ShapeChange
	for _, k := range []struct {
		kind     string
		was, now map[string]string
	}{{"store", was.Stores, now.Stores}, {"topic", was.Topics, now.Topics}} {
		for _, name := range slices.Sorted(maps.Keys(k.now)) {
			wasMsg, isMsg := k.was[name], k.now[name]
			if wasMsg == "" {
				continue
			}
			od, err1 := old.FindDescriptorByName(protoreflect.FullName(wasMsg))
			nd, err2 := files.FindDescriptorByName(protoreflect.FullName(isMsg))
			om, ok1 := od.(protoreflect.MessageDescriptor)
			nm, ok2 := nd.(protoreflect.MessageDescriptor)
			if err1 != nil || err2 != nil || !ok1 || !ok2 {
				continue // not a message: parigot check says so of the new one
			}
			if fields := wirecompat.Compare(om, nm); len(fields) > 0 {
				out = append(out, ShapeChange{Kind: k.kind, Name: name, Was: wasMsg, Is: isMsg, Fields: fields})
			}
		}
	}
	return out, nil
}

// parseFiles reads a FileDescriptorSet in protobuf's binary form.
func parseFiles(b []byte) (*protoregistry.Files, error) {
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(b, &set); err != nil {
		return nil, err
	}
	return protodesc.NewFiles(&set)
}
