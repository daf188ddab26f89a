package templates

import (
	"embed"
	"fmt"
	"text/template"
)

// FS holds every template file (*.tmpl) of this directory.
//
//go:embed *.tmpl
var FS embed.FS

// Service is the name of the template that generates a proto file's parigot
// service stubs (the <name>_parigot.pb.go file). It executes with the data of
// one proto file that defines at least one service.
const Service = "service.go.tmpl"

// Native is the name of the template that generates a proto file's native
// clients (the <name>_parigot_native.pb.go file, built only natively), with
// the same data as Service.
const Native = "native.go.tmpl"

// Errors is the name of the template that generates a proto file's typed
// errors (the <name>_parigot_errors.pb.go file): New<Message>Error,
// Is<Message> and As<Message> for each message with the
// (parigot.errors.v1.code) option.
const Errors = "errors.go.tmpl"

// Id is the name of the template that generates one typed Id (package
// boilerplateid). It executes with the data boilerplateid.Generate builds.
const Id = "id.go.tmpl"

// Parse parses the named template files of FS into one template set whose
// root is the first name. funcs are the functions the templates call; they
// must be given here because text/template resolves them at parse time.
func Parse(funcs template.FuncMap, names ...string) (*template.Template, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("templates: no template named")
	}
	t, err := template.New(names[0]).Option("missingkey=error").Funcs(funcs).ParseFS(FS, names...)
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	return t, nil
}
