package manifest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"parigot.dev/parigot/manifest"
)

// Parse decodes a manifest held in memory. Its last argument is the app
// directory, against which it checks that each source is a Go main package:
// here a temporary one, with a main package for each guest.
func ExampleParse() {
	dir, err := os.MkdirTemp("", "shop")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	for _, guest := range []string{"orders", "stock", "checkout"} {
		if err := os.Mkdir(filepath.Join(dir, guest), 0o755); err != nil {
			fmt.Println(err)
			return
		}
		main := []byte("package main\n\nfunc main() {}\n")
		if err := os.WriteFile(filepath.Join(dir, guest, "main.go"), main, 0o644); err != nil {
			fmt.Println(err)
			return
		}
	}

	const src = `
app "shop" {
  module = "example.com/shop"
}

service "orders" {
  source     = "./orders"
  implements = ["orders.v1.Orders"]
  requires   = [service.stock]
}

service "stock" {
  source         = "./stock"
  implements     = ["stock.v1.Stock"]
  method_timeout = "100ms"
  replicas       = 2
}

program "checkout" {
  source   = "./checkout"
  requires = [service.orders]
}
`
	app, diags := manifest.Parse("parigot.hcl", []byte(src), dir)
	if diags.HasErrors() {
		fmt.Println(diags)
		return
	}
	fmt.Printf("app %s, module %s\n", app.Name, app.Module)
	// Services start after those they require, then programs start.
	for _, g := range app.StartOrder() {
		fmt.Printf("%s %s requires [%s]\n", g.Kind, g.Name, strings.Join(g.Requires, " "))
		if g.Kind == manifest.KindService {
			fmt.Printf("\timplements %s, replicas %d, method_timeout %s\n", strings.Join(g.Implements, " "), g.Replicas, g.MethodTimeout)
		}
	}
	// Output:
	// app shop, module example.com/shop
	// service stock requires []
	// 	implements stock.v1.Stock, replicas 2, method_timeout 100ms
	// service orders requires [stock]
	// 	implements orders.v1.Orders, replicas 1, method_timeout 50ms
	// program checkout requires [orders]
}

// Parse reports every mistake it finds, not only the first, each as an
// *hcl.Diagnostic whose Subject is the range of the offending text and whose
// Detail says what to do. Package internal/diag renders them with the
// source line, as parigot does. (testdata/app holds the guests' main
// packages.)
func ExampleParse_diagnostics() {
	const src = `app "helloworld" {
  module = "example.com/helloworld"
}

program "hello" {
  source   = "./hello"
  requires = [service.greting]
}

service "greeting" {
  source         = "./greeting"
  implements     = ["greeting.v1.Greeting"]
  method_timeout = "50"
}
`
	_, diags := manifest.Parse("parigot.hcl", []byte(src), "testdata/app")
	for _, d := range diags {
		at := d.Subject.Start
		fmt.Printf("%s:%d:%d: %s\n", d.Subject.Filename, at.Line, at.Column, d.Summary)
		fmt.Printf("\t%s\n", d.Detail)
	}
	// Output:
	// parigot.hcl:13:20: Invalid method_timeout
	// 	"50" is not a duration. Write a number followed by a unit (ns, us, ms, s, m, h), for example method_timeout = "50ms" or "1m30s".
	// parigot.hcl:7:15: No service named "greting" is declared
	// 	requires lists services declared in parigot.hcl, and none is named "greting". Did you mean service.greeting? Fix the name, or declare the service with a service "greting" block.
}

// Load reads the parigot.hcl of an app directory, here the helloworld
// example's.
func ExampleLoad() {
	app, diags := manifest.Load("../examples/helloworld")
	if diags.HasErrors() {
		fmt.Println(diags)
		return
	}
	fmt.Println("app", app.Name)
	for _, g := range app.Guests() {
		fmt.Println(g.Kind, g.Name, g.Source)
	}
	// Output:
	// app helloworld
	// service greeting ./greeting
	// program hello ./hello
}

// FormatSize shows a size as parigot.hcl writes it, so that a message
// naming a bound (inbox_bytes, memory_limit) reads like the manifest.
func ExampleFormatSize() {
	fmt.Println(manifest.FormatSize(manifest.DefaultInboxBytes))
	fmt.Println(manifest.FormatSize(4 << 30))
	fmt.Println(manifest.FormatSize(4100 << 10))
	fmt.Println(manifest.FormatSize(1000))
	// Output:
	// 64MiB
	// 4GiB
	// 4100KiB
	// 1000 bytes
}
