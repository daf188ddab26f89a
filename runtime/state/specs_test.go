package state

import (
	"testing"

	"parigot.dev/parigot/manifest"
)

// A store's value in parigot.hcl reaches the engine, which tells the
// guests that open the store (and, through split mode's children, every
// process).
func TestAStoresSpecCarriesItsValueType(t *testing.T) {
	app := &manifest.App{Stores: []*manifest.Store{{Name: "audit", Value: "bank.v1.Transfer"}, {Name: "kv"}}}
	stores, _ := SpecsFromManifest(app)
	if len(stores) != 2 || stores[0].Value != "bank.v1.Transfer" || stores[1].Value != "" {
		t.Errorf("specs %+v, want audit's value bank.v1.Transfer and kv's none", stores)
	}
}
