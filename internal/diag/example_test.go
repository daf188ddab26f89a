package diag_test

import (
	"os"

	"parigot.dev/parigot/internal/diag"
	"parigot.dev/parigot/manifest"
)

// Write renders manifest mistakes as parigot prints them: each with its
// file:line:col, the source line with the mistake underlined, and what to do,
// wrapped at 78 columns (width 0) and without colour. The source lines come
// from the App's Sources, which Parse fills in even when it finds mistakes.
func ExampleWrite() {
	const src = `app "shop" {
  module = "example.com/shop"
}

servce "stock" {
  source = "./stock"
}

id "order_item" {
  letter = "o"
}
`
	app, diags := manifest.Parse("parigot.hcl", []byte(src), ".")
	diag.Write(os.Stdout, diags, app.Sources, 0, false)
	// Output:
	// Error: Unsupported block type
	//
	//   on parigot.hcl:5:1
	//   5: servce "stock" {
	//      ^^^^^^
	//
	// Blocks of type "servce" are not expected here. Did you mean "service"?
	//
	// Error: Invalid Id name
	//
	//   on parigot.hcl:9:4
	//   9: id "order_item" {
	//         ^^^^^^^^^^^^
	//
	// "order_item" is not a valid Id type name: Id names are Go type names that
	// start with an uppercase letter, hold only ASCII letters and digits, and are at
	// most 64 characters long. For example id "OrderItem".
}
