package manifest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// appBlock is appended to each case's source unless the case is about the
// app block, so that line numbers in the cases count from their first line.
const appBlock = "\napp \"a\" {\n  module = \"example.com/a\"\n}\n"

// diagnosticCase is a manifest with one mistake, and what its one error
// says and where.
type diagnosticCase struct {
	name    string
	src     string
	noApp   bool   // do not append appBlock
	summary string // a phrase of the Summary
	detail  string // a phrase of the Detail
	at      string // line:col of the Subject's start
}

// addDiagnosticCases adds cases to diagnosticCases, each with blocks (the
// blocks they refer to) after its source.
func addDiagnosticCases(cases []diagnosticCase, blocks string) {
	for _, c := range cases {
		c.src += blocks
		diagnosticCases = append(diagnosticCases, c)
	}
}

// The guests below use the directories of testdata/app: greeting, hello,
// other and third hold main packages, lib holds package lib, testsonly holds
// only a test file and notadir.txt is a file.
var diagnosticCases = []diagnosticCase{
	// app
	{
		name:    "a manifest without an app block is reported at the start of the file",
		noApp:   true,
		src:     "id \"Order\" {\n  letter = \"o\"\n}\n",
		summary: "Missing app block",
		detail:  `module = "example.com/shop"`,
		at:      "1:1",
	},
	{
		name:    "a second app block is reported, naming the line of the first",
		src:     "app \"b\" {\n  module = \"example.com/b\"\n}\n",
		summary: "Duplicate app block",
		detail:  "already declared at line 1",
		at:      "5:1",
	},
	{
		name:    "an app block without module is reported at the block",
		noApp:   true,
		src:     "app \"shop\" {\n}\n",
		summary: "Missing module",
		detail:  `module = "example.com/shop"`,
		at:      "1:1",
	},
	{
		name:    "a module that is not a string is reported at its value",
		noApp:   true,
		src:     "app \"shop\" {\n  module = 5\n}\n",
		summary: "Incorrect type for module",
		detail:  "must be a string, not number",
		at:      "2:12",
	},
	{
		name:    "a module that is not an import path is reported at its value",
		noApp:   true,
		src:     "app \"shop\" {\n  module = \"my shop\"\n}\n",
		summary: "Invalid module",
		detail:  `"my shop" is not a Go module path: invalid char ' '`,
		at:      "2:12",
	},

	// schema and syntax
	{
		name:    "a syntax error is reported where it is",
		src:     "program \"hello\" {\n  source = \n}\n",
		summary: "Invalid expression",
		at:      "2:12",
	},
	{
		name:    "an unknown block type gets HCL's diagnostic with a suggestion",
		src:     "services \"greeting\" {\n}\n",
		summary: "Unsupported block type",
		detail:  `Did you mean "service"?`,
		at:      "1:1",
	},
	{
		name:    "an unknown attribute gets HCL's diagnostic with a suggestion",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n  replica    = 2\n}\n",
		summary: "Unsupported argument",
		detail:  `Did you mean "replicas"?`,
		at:      "4:3",
	},
	{
		name:    "a block without its name label is reported",
		src:     "service {\n  source = \"./greeting\"\n}\n",
		summary: "Missing name for service",
		at:      "1:9",
	},
	{
		name:    "a source that is not a string is reported at its value",
		src:     "program \"hello\" {\n  source = [\"./hello\"]\n}\n",
		summary: "Incorrect type for source",
		detail:  "must be a string, not tuple",
		at:      "2:12",
	},

	// names
	{
		name:    "a service name with uppercase letters is reported with the rule",
		src:     "service \"Greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n}\n",
		summary: "Invalid service name",
		detail:  `start with a lowercase letter, hold only lowercase letters, digits, "_" and "-"`,
		at:      "1:9",
	},
	{
		name:    "a program name with a space is reported with a corrected name",
		src:     "program \"hello world\" {\n  source = \"./hello\"\n}\n",
		summary: "Invalid program name",
		detail:  `For example program "hello-world"`,
		at:      "1:9",
	},
	{
		name:    "a program name with accents is corrected to its letters without them",
		src:     "program \"büchér\" {\n  source = \"./hello\"\n}\n",
		summary: "Invalid program name",
		detail:  `For example program "bucher"`,
		at:      "1:9",
	},
	{
		name:    "an Id name with an accent is corrected to its letters without it",
		src:     "id \"Ordér\" {\n  letter = \"o\"\n}\n",
		summary: "Invalid Id name",
		detail:  `For example id "Order"`,
		at:      "1:4",
	},
	{
		name:    "a proto name starting with a digit is reported",
		src:     "proto \"1greeting\" {\n  files = [\"proto/greeting/v1/greeting.proto\"]\n}\n",
		summary: "Invalid proto name",
		detail:  "start with a lowercase letter",
		at:      "1:7",
	},
	{
		name:    "an Id name starting with a lowercase letter is reported",
		src:     "id \"order\" {\n  letter = \"o\"\n}\n",
		summary: "Invalid Id name",
		detail:  "start with an uppercase letter",
		at:      "1:4",
	},
	{
		name:    "a program with the name of a service is a duplicate",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n}\n\nprogram \"greeting\" {\n  source = \"./hello\"\n}\n",
		summary: `Duplicate name "greeting"`,
		detail:  "A service named \"greeting\" is already declared at line 1. Services and programs share one set of names, because each is built to build/greeting.wasm",
		at:      "6:9",
	},
	{
		name:    "two programs with one name are duplicates",
		src:     "program \"hello\" {\n  source = \"./hello\"\n}\nprogram \"hello\" {\n  source = \"./hello\"\n}\n",
		summary: `Duplicate name "hello"`,
		detail:  "A program named \"hello\" is already declared at line 1",
		at:      "4:9",
	},
	{
		name:    "two proto blocks with one name are duplicates",
		src:     "proto \"greeting\" {\n  files = [\"proto/greeting/v1/greeting.proto\"]\n}\nproto \"greeting\" {\n  files = [\"proto/other/v1/other.proto\"]\n}\n",
		summary: `Duplicate proto name "greeting"`,
		detail:  "already declared at line 1",
		at:      "4:7",
	},
	{
		name:    "two id blocks with one name are duplicates",
		src:     "id \"Order\" {\n  letter = \"o\"\n}\nid \"Order\" {\n  letter = \"p\"\n}\n",
		summary: `Duplicate Id name "Order"`,
		detail:  "already declared at line 1",
		at:      "4:4",
	},

	// requires
	{
		name:    "requiring a program is reported at the entry",
		src:     "program \"hello\" {\n  source = \"./hello\"\n}\nservice \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n  requires   = [program.hello]\n}\n",
		summary: "A program cannot be required",
		detail:  "program.hello is a program",
		at:      "7:17",
	},
	{
		name:    "requiring a program through service. is reported at the entry",
		src:     "program \"hello\" {\n  source   = \"./hello\"\n}\nprogram \"bye\" {\n  source   = \"./hello\"\n  requires = [service.hello]\n}\n",
		summary: "A program cannot be required",
		detail:  `"hello" is a program, not a service`,
		at:      "6:15",
	},
	{
		name:    "requiring an undeclared service suggests the closest name",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n}\nprogram \"hello\" {\n  source   = \"./hello\"\n  requires = [service.greting]\n}\n",
		summary: `No service named "greting" is declared`,
		detail:  "Did you mean service.greeting?",
		at:      "7:15",
	},
	{
		name:    "requiring a service by a quoted name says to write a reference",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n}\nprogram \"hello\" {\n  source   = \"./hello\"\n  requires = [\"greeting\"]\n}\n",
		summary: "Quoted service name in requires",
		detail:  `write service.greeting (without quotes) instead of "greeting"`,
		at:      "7:15",
	},
	{
		name:    "a requires entry that is not service.<name> is reported",
		src:     "program \"hello\" {\n  source   = \"./hello\"\n  requires = [svc.greeting]\n}\n",
		summary: "Invalid requires entry",
		detail:  "service.<name>",
		at:      "3:15",
	},
	{
		name:    "requires that is not a list is reported at its value",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n}\nprogram \"hello\" {\n  source   = \"./hello\"\n  requires = service.greeting\n}\n",
		summary: "requires must be a list",
		detail:  "requires = [service.stock]",
		at:      "7:14",
	},
	{
		name:    "requires computed by a for expression is reported as not evaluated",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n}\nprogram \"hello\" {\n  source   = \"./hello\"\n  requires = [for s in [1] : service.greeting]\n}\n",
		summary: "requires must list its items",
		detail:  "does not evaluate for expressions",
		at:      "7:14",
	},
	{
		name:    "a service listed twice in requires is reported at the second entry",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n}\nprogram \"hello\" {\n  source   = \"./hello\"\n  requires = [service.greeting, service.greeting]\n}\n",
		summary: "Duplicate requires entry",
		detail:  "already listed at line 7",
		at:      "7:33",
	},
	{
		name:    "a service requiring itself is reported",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n  requires   = [service.greeting]\n}\n",
		summary: "Service requires itself",
		detail:  "Remove service.greeting from its own requires",
		at:      "4:17",
	},
	{
		name: "a cycle in requires is reported once, spelled out, at the entry that closes it",
		src: "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n  requires   = [service.other]\n}\n" +
			"service \"other\" {\n  source     = \"./other\"\n  implements = [\"other.v1.Other\"]\n  requires   = [service.third]\n}\n" +
			"service \"third\" {\n  source     = \"./third\"\n  implements = [\"third.v1.Third\"]\n  requires   = [service.greeting]\n}\n",
		summary: "Cycle in requires",
		detail:  "greeting -> other -> third -> greeting",
		at:      "14:17",
	},

	// method_timeout and replicas
	{
		name:    "a method_timeout that is not a duration is reported at its value",
		src:     "service \"greeting\" {\n  source         = \"./greeting\"\n  implements     = [\"greeting.v1.Greeting\"]\n  method_timeout = \"fast\"\n}\n",
		summary: "Invalid method_timeout",
		detail:  `"fast" is not a duration`,
		at:      "4:20",
	},
	{
		name:    "a method_timeout without a unit is reported at its value",
		src:     "service \"greeting\" {\n  source         = \"./greeting\"\n  implements     = [\"greeting.v1.Greeting\"]\n  method_timeout = \"50\"\n}\n",
		summary: "Invalid method_timeout",
		detail:  `"50ms"`,
		at:      "4:20",
	},
	{
		name:    "a zero method_timeout is reported at its value",
		src:     "service \"greeting\" {\n  source         = \"./greeting\"\n  implements     = [\"greeting.v1.Greeting\"]\n  method_timeout = \"0s\"\n}\n",
		summary: "method_timeout out of range",
		detail:  "give from 1ms to 1h",
		at:      "4:20",
	},
	{
		name:    "a method_timeout given as a number is reported at its value",
		src:     "service \"greeting\" {\n  source         = \"./greeting\"\n  implements     = [\"greeting.v1.Greeting\"]\n  method_timeout = 50\n}\n",
		summary: "Incorrect type for method_timeout",
		detail:  `method_timeout = "50ms"`,
		at:      "4:20",
	},
	{
		name:    "an unknown on_overrun policy is reported at its value with the choices",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n  on_overrun = \"kill\"\n}\n",
		summary: "Invalid on_overrun",
		detail:  `"kill" is not one of "stop", "report"`,
		at:      "4:16",
	},
	{
		name:    "an unknown restart policy is reported at its value with the choices",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n  restart    = \"always\"\n}\n",
		summary: "Invalid restart",
		detail:  `"always" is not one of "never", "on-failure"`,
		at:      "4:16",
	},
	{
		name:    "a memory_limit without a unit is reported at its value",
		src:     "service \"greeting\" {\n  source       = \"./greeting\"\n  implements   = [\"greeting.v1.Greeting\"]\n  memory_limit = \"256\"\n}\n",
		summary: "Invalid memory_limit",
		detail:  `KiB, MiB or GiB`,
		at:      "4:18",
	},
	{
		name:    "a memory_limit too small for a Go guest is reported at its value",
		src:     "program \"hello\" {\n  source       = \"./hello\"\n  memory_limit = \"1MiB\"\n}\n",
		summary: "memory_limit out of range",
		detail:  `give from 16MiB to 4GiB`,
		at:      "3:18",
	},
	{
		name:    "a program with restart is reported at the attribute",
		src:     "program \"hello\" {\n  source  = \"./hello\"\n  restart = \"on-failure\"\n}\n",
		summary: "Programs take no restart",
		at:      "3:3",
	},
	{
		name:    "a program with method_timeout is reported at the attribute",
		src:     "program \"hello\" {\n  source         = \"./hello\"\n  method_timeout = \"1s\"\n}\n",
		summary: "Programs take no method_timeout",
		detail:  `declare "hello" as a service`,
		at:      "3:3",
	},
	{
		name:    "a program with implements is reported at the attribute",
		src:     "program \"hello\" {\n  source     = \"./hello\"\n  implements = [\"greeting.v1.Greeting\"]\n}\n",
		summary: "Programs take no implements",
		detail:  "implements no proto service",
		at:      "3:3",
	},
	{
		name:    "a program with inbox_calls is reported at the attribute",
		src:     "program \"hello\" {\n  source      = \"./hello\"\n  inbox_calls = 10\n}\n",
		summary: "Programs take no inbox_calls",
		detail:  "no calls wait in its inbox",
		at:      "3:3",
	},
	{
		name:    "a program with inbox_bytes is reported at the attribute",
		src:     "program \"hello\" {\n  source      = \"./hello\"\n  inbox_bytes = \"8MiB\"\n}\n",
		summary: "Programs take no inbox_bytes",
		at:      "3:3",
	},
	{
		name:    "inbox_calls given as a string are reported at the value",
		src:     "service \"greeting\" {\n  source      = \"./greeting\"\n  implements  = [\"greeting.v1.Greeting\"]\n  inbox_calls = \"10\"\n}\n",
		summary: "Incorrect type for inbox_calls",
		detail:  "for example inbox_calls = 1024",
		at:      "4:17",
	},
	{
		name:    "fractional inbox_calls are reported at the value",
		src:     "service \"greeting\" {\n  source      = \"./greeting\"\n  implements  = [\"greeting.v1.Greeting\"]\n  inbox_calls = 2.5\n}\n",
		summary: "Invalid inbox_calls",
		detail:  "whole number",
		at:      "4:17",
	},
	{
		name:    "replicas beyond int64 are out of range, not wrapped",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n  replicas   = 1e30\n}\n",
		summary: "replicas out of range",
		detail:  "1e+30 is outside the range of replicas",
		at:      "4:16",
	},
	{
		name:    "an inbox_bytes without a unit is reported at its value",
		src:     "service \"greeting\" {\n  source      = \"./greeting\"\n  implements  = [\"greeting.v1.Greeting\"]\n  inbox_bytes = \"64\"\n}\n",
		summary: "Invalid inbox_bytes",
		detail:  `for example inbox_bytes = "64MiB" (the default)`,
		at:      "4:17",
	},
	{
		name:    "an inbox_bytes too large for uint64 is out of range, not wrapped",
		src:     "service \"greeting\" {\n  source      = \"./greeting\"\n  implements  = [\"greeting.v1.Greeting\"]\n  inbox_bytes = \"99999999999999999999GiB\"\n}\n",
		summary: "inbox_bytes out of range",
		detail:  "give from 4MiB to 1GiB",
		at:      "4:17",
	},
	{
		name:    "a program with replicas is reported at the attribute",
		src:     "program \"hello\" {\n  source   = \"./hello\"\n  replicas = 2\n}\n",
		summary: "Programs take no replicas",
		detail:  "only services run as several copies",
		at:      "3:3",
	},
	{
		name:    "zero replicas are reported at the value",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n  replicas   = 0\n}\n",
		summary: "replicas out of range",
		detail:  "give from 1 to 1048576",
		at:      "4:16",
	},
	{
		name:    "fractional replicas are reported at the value",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n  replicas   = 1.5\n}\n",
		summary: "Invalid replicas",
		detail:  "whole number",
		at:      "4:16",
	},
	{
		name:    "replicas given as a string are reported at the value",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n  replicas   = \"2\"\n}\n",
		summary: "Incorrect type for replicas",
		at:      "4:16",
	},

	// source
	{
		name:    "a guest without source is reported at the block",
		src:     "program \"hello\" {\n}\n",
		summary: "Missing source",
		detail:  `source = "./hello"`,
		at:      "1:1",
	},
	{
		name:    "a source directory that does not exist is reported at the value",
		src:     "program \"hello\" {\n  source = \"./helo\"\n}\n",
		summary: "Source directory not found",
		detail:  "does not exist",
		at:      "2:12",
	},
	{
		name:    "a source that is a file is reported at the value",
		src:     "program \"hello\" {\n  source = \"notadir.txt\"\n}\n",
		summary: "Source is not a directory",
		detail:  "which is a file",
		at:      "2:12",
	},
	{
		name:    "a source holding only test files has no Go files",
		src:     "program \"hello\" {\n  source = \"./testsonly\"\n}\n",
		summary: "No Go files in source",
		detail:  "package main and a func main",
		at:      "2:12",
	},
	{
		name:    "a source holding another package names the package found",
		src:     "program \"hello\" {\n  source = \"./lib\"\n}\n",
		summary: "Source is not a main package",
		detail:  "package lib (in lib.go)",
		at:      "2:12",
	},
	{
		name:    "an empty source is reported",
		src:     "program \"hello\" {\n  source = \"\"\n}\n",
		summary: "Empty source",
		at:      "2:12",
	},

	// implements
	{
		name:    "a service without implements is reported at the block",
		src:     "service \"greeting\" {\n  source = \"./greeting\"\n}\n",
		summary: "Missing implements",
		detail:  `implements = ["greeting.v1.Greeting"]`,
		at:      "1:1",
	},
	{
		name:    "an empty implements list is reported at the value",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = []\n}\n",
		summary: "Empty implements list",
		detail:  "declare it with a program block",
		at:      "3:16",
	},
	{
		name:    "an implements entry without a package is reported at the entry",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\", \"Greeting\"]\n}\n",
		summary: "Invalid proto service name",
		detail:  `"<package>.Greeting"`,
		at:      "3:41",
	},
	{
		name:    "an implements entry listed twice is reported at the second",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\", \"greeting.v1.Greeting\"]\n}\n",
		summary: "Duplicate implements entry",
		detail:  "already listed at line 3",
		at:      "3:41",
	},
	{
		name:    "a proto service implemented by two services is reported at the second",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n}\nservice \"other\" {\n  source     = \"./other\"\n  implements = [\"greeting.v1.Greeting\"]\n}\n",
		summary: "Proto service implemented twice",
		detail:  `already implemented by service "greeting" (line 3)`,
		at:      "7:17",
	},
	{
		name:    "implements that is not a list is reported at its value",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = \"greeting.v1.Greeting\"\n}\n",
		summary: "implements must be a list",
		at:      "3:16",
	},

	// proto
	{
		name:    "a proto block without files is reported at the block",
		src:     "proto \"greeting\" {\n}\n",
		summary: "Missing files",
		at:      "1:1",
	},
	{
		name:    "an empty files list is reported at the value",
		src:     "proto \"greeting\" {\n  files = []\n}\n",
		summary: "Empty files list",
		at:      "2:11",
	},
	{
		name:    "a proto file that does not exist is reported at its entry",
		src:     "proto \"greeting\" {\n  files = [\"proto/greeting/v1/greeting.proto\", \"proto/greeting/v2/greeting.proto\"]\n}\n",
		summary: "Proto file not found",
		detail:  "relative to the app directory",
		at:      "2:48",
	},
	{
		name:    "a files entry that is not a .proto file is reported at the entry",
		src:     "proto \"greeting\" {\n  files = [\"notadir.txt\"]\n}\n",
		summary: "Not a .proto file",
		at:      "2:12",
	},
	{
		name:    "a files entry that is not a string is reported at the entry",
		src:     "proto \"greeting\" {\n  files = [\"proto/greeting/v1/greeting.proto\", 7]\n}\n",
		summary: "Incorrect type for files entry",
		at:      "2:48",
	},
	{
		name:    "a proto root that is a file is reported at its value",
		src:     "proto \"greeting\" {\n  root  = \"notadir.txt\"\n  files = [\"proto/greeting/v1/greeting.proto\"]\n}\n",
		summary: "Proto root is not a directory",
		at:      "2:11",
	},
	{
		name:    "a proto root that does not exist is reported at its value",
		src:     "proto \"greeting\" {\n  root  = \"protos\"\n  files = [\"proto/greeting/v1/greeting.proto\"]\n}\n",
		summary: "Proto root not found",
		at:      "2:11",
	},
	{
		name:    "a proto file outside root is reported at its entry",
		src:     "proto \"greeting\" {\n  root  = \"proto\"\n  files = [\"proto/greeting/v1/greeting.proto\", \"outside/outside.proto\"]\n}\n",
		summary: "Proto file outside root",
		detail:  `not under root "proto" (line 2)`,
		at:      "3:48",
	},

	// id
	{
		name:    "an uppercase Id letter is reported at its value",
		src:     "id \"Order\" {\n  letter = \"O\"\n}\n",
		summary: "Invalid Id letter",
		detail:  `letter = "o"`,
		at:      "2:12",
	},
	{
		name:    "an Id letter of two letters is reported at its value",
		src:     "id \"Order\" {\n  letter = \"or\"\n}\n",
		summary: "Invalid Id letter",
		at:      "2:12",
	},
	{
		name:    "an id block without letter is reported at the block",
		src:     "id \"Order\" {\n}\n",
		summary: "Missing letter",
		at:      "1:1",
	},
	{
		name:    "two Id types with one letter are reported at the second letter",
		src:     "id \"Order\" {\n  letter = \"o\"\n}\n\nid \"Offer\" {\n  letter = \"o\"\n}\n",
		summary: "Duplicate Id letter",
		detail:  `Id type Order (line 1) already uses letter "o"`,
		at:      "6:12",
	},
	// gateway
	{
		name:    "a gateway naming an undeclared service is reported at the reference, with the closest name",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n}\ngateway \"public\" {\n  services = [service.greting]\n}\n",
		summary: `No service named "greting" is declared`,
		detail:  "Did you mean service.greeting?",
		at:      "6:15",
	},
	{
		name:    "a gateway serving a program is reported at the reference",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n}\nprogram \"hello\" {\n  source = \"./hello\"\n}\ngateway \"public\" {\n  services = [service.hello]\n}\n",
		summary: "A program cannot be served by a gateway",
		at:      "9:15",
	},
	{
		name:    "a gateway without services is reported at the block",
		src:     "gateway \"public\" {\n  listen = \"127.0.0.1:8080\"\n}\n",
		summary: "Missing services",
		at:      "1:1",
	},
	{
		name:    "a listen address that is not host:port is reported at its value",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n}\ngateway \"public\" {\n  listen   = \"8080\"\n  services = [service.greeting]\n}\n",
		summary: "Invalid listen address",
		detail:  "is not host:port",
		at:      "6:14",
	},
	{
		name:    "a listen port out of range is reported at its value",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n}\ngateway \"public\" {\n  listen   = \"127.0.0.1:99999\"\n  services = [service.greeting]\n}\n",
		summary: "Invalid listen address",
		detail:  "not a number from 0 to 65535",
		at:      "6:14",
	},
	{
		name:    "a second gateway's invalid listen is reported alone, not also as the first's port",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n}\ngateway \"a\" {\n  services = [service.greeting]\n}\ngateway \"b\" {\n  listen   = \"localhost\"\n  services = [service.greeting]\n}\n",
		summary: "Invalid listen address",
		detail:  "is not host:port",
		at:      "9:14",
	},
	{
		name:    "a CORS origin with a path is reported at that entry",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n}\ngateway \"public\" {\n  services     = [service.greeting]\n  cors_origins = [\"https://a.example\", \"https://b.example/app\"]\n}\n",
		summary: "Invalid CORS origin",
		detail:  "never carries a path",
		at:      "7:40",
	},
	{
		name:    "a CORS origin without a scheme is reported at that entry",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n}\ngateway \"public\" {\n  services     = [service.greeting]\n  cors_origins = [\"shop.example.com\"]\n}\n",
		summary: "Invalid CORS origin",
		detail:  "is not an origin",
		at:      "7:19",
	},
	{
		name:    "two gateways on one port are reported at the second's listen",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n}\ngateway \"a\" {\n  services = [service.greeting]\n}\ngateway \"b\" {\n  listen   = \"0.0.0.0:8080\"\n  services = [service.greeting]\n}\n",
		summary: "Duplicate gateway port",
		detail:  `Gateway "a" (line 5)`,
		at:      "9:14",
	},
	{
		name:    "a second gateway of one name is reported at its label",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n}\ngateway \"a\" {\n  services = [service.greeting]\n}\ngateway \"a\" {\n  listen   = \"127.0.0.1:0\"\n  services = [service.greeting]\n}\n",
		summary: `Duplicate gateway name "a"`,
		at:      "8:9",
	},
	{
		name:    "a gateway named like a service is reported at its label",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n}\ngateway \"greeting\" {\n  services = [service.greeting]\n}\n",
		summary: `Duplicate name "greeting"`,
		detail:  "share one set of names",
		at:      "5:9",
	},
	{
		name:    "a manifest whose lines end in CR alone is told to use LF",
		src:     "program \"hello\" {\r  source = \"./hello\"\r}\r",
		noApp:   true,
		summary: "Lines end in carriage returns alone",
		detail:  "Save it with LF (or CRLF) line endings",
		at:      "1:1",
	},
	// HCL's own words, with what parigot.hcl wants instead
	{
		name:    "a function call is reported with what to write instead",
		src:     "program \"hello\" {\n  source = upper(\"./hello\")\n}\n",
		summary: "Function calls not allowed",
		detail:  "write the value itself",
		at:      "2:12",
	},
	{
		name:    "an interpolation is reported with what to write instead",
		src:     "program \"hello\" {\n  source = \"./${hello}\"\n}\n",
		summary: "Variables not allowed",
		detail:  "a string is written whole, without ${...}",
		at:      "2:17",
	},
	{
		name:    "a stray closing brace is reported with what to look for",
		src:     "program \"hello\" {\n  source = \"./hello\"\n}\n}\n",
		summary: "Argument or block definition required",
		detail:  "a } too many",
		at:      "4:1",
	},
	{
		name:    "a list without its ']' says where it opened, not only that a comma is missing",
		src:     "program \"hello\" {\n  source   = \"./hello\"\n  requires = [service.greeting\n}\n",
		summary: "Missing item separator",
		detail:  "The list opened at parigot.hcl:3:14 has no ']' before this. If it ends there, close it with ']'",
		at:      "4:1",
	},
	// a heredoc or comment never closed: one error, where it starts
	{
		name:    "a heredoc without its closing marker is reported where it starts",
		src:     "service \"books\" {\n  source = <<EOT\n./books\n}\n\nprogram \"hello\" {\n  source = \"./hello\"\n}\n",
		summary: "Unclosed heredoc",
		detail:  "no line holding only EOT to end it",
		at:      "2:12",
	},
	{
		name:    "a block comment never closed is reported where it starts",
		src:     "service \"greeting\" {\n  source     = \"./greeting\" /* the service\n  implements = [\"greeting.v1.Greeting\"]\n}\n",
		summary: "Unclosed comment",
		detail:  "no */ to close it",
		at:      "2:29",
	},
	// one missing quote, one error
	{
		name:    "a string without its closing quote is one error where the quote is missing, not one per line after it",
		src:     "service \"greeting\" {\n  source     = \"./greeting\n  implements = [\"greeting.v1.Greeting\"]\n}\nprogram \"hello\" {\n  source   = \"./hello\"\n  requires = [service.greeting]\n}\n",
		summary: "Unclosed string",
		detail:  "A string on line 2 has no closing quote",
		at:      "2:27",
	},
	{
		name:    "a string without its closing quote at the end of the file is one error",
		noApp:   true,
		src:     strings.TrimPrefix(appBlock, "\n") + "service \"greeting\" {\n  source = \"./greeting",
		summary: "Unclosed string",
		detail:  "A string on line 5 has no closing quote",
		at:      "5:23",
	},
	{
		name:    "a quoted service in a gateway's services says to write a reference",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n}\ngateway \"public\" {\n  services = [\"greeting\"]\n}\n",
		summary: "Quoted service name in services",
		detail:  "write service.greeting",
		at:      "6:15",
	},
	{
		name:    "a misspelt service block is one error, not one more for each reference to the service",
		src:     "servce \"stats\" {\n  source = \"./greeting\"\n}\nprogram \"hello\" {\n  source   = \"./hello\"\n  requires = [service.stats]\n}\ngateway \"public\" {\n  services = [service.stats]\n}\n",
		summary: "Unsupported block type",
		detail:  `Did you mean "service"?`,
		at:      "1:1",
	},
	{
		name:    "a service block with a label too many is one error, not one more for the reference to it",
		src:     "service \"stats\" \"extra\" {\n  source = \"./greeting\"\n}\nprogram \"hello\" {\n  source   = \"./hello\"\n  requires = [service.stats]\n}\n",
		summary: "Extraneous label",
		at:      "1:17",
	},
	{
		name:    "a misspelt store block is one error, not one more for the uses entry naming the store",
		src:     "stor \"ledger\" {}\nprogram \"hello\" {\n  source = \"./hello\"\n  uses   = [store.ledger]\n}\n",
		summary: "Unsupported block type",
		detail:  `Did you mean "store"?`,
		at:      "1:1",
	},
}

