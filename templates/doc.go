// Package templates holds the text/template files that parigot generates code
// from, embedded in the binary so that a fresh machine needs nothing but the
// parigot executable.
//
// It is for template text and the small helpers that load it. It is not for
// the logic that decides what to generate: the generators (package codegen for
// proto service stubs, and the others) prepare the data, register the
// functions their templates call, and write the output.
package templates
