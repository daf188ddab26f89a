package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// notesProto has REST rules without a body: a POST rule that forgot its
// body, and a GET rule.
const notesProto = `syntax = "proto3";
package notes.v1;
import "google/api/annotations.proto";
message Note { string text = 1; int32 stars = 2; }
service Notes {
  rpc Add(Note) returns (Note) { option (google.api.http) = {post: "/v1/notes"}; }
  rpc Find(Note) returns (Note) { option (google.api.http) = {get: "/v1/notes/{text}"}; }
}
`

// TestABodyForARuleWithoutOneSaysWhichRuleAndWhatToDo: a REST request
// with a body whose rule has no body is refused before the method, naming
// the method and its rule and what to change, where vanguard said
// "request should have no body; instead got 24 bytes".
func TestABodyForARuleWithoutOneSaysWhichRuleAndWhatToDo(t *testing.T) {
	srv, fake := startLogged(t, "notes/v1/notes.proto", notesProto, Spec{Services: []string{"notes.v1.Notes"}})
	url := srv.URL()
	for _, c := range []struct {
		name, method, path string
		body               io.Reader
		want               string
	}{
		{"a POST rule", http.MethodPost, "/v1/notes", strings.NewReader(`{"text":"a","stars":5}`),
			`POST /v1/notes has a body, but the google.api.http rule of notes.v1.Notes/Add (post: "/v1/notes") has no body, so the request takes none: a POST rule usually says body: "*" (the body holds every field the path does not bind) or names one field, body: "text" (the body holds that field); or send the fields as query parameters, with no body`},
		{"a POST rule, the body's length not said", http.MethodPost, "/v1/notes", io.MultiReader(strings.NewReader(`{"text":"a"}`)),
			`POST /v1/notes has a body, but the google.api.http rule of notes.v1.Notes/Add (post: "/v1/notes") has no body, so the request takes none: a POST rule usually says body: "*" (the body holds every field the path does not bind) or names one field, body: "text" (the body holds that field); or send the fields as query parameters, with no body`},
		{"a GET rule", http.MethodGet, "/v1/notes/a", strings.NewReader(`{"stars":5}`),
			`GET /v1/notes/a has a body, but the google.api.http rule of notes.v1.Notes/Find (get: "/v1/notes/{text}") has no body, so the request takes none: send the fields as query parameters, with no body`},
	} {
		req, err := http.NewRequestWithContext(t.Context(), c.method, url+c.path, c.body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var got restAnswer
		if err := json.Unmarshal(b, &got); err != nil || resp.StatusCode != 400 || got.Code != 3 || got.Message != c.want {
			t.Errorf("%s: %d %s\nwant 400, code 3 (invalid argument), saying %s", c.name, resp.StatusCode, b, c.want)
		}
	}
	if calls := fake.calls(); len(calls) != 0 {
		t.Errorf("the refused requests reached %v", calls)
	}
	t.Run("the same requests without a body reach their methods", func(t *testing.T) {
		for _, c := range []struct{ method, path, want string }{
			{http.MethodPost, "/v1/notes?text=a&stars=5", `"text":"a","stars":5`},
			{http.MethodGet, "/v1/notes/b?stars=4", `"text":"b","stars":4`},
		} {
			resp, body := send(t, c.method, url+c.path, "", "")
			if resp.StatusCode != 200 || !strings.Contains(strings.ReplaceAll(body, " ", ""), c.want) {
				t.Errorf("%s %s: %d %s, want %s", c.method, c.path, resp.StatusCode, body, c.want)
			}
		}
	})
}
