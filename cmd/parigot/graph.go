package main

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"parigot.dev/parigot/builder"
	"parigot.dev/parigot/manifest"
)

// graphFormats are the formats parigot graph writes, by flag value.
var graphFormats = map[string]func(*manifest.App) string{
	"mermaid": graphMermaid,
	"dot":     graphDot,
}

func newGraphCommand(stdout io.Writer) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "graph [app-dir]",
		Short: "Print the app's topology as a Mermaid or Graphviz (DOT) diagram",
		Long: `graph reads parigot.hcl in app-dir (default: the current directory) and prints
the app's topology: each service (a box, labelled with the proto services it
implements) and each program (a rounded box), with an arrow from every guest
to each service it requires; and each store (a cylinder) and topic, with a
dotted line from every guest that uses it, and from a topic to each service
it is delivered to; and each gateway (a hexagon), with an arrow to each
service it serves. Guests are listed in the order parigot run starts them.
Nothing is built.

Formats:
  mermaid  a Mermaid flowchart (the default); GitHub renders it in a
           ` + "```mermaid" + ` block of a Markdown file
  dot      Graphviz DOT, for dot -Tsvg and friends`,
		Example: `  parigot graph
  parigot graph ./examples/helloworld --format dot | dot -Tsvg > topology.svg`,
		Args: maxOneDir,
		RunE: func(cmd *cobra.Command, args []string) error {
			render, ok := graphFormats[format]
			if !ok {
				return usageError{err: fmt.Errorf("unknown --format %q: the formats are mermaid and dot", format)}
			}
			app, err := builder.LoadDeclared(appDir(args))
			if err != nil {
				return err
			}
			_, err = io.WriteString(stdout, render(app))
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "mermaid", "diagram format: mermaid or dot")
	cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"mermaid", "dot"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// guestLines is what a diagram says about a guest besides its name.
func guestLines(g *manifest.Guest) []string {
	lines := slices.Clone(g.Implements)
	if g.Replicas > 1 {
		lines = append(lines, fmt.Sprintf("%d replicas", g.Replicas))
	}
	return lines
}

var (
	mermaidIdentRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	// mermaidWords may not be node ids in a Mermaid flowchart.
	mermaidWords = []string{"end", "graph", "flowchart", "subgraph", "direction", "style", "class", "classdef", "click", "linkstyle", "call", "href"}
)

// graphMermaid renders app as a Mermaid flowchart.
func graphMermaid(app *manifest.App) string {
	guests := app.StartOrder()
	ids := make(map[string]string, len(guests)+len(app.Gateways))
	names := make([]string, 0, len(guests)+len(app.Gateways))
	for _, g := range guests {
		names = append(names, g.Name)
	}
	for _, g := range app.Gateways {
		names = append(names, g.Name) // gateways share the guests' names: no clash
	}
	for i, name := range names {
		id := name
		if !mermaidIdentRE.MatchString(id) || slices.Contains(mermaidWords, id) {
			id = "G" + strconv.Itoa(i) // names are lowercase: no clash
		}
		ids[name] = id
	}
	var b strings.Builder
	fmt.Fprintf(&b, "flowchart LR\n  %%%% app %s: services are boxes (with the proto services they implement), programs are rounded; arrows point at required services\n", app.Name)
	for _, g := range guests {
		label := strings.Join(append([]string{g.Name}, guestLines(g)...), "<br/>")
		open, close := "[", "]"
		if g.Kind == manifest.KindProgram {
			open, close = "([", "])"
		}
		fmt.Fprintf(&b, "  %s%s\"%s\"%s\n", ids[g.Name], open, label, close)
	}
	for _, g := range guests {
		for _, r := range g.Requires {
			fmt.Fprintf(&b, "  %s --> %s\n", ids[g.Name], ids[r])
		}
	}
	for _, g := range app.Gateways {
		fmt.Fprintf(&b, "  %s{{\"gateway %s<br/>%s\"}}\n", ids[g.Name], g.Name, g.Listen)
		for _, s := range g.Services {
			fmt.Fprintf(&b, "  %s --> %s\n", ids[g.Name], ids[s])
		}
	}
	if app.HasState() {
		stateMermaid(&b, app, ids)
	}
	if len(app.HTTP) > 0 {
		httpMermaid(&b, app, ids)
	}
	return b.String()
}

