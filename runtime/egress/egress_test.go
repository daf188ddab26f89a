package egress

import (
	"net/url"
	"testing"

	"parigot.dev/parigot/runtime/internal/abi"
)

func TestARequestGoesUnderItsEndpointsURL(t *testing.T) {
	for _, tc := range []struct{ base, path, query, want string }{
		{"https://api.example.com/v1", "charges", "", "https://api.example.com/v1/charges"},
		{"https://api.example.com/v1/", "/charges/", "", "https://api.example.com/v1/charges/"},
		{"https://api.example.com", "charges", "", "https://api.example.com/charges"},
		{"https://api.example.com/v1", "", "", "https://api.example.com/v1"},
		{"https://api.example.com/v1", "files/a%2Fb", "", "https://api.example.com/v1/files/a%2Fb"},
		{"http://127.0.0.1:8080/v1", "search", "q=a b&limit=10", "http://127.0.0.1:8080/v1/search?limit=10&q=a+b"},
	} {
		e, err := New([]Spec{{Name: "api", URL: tc.base}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ep := e.byName["api"]
		var q []byte
		if tc.query != "" {
			values, _ := url.ParseQuery(tc.query)
			for k, vs := range values {
				for _, v := range vs {
					q = abi.AppendQuery(q, k, v)
				}
			}
		}
		if got := ep.target(abi.HTTPRequest{Path: tc.path, Query: q}).String(); got != tc.want {
			t.Errorf("%s + %q = %s, want %s", tc.base, tc.path, got, tc.want)
		}
		e.Close()
	}
}

func TestARedirectIsFollowedOnlyUnderTheEndpointsURL(t *testing.T) {
	e, err := New([]Spec{{Name: "api", URL: "https://api.example.com/v1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ep := e.byName["api"]
	for _, tc := range []struct {
		to    string
		under bool
	}{
		{"https://api.example.com/v1", true},
		{"https://api.example.com/v1/charges/2", true},
		{"https://API.example.com/v1/x", true},
		{"https://api.example.com/v10/x", false},
		{"https://api.example.com/admin", false},
		{"http://api.example.com/v1/x", false},
		{"https://api.example.com:8443/v1/x", false},
		{"https://evil.example/v1/x", false},
	} {
		u, _ := url.Parse(tc.to)
		if got := ep.under(u); got != tc.under {
			t.Errorf("under(%s) = %v, want %v", tc.to, got, tc.under)
		}
	}
}

func TestAnEndpointWithoutAValidURLIsRefused(t *testing.T) {
	if _, err := New([]Spec{{Name: "api", URL: "ftp://x"}}, nil); err == nil {
		t.Error("New took an ftp URL")
	}
}
