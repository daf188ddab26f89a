package manifest

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// attributeRow is a row of an attribute table of docs/MANIFEST.md: its
// first cell names one attribute or several (`client_cert`, `client_key`).
var attributeRow = regexp.MustCompile("(?m)^\\| (`[a-z_]+`(?:, `[a-z_]+`)*) \\|")

// TestManifestDocListsEveryAttribute keeps docs/MANIFEST.md true to the
// schema: the table of each block's section lists every attribute (and
// nested block) the block takes, and none it does not.
func TestManifestDocListsEveryAttribute(t *testing.T) {
	doc, err := os.ReadFile("../docs/MANIFEST.md")
	if err != nil {
		t.Fatal(err)
	}
	names := func(s *hcl.BodySchema) []string {
		var out []string
		for _, a := range s.Attributes {
			out = append(out, a.Name)
		}
		for _, b := range s.Blocks {
			out = append(out, b.Type)
		}
		return out
	}
	program := slices.DeleteFunc(names(guestSchema), func(n string) bool {
		return n == "subscribe" || slices.ContainsFunc(serviceOnly, func(s struct{ name, why string }) bool { return s.name == n })
	})
	want := map[string][]string{
		"app": names(appSchema), "proto": names(protoSchema), "id": names(idSchema),
		"service": names(guestSchema), "program": program,
		"store": names(storeSchema), "topic": names(topicSchema), "subscribe": names(subscribeSchema),
		"http": names(httpSchema), "gateway": names(gatewaySchema),
	}
	for _, block := range append(BlockTypes(), "subscribe") {
		_, section, ok := strings.Cut(string(doc), "\n## "+block+"\n")
		if !ok {
			t.Errorf("docs/MANIFEST.md has no section ## %s", block)
			continue
		}
		section, _, _ = strings.Cut(section, "\n## ")
		var documented []string
		for _, m := range attributeRow.FindAllStringSubmatch(section, -1) {
			for _, name := range strings.Split(m[1], ", ") {
				documented = append(documented, strings.Trim(name, "`"))
			}
		}
		for _, name := range documented {
			if !slices.Contains(want[block], name) {
				t.Errorf("docs/MANIFEST.md, ## %s: the table documents %s, which %s blocks do not take", block, name, block)
			}
		}
		for _, name := range want[block] {
			if !slices.Contains(documented, name) {
				t.Errorf("docs/MANIFEST.md, ## %s: %s blocks take %s, which the section's table does not document", block, block, name)
			}
		}
	}
}
