package manifest

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/text/unicode/norm"
)

// The names of the app, its guests and its protos end up in file names
// (build/<name>.wasm), as the prefix of output lines and as tokens of NATS
// subjects (parigot.<app>.call..., with the guest name as queue group), so
// they hold only characters that all of these take: no ".", "*", ">" or
// white space (NATS), no "/" or NUL (file names), nothing a shell quotes.
// Id names become Go type names and file names.
var (
	nameRE   = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	idNameRE = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)
)

// maxNameLen bounds every name: a file name holds at most 255 bytes on
// common file systems, and a name is read in every output line's prefix.
const maxNameLen = 64

// exampleNames are suggested when nothing of a wrong name can be kept.
var exampleNames = map[string]string{"app": "shop", "service": "orders", "program": "checkout", "proto": "orders", "store": "accounts", "topic": "transfers", "gateway": "public"}

// ValidName reports whether name can name an app, a service, a program or
// a proto block: a lowercase letter, then lowercase letters, digits, "_"
// and "-", at most 64 in all. parigot init names new apps by it too.
func ValidName(name string) bool {
	return nameRE.MatchString(name) && len(name) <= maxNameLen
}

// checkName reports name (of an app, service, program or proto: what)
// unless it is a ValidName.
func (d *decoder) checkName(name string, rng hcl.Range, what string) {
	if ValidName(name) {
		return
	}
	d.errf(rng, fmt.Sprintf("Invalid %s name", what),
		`%q is not a valid %s name: names start with a lowercase letter, hold only lowercase letters, digits, "_" and "-", and are at most %d characters long, because a name becomes part of file names (build/<name>.wasm), of output lines and of NATS subjects. For example %s %q.`,
		name, what, maxNameLen, what, suggestName(name, what))
}

// checkIdName reports an Id name that is not a short exported Go name.
func (d *decoder) checkIdName(name string, rng hcl.Range) {
	if idNameRE.MatchString(name) && len(name) <= maxNameLen {
		return
	}
	d.errf(rng, "Invalid Id name",
		`%q is not a valid Id type name: Id names are Go type names that start with an uppercase letter, hold only ASCII letters and digits, and are at most %d characters long. For example id %q.`,
		name, maxNameLen, suggestIdName(name))
}

// suggestName turns name into a valid name of the kind what: lowercase,
// with "-" for separators and without the characters names do not take.
func suggestName(name, what string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(foldAccents(name)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		case r == '-' || unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r):
			if !strings.HasSuffix(b.String(), "-") {
				b.WriteByte('-')
			}
		}
	}
	return shorten(strings.TrimLeft(b.String(), "0123456789_-"), "_-", exampleNames[what])
}

// suggestIdName turns name into a valid Id name: its ASCII letters and
// digits, each word capitalised ("order_item" -> "OrderItem").
func suggestIdName(name string) string {
	var b strings.Builder
	up := true
	for _, r := range foldAccents(name) {
		switch {
		case r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) && b.Len() > 0):
			if up {
				r = unicode.ToUpper(r)
			}
			b.WriteRune(r)
			up = false
		default:
			up = true
		}
	}
	return shorten(b.String(), "", "Order")
}

// foldAccents drops the accents of letters, which names do not take
// ("Ordér" -> "Order", "büchér" -> "bucher"), so that a suggestion keeps
// the letter rather than lose it.
func foldAccents(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// shorten cuts s to maxNameLen, then drops the trailing characters in
// cutset; it returns fallback if nothing is left.
func shorten(s, cutset, fallback string) string {
	s = strings.TrimRight(s[:min(len(s), maxNameLen)], cutset)
	if s == "" {
		return fallback
	}
	return s
}
