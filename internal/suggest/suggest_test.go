package suggest

import "testing"

func TestClosestSuggestsATypoAndNothingFarOff(t *testing.T) {
	names := []string{"FetchGreeting", "ListGreetings", "orders"}
	for _, c := range []struct{ name, want string }{
		{"FetchGreetin", "FetchGreeting"},  // a letter missing
		{"fetchgreeting", "FetchGreeting"}, // case
		{"oders", "orders"},
		{"Checkout", ""}, // nothing like it
		{"", ""},
	} {
		if got := Closest(c.name, names); got != c.want {
			t.Errorf("Closest(%q) = %q, want %q", c.name, got, c.want)
		}
	}
	if got := Closest("x", nil); got != "" {
		t.Errorf("Closest with no candidates = %q, want none", got)
	}
}