// theOneError is the one error among diags, or fails the test when there
// is not exactly one.
func theOneError(t *testing.T, diags hcl.Diagnostics) *hcl.Diagnostic {
	t.Helper()
	var errs hcl.Diagnostics
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errs = append(errs, d)
		}
	}
	if len(errs) != 1 {
		t.Fatalf("got %d errors, want 1:\n%s", len(errs), describe(errs))
	}
	return errs[0]
}

func TestParseDiagnostics(t *testing.T) {
	for _, tc := range diagnosticCases {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.src
			if !tc.noApp {
				src += appBlock
			}
			_, diags := Parse("parigot.hcl", []byte(src), "testdata/app")
			d := theOneError(t, diags)
			if !strings.Contains(d.Summary, tc.summary) {
				t.Errorf("summary %q does not contain %q", d.Summary, tc.summary)
			}
			if !strings.Contains(d.Detail, tc.detail) {
				t.Errorf("detail %q does not contain %q", d.Detail, tc.detail)
			}
			if d.Subject == nil {
				t.Fatalf("diagnostic has no subject")
			}
			if d.Subject.Filename != "parigot.hcl" {
				t.Errorf("subject file is %q, want parigot.hcl", d.Subject.Filename)
			}
			if got := fmt.Sprintf("%d:%d", d.Subject.Start.Line, d.Subject.Start.Column); got != tc.at {
				t.Errorf("diagnostic at %s, want %s", got, tc.at)
			}
		})
	}
}

