// Command protoc-gen-parigot is parigot's code generator as a protoc
// plugin, for buf users: `buf generate` (or protoc) runs it as a local
// plugin, and it writes exactly the Go code `parigot build` writes for the
// same protos: the protobuf messages (as protoc-gen-go), their fast
// marshalling (vtprotobuf), and parigot's service stubs, native clients and
// typed errors. It reads a CodeGeneratorRequest on stdin and writes the
// response on stdout, as every plugin does.
//
// Install it with
//
//	go install parigot.dev/parigot/cmd/protoc-gen-parigot
//
// and name it in buf.gen.yaml (v2), with the app's module so that files land
// where parigot build puts them:
//
//	version: v2
//	plugins:
//	  - local: protoc-gen-parigot
//	    out: .
//	    opt: module=example.com/shop
//
// A plugin cannot know which services the app's guests implement: streaming
// methods are left out of every service's stubs (parigot calls are unary),
// where parigot build refuses them in a service a guest implements.
package main

import (
	"fmt"
	"io"
	"os"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/pluginpb"

	"parigot.dev/parigot/codegen"
)

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "protoc-gen-parigot: %v\n", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	if f, ok := in.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return fmt.Errorf("this is a protoc plugin: run it from buf generate or protoc, which send it a CodeGeneratorRequest on stdin")
		}
	}
	data, err := io.ReadAll(in)
	if err != nil {
		return fmt.Errorf("reading the request: %w", err)
	}
	req := new(pluginpb.CodeGeneratorRequest)
	if err := proto.Unmarshal(data, req); err != nil {
		return fmt.Errorf("reading the request: %w (this is a protoc plugin: run it from buf generate or protoc)", err)
	}
	resp, err := proto.Marshal(codegen.GenerateResponse(req))
	if err != nil {
		return fmt.Errorf("writing the response: %w", err)
	}
	_, err = out.Write(resp)
	return err
}
