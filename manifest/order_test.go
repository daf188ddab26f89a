package manifest

import (
	"strings"
	"testing"
)

func TestStartOrder(t *testing.T) {
	svc := func(name string, requires ...string) *Guest {
		return &Guest{Name: name, Kind: KindService, Requires: requires}
	}
	prog := func(name string, requires ...string) *Guest {
		return &Guest{Name: name, Kind: KindProgram, Requires: requires}
	}
	tests := []struct {
		name     string
		services []*Guest
		programs []*Guest
		want     string
	}{
		{
			name:     "independent services keep their declaration order, programs come last",
			services: []*Guest{svc("a"), svc("b"), svc("c")},
			programs: []*Guest{prog("p", "c"), prog("q")},
			want:     "a b c p q",
		},
		{
			name:     "a service starts after the service it requires",
			services: []*Guest{svc("a", "c"), svc("b"), svc("c")},
			want:     "b c a",
		},
		{
			name:     "a chain declared backwards is reversed",
			services: []*Guest{svc("a", "b"), svc("b", "c"), svc("c", "d"), svc("d")},
			want:     "d c b a",
		},
		{
			name:     "a service requiring several starts after all of them",
			services: []*Guest{svc("front", "orders", "stock"), svc("orders", "stock"), svc("stock"), svc("mail")},
			want:     "stock orders front mail",
		},
		{
			name:     "undeclared and self references are ignored",
			services: []*Guest{svc("a", "nobody", "a"), svc("b")},
			want:     "a b",
		},
		{
			name:     "a cycle still yields every service once",
			services: []*Guest{svc("x"), svc("a", "b"), svc("b", "a"), svc("c", "a")},
			want:     "x a b c",
		},
		{
			name: "an empty app has no guests",
			want: "",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			app := &App{Services: tc.services, Programs: tc.programs}
			var names []string
			for _, g := range app.StartOrder() {
				names = append(names, g.Name)
			}
			if got := strings.Join(names, " "); got != tc.want {
				t.Errorf("StartOrder() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestGuestsListsServicesThenPrograms(t *testing.T) {
	app, diags := Load("testdata/app")
	if diags.HasErrors() {
		t.Fatalf("unexpected diagnostics:\n%s", describe(diags))
	}
	var names []string
	for _, g := range app.Guests() {
		names = append(names, g.Kind.String()+" "+g.Name)
	}
	if got, want := strings.Join(names, ", "), "service greeting, service other, program hello"; got != want {
		t.Errorf("Guests() = %s, want %s", got, want)
	}
	names = nil
	for _, g := range app.StartOrder() {
		names = append(names, g.Name)
	}
	if got, want := strings.Join(names, " "), "other greeting hello"; got != want {
		t.Errorf("StartOrder() = %s, want %s", got, want)
	}
}