// httpMermaid adds the http endpoints of app (external APIs) to a Mermaid
// flowchart, with a dotted arrow from each guest that calls one.
func httpMermaid(b *strings.Builder, app *manifest.App, ids map[string]string) {
	b.WriteString("  %% http endpoints (external APIs) are parallelograms; dotted arrows: the guests that call them\n")
	refs := map[string]string{}
	for i, h := range app.HTTP {
		id := "Http_" + h.Name
		if !mermaidIdentRE.MatchString(h.Name) {
			id = "H" + strconv.Itoa(i)
		}
		refs["http."+h.Name] = id
		fmt.Fprintf(b, "  %s[/\"http %s<br/>%s\"/]\n", id, h.Name, h.URL)
	}
	for _, g := range app.StartOrder() {
		for _, u := range g.Uses {
			if id, ok := refs[u]; ok {
				fmt.Fprintf(b, "  %s -.-> %s\n", ids[g.Name], id)
			}
		}
	}
}

// stateMermaid adds the stores (cylinders) and topics of app to a Mermaid
// flowchart, with a dotted line from each guest to what it uses and from a
// topic to each service subscribed to it.
func stateMermaid(b *strings.Builder, app *manifest.App, ids map[string]string) {
	b.WriteString("  %% stores are cylinders, topics flags; dotted lines: uses, and deliveries to subscribed methods\n")
	refs := map[string]string{}
	// Guest ids are lowercase: a capital keeps these apart from them.
	node := func(ref, name string, i int) string {
		kind, _, _ := strings.Cut(ref, ".")
		id := strings.ToUpper(kind[:1]) + kind[1:] + "_" + name
		if !mermaidIdentRE.MatchString(name) {
			id = "S" + strconv.Itoa(i)
		}
		refs[ref] = id
		return id
	}
	for i, s := range app.Stores {
		fmt.Fprintf(b, "  %s[(\"store %s\")]\n", node("store."+s.Name, s.Name, i), s.Name)
	}
	for i, t := range app.Topics {
		fmt.Fprintf(b, "  %s>\"topic %s\"]\n", node("topic."+t.Name, t.Name, len(app.Stores)+i), t.Name)
	}
	for _, g := range app.StartOrder() {
		for _, u := range g.Uses {
			if id, ok := refs[u]; ok {
				fmt.Fprintf(b, "  %s -.- %s\n", ids[g.Name], id)
			}
		}
		for _, sub := range g.Subscriptions {
			if id, ok := refs["topic."+sub.Topic]; ok {
				fmt.Fprintf(b, "  %s -.->|\"%s\"| %s\n", id, sub.Method, ids[g.Name])
			}
		}
	}
}

// graphDot renders app as a Graphviz digraph.
func graphDot(app *manifest.App) string {
	guests := app.StartOrder()
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n", strconv.Quote(app.Name))
	for _, g := range guests {
		shape := "shape=box"
		if g.Kind == manifest.KindProgram {
			shape = "shape=box, style=rounded"
		}
		label := strings.Join(append([]string{g.Name}, guestLines(g)...), `\n`)
		fmt.Fprintf(&b, "  %s [%s, label=\"%s\"];\n", strconv.Quote(g.Name), shape, label)
	}
	for _, g := range guests {
		for _, r := range g.Requires {
			fmt.Fprintf(&b, "  %s -> %s;\n", strconv.Quote(g.Name), strconv.Quote(r))
		}
	}
	for _, g := range app.Gateways {
		fmt.Fprintf(&b, "  %s [shape=hexagon, label=\"gateway %s\\n%s\"];\n", strconv.Quote(g.Name), g.Name, g.Listen)
		for _, s := range g.Services {
			fmt.Fprintf(&b, "  %s -> %s;\n", strconv.Quote(g.Name), strconv.Quote(s))
		}
	}
	for _, s := range app.Stores {
		fmt.Fprintf(&b, "  %s [shape=cylinder, label=\"store %s\"];\n", strconv.Quote("store."+s.Name), s.Name)
	}
	for _, t := range app.Topics {
		fmt.Fprintf(&b, "  %s [shape=cds, label=\"topic %s\"];\n", strconv.Quote("topic."+t.Name), t.Name)
	}
	for _, h := range app.HTTP {
		fmt.Fprintf(&b, "  %s [shape=parallelogram, label=\"http %s\\n%s\"];\n", strconv.Quote("http."+h.Name), h.Name, h.URL)
	}
	for _, g := range guests {
		for _, u := range g.Uses {
			if strings.HasPrefix(u, manifest.UseHTTP+".") {
				fmt.Fprintf(&b, "  %s -> %s [style=dotted];\n", strconv.Quote(g.Name), strconv.Quote(u))
				continue
			}
			fmt.Fprintf(&b, "  %s -> %s [style=dotted, arrowhead=none];\n", strconv.Quote(g.Name), strconv.Quote(u))
		}
		for _, sub := range g.Subscriptions {
			fmt.Fprintf(&b, "  %s -> %s [style=dotted, label=%s];\n", strconv.Quote("topic."+sub.Topic), strconv.Quote(g.Name), strconv.Quote(sub.Method))
		}
	}
	b.WriteString("}\n")
	return b.String()
}
