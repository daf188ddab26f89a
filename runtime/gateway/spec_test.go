package gateway

import (
	"reflect"
	"strings"
	"testing"

	"parigot.dev/parigot/manifest"
)

func TestFromManifest(t *testing.T) {
	app := &manifest.App{
		Name: "shop",
		Services: []*manifest.Guest{
			{Name: "books", Kind: manifest.KindService, Implements: []string{"bookstore.v1.Bookstore", "bookstore.v1.Admin"},
				Subscriptions: []*manifest.Subscription{{Topic: "deliveries", Method: "bookstore.v1.Admin/Restock"}}},
			{Name: "orders", Kind: manifest.KindService, Implements: []string{"orders.v1.Orders"},
				Subscriptions: []*manifest.Subscription{{Topic: "payments", Method: "orders.v1.Orders/Paid"}}},
		},
		Gateways: []*manifest.Gateway{{Name: "public", Listen: "127.0.0.1:8080", Services: []string{"books"}, CORSOrigins: []string{"https://shop.example.com"}}},
	}
	specs, err := FromManifest(app, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []Spec{{Name: "public", Listen: "127.0.0.1:8080", Guests: []string{"books"},
		Services: []string{"bookstore.v1.Bookstore", "bookstore.v1.Admin"}, CORSOrigins: []string{"https://shop.example.com"},
		// The subscriptions to its methods; not those of a service it
		// does not serve.
		Subscribed: map[string][]Subscriber{"bookstore.v1.Admin/Restock": {{Topic: "deliveries", Service: "books"}}}}}
	if !reflect.DeepEqual(specs, want) {
		t.Errorf("FromManifest = %+v, want %+v", specs, want)
	}
	if specs, err := FromManifest(app, "127.0.0.1:0"); err != nil || specs[0].Listen != "127.0.0.1:0" {
		t.Errorf("--listen: %+v, %v", specs, err)
	}
	app.Gateways = append(app.Gateways, &manifest.Gateway{Name: "admin", Listen: "127.0.0.1:8081", Services: []string{"orders"}})
	if _, err := FromManifest(app, "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "has 2 gateways") {
		t.Errorf("--listen with two gateways: %v", err)
	}
}
