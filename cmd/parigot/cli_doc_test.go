package main

import (
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// flagRow is a row of a flag table of docs/CLI.md: its first cell names the
// flag (`-j`, `--jobs N`), its second gives the default.
var flagRow = regexp.MustCompile("(?m)^\\| `(-[^`]+)`(?:, `(-[^`]+)`)?[^|]*\\|\\s*([^|]*?)\\s*\\|")

// TestCLIDocListsEveryFlag keeps docs/CLI.md true to the commands: each
// command has its "## parigot CMD" section, whose table lists every flag of
// CMD and of its subcommands, and no other; a default the doc gives as a
// lone literal (`single`, `2m`) is the flag's.
func TestCLIDocListsEveryFlag(t *testing.T) {
	doc, err := os.ReadFile("../../docs/CLI.md")
	if err != nil {
		t.Fatal(err)
	}
	root := newRootCommand(io.Discard, io.Discard)
	sections := strings.Split(string(doc), "\n## parigot ")
	documented := 0
	inDocs := map[string]bool{}
	for _, section := range sections[1:] {
		name, body, _ := strings.Cut(section, "\n")
		inDocs[name] = true
		if i := strings.Index(body, "\n## "); i >= 0 {
			body = body[:i]
		}
		cmd, _, err := root.Find([]string{name})
		if err != nil || cmd == root {
			t.Errorf("docs/CLI.md has a section ## parigot %s, but parigot has no command %s", name, name)
			continue
		}
		flags := commandFlags(cmd)
		inDoc := map[string]bool{}
		for _, m := range flagRow.FindAllStringSubmatch(body, -1) {
			long := m[1]
			if m[2] != "" {
				long = m[2]
			}
			long = strings.TrimPrefix(strings.Fields(long)[0], "--")
			inDoc[long] = true
			documented++
			f := flags[long]
			if f == nil {
				t.Errorf("docs/CLI.md, ## parigot %s: the table lists --%s, which parigot %s does not take", name, long, name)
				continue
			}
			if m[2] != "" && "-"+f.Shorthand != strings.Fields(m[1])[0] {
				t.Errorf("docs/CLI.md, ## parigot %s: --%s's short form is %s in the doc, -%s in parigot", name, long, m[1], f.Shorthand)
			}
			if lit, ok := loneLiteral(m[3]); ok && !sameDefault(lit, f.DefValue) {
				t.Errorf("docs/CLI.md, ## parigot %s: --%s's default is %q in the doc, %q in parigot", name, long, lit, f.DefValue)
			}
		}
		for _, long := range slices.Sorted(maps.Keys(flags)) {
			if !inDoc[long] {
				t.Errorf("docs/CLI.md, ## parigot %s: parigot %s takes --%s (%s), which the section's table does not list", name, name, long, flags[long].Usage)
			}
		}
	}
	for _, cmd := range root.Commands() {
		if !cmd.Hidden && cmd.Name() != "help" && !inDocs[cmd.Name()] {
			t.Errorf("docs/CLI.md has no section ## parigot %s for the command (%s)", cmd.Name(), cmd.Short)
		}
	}
	if documented == 0 {
		t.Fatal("docs/CLI.md has no flag table: did its format change?")
	}
}

// commandFlags are the flags a user gives cmd or its subcommands, by long
// name, without help and hidden flags.
func commandFlags(cmd *cobra.Command) map[string]*pflag.Flag {
	flags := map[string]*pflag.Flag{}
	add := func(fs *pflag.FlagSet) {
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Name != "help" && !f.Hidden {
				flags[f.Name] = f
			}
		})
	}
	add(cmd.Flags())
	add(cmd.PersistentFlags())
	for _, sub := range cmd.Commands() {
		add(sub.Flags())
	}
	return flags
}

// sameDefault reports whether the default the doc gives as the literal lit
// is def, that of the flag. A flag whose default is empty says in its usage
// what it means (the current directory, an environment variable), as the
// doc does in words.
func sameDefault(lit, def string) bool {
	if def == "" || lit == def {
		return true
	}
	d1, err1 := time.ParseDuration(lit)
	d2, err2 := time.ParseDuration(def)
	return err1 == nil && err2 == nil && d1 == d2
}

// loneLiteral returns the code span that is all of cell, if it is.
func loneLiteral(cell string) (string, bool) {
	cell = strings.TrimSpace(cell)
	if len(cell) < 2 || cell[0] != '`' || cell[len(cell)-1] != '`' || strings.Count(cell, "`") != 2 {
		return "", false
	}
	return cell[1 : len(cell)-1], true
}
