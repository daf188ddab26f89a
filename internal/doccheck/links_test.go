package doccheck

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// link is a Markdown link [text](target) of a doc, outside code.
var link = regexp.MustCompile(`\]\(([^()\s]+)\)`)

// inlineCode is a code span, whose brackets are not links.
var inlineCode = regexp.MustCompile("`[^`]*`")

// TestTheDocsLinksResolve follows every relative link of the docs: the file
// or directory it names exists, and the anchor it names (#section) is a
// heading of the doc it points to, as GitHub makes anchors of headings.
func TestTheDocsLinksResolve(t *testing.T) {
	root := repoRoot(t)
	anchorsOf := map[string]map[string]bool{} // by absolute path
	anchors := func(path string) map[string]bool {
		if a, ok := anchorsOf[path]; ok {
			return a
		}
		a := headingAnchors(t, path)
		anchorsOf[path] = a
		return a
	}
	checked := 0
	for _, doc := range userDocs(t, root) {
		docPath := filepath.Join(root, doc)
		for _, l := range links(t, docPath) {
			if strings.Contains(l.target, "://") || strings.HasPrefix(l.target, "mailto:") {
				continue
			}
			checked++
			file, anchor, _ := strings.Cut(l.target, "#")
			target := docPath
			if file != "" {
				target = filepath.Join(filepath.Dir(docPath), filepath.FromSlash(file))
				if _, err := os.Stat(target); err != nil {
					t.Errorf("%s:%d: the link to %s names a file that does not exist: %v", doc, l.line, l.target, err)
					continue
				}
			}
			if anchor == "" {
				continue
			}
			if !strings.HasSuffix(target, ".md") {
				t.Errorf("%s:%d: the link to %s names an anchor in a file that is not Markdown", doc, l.line, l.target)
				continue
			}
			if !anchors(target)[anchor] {
				rel, _ := filepath.Rel(root, target)
				t.Errorf("%s:%d: the link to %s names #%s, which no heading of %s makes (GitHub makes the heading \"## Calling an HTTP API\" #calling-an-http-api)",
					doc, l.line, l.target, anchor, filepath.ToSlash(rel))
			}
		}
	}
	if checked == 0 {
		t.Fatal("the docs have no relative link: did the link format change?")
	}
}

// docLink is a link of a doc.
type docLink struct {
	line   int
	target string
}

// links reads the links of the Markdown file path, outside code blocks and
// code spans.
func links(t *testing.T, path string) []docLink {
	t.Helper()
	var out []docLink
	forEachLineOutsideCode(t, path, func(n int, line string) {
		for _, m := range link.FindAllStringSubmatch(inlineCode.ReplaceAllString(line, ""), -1) {
			out = append(out, docLink{line: n, target: m[1]})
		}
	})
	return out
}

// headingAnchors are the anchors GitHub makes of the headings of the
// Markdown file path: the heading's text in lower case, without
// punctuation, its spaces made hyphens, and a -1, -2... after a repeat.
func headingAnchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	anchors := map[string]bool{}
	seen := map[string]int{}
	forEachLineOutsideCode(t, path, func(_ int, line string) {
		text, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " ")
		if !ok || !strings.HasPrefix(line, "#") {
			return
		}
		a := slug(text)
		if n := seen[a]; n > 0 {
			anchors[a+"-"+strconv.Itoa(n)] = true
		} else {
			anchors[a] = true
		}
		seen[a]++
	})
	return anchors
}

func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// forEachLineOutsideCode calls f with each line of the Markdown file path
// that is not in a fenced code block, and its number.
func forEachLineOutsideCode(t *testing.T, path string, f func(n int, line string)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	inFence := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			continue
		}
		if !inFence {
			f(n, line)
		}
	}
}