// A value missing its opening quote has a closing one, which opens a string
// that runs to the end of the line: HCL's errors at the value are the
// mistake, and the unclosed string is not said.
func TestAValueWithoutItsOpeningQuoteIsNotReportedAsAnUnclosedString(t *testing.T) {
	src := "service \"greeting\" {\n  source     = ./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n}\n" + appBlock
	_, diags := Parse("parigot.hcl", []byte(src), "testdata/app")
	if len(diags) == 0 || diags[0].Summary != "Invalid expression" || diags[0].Subject.Start.Line != 2 {
		t.Fatalf("the first error is not HCL's at the value on line 2:\n%s", describe(diags))
	}
	for _, d := range diags {
		if strings.Contains(d.Summary, "string") {
			t.Errorf("an error about a string, which the value's mistake explains:\n%s", describe(diags))
		}
	}
}

func describe(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		fmt.Fprintf(&b, "  %s\n", d.Error())
	}
	return b.String()
}

// A block of a type no declaration is near declares nothing anyone can
// tell: a reference to its label is reported as it would be without it.
func TestABlockOfAnUnknownTypeLeavesReferencesReported(t *testing.T) {
	src := "widget \"stats\" {}\nprogram \"hello\" {\n  source   = \"./hello\"\n  requires = [service.stats]\n}\n" + appBlock
	_, diags := Parse("parigot.hcl", []byte(src), "testdata/app")
	if errs := diags.Errs(); len(errs) != 2 || !strings.Contains(errs[1].Error(), `No service named "stats" is declared`) {
		t.Errorf("want the block's error and the reference's:\n%s", describe(diags))
	}
}
