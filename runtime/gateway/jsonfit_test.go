package gateway

import (
	"encoding/json"
	neturl "net/url"
	"strings"
	"testing"
)

const marksProto = `syntax = "proto3";
package marks.v1;
import "google/api/annotations.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
enum Kind { KIND_UNSPECIFIED = 0; KIND_LINK = 1; }
message Mark {
  string url = 1;
  repeated string tags = 2;
  int32 page_size = 3;
  Kind kind = 4;
  bool starred = 5;
  google.protobuf.Timestamp create_time = 6;
  map<string, int32> counts = 7;
  google.protobuf.Int32Value stars = 8;
  Mark parent = 9;
  oneof target { string a = 10; string b = 11; }
}
message CreateRequest { Mark mark = 1; }
service Marks {
  rpc Create(CreateRequest) returns (CreateRequest) { option (google.api.http) = {post: "/v1/marks" body: "mark"}; }
  rpc Put(Mark) returns (Mark) { option (google.api.http) = {put: "/v1/marks/{url}" body: "*"}; }
}
`

// TestAJSONBodyOfTheWrongTypeSaysWhichFieldAndWhatItTakes: a JSON body
// whose field has a value of the wrong kind is refused naming the field
// as the client wrote it and what it takes, in Connect, gRPC-Web and
// REST, where protojson's words named no field ("syntax error (line
// 1:35): unexpected token") or named it by its JSON name.
func TestAJSONBodyOfTheWrongTypeSaysWhichFieldAndWhatItTakes(t *testing.T) {
	srv, fake := startLogged(t, "marks/v1/marks.proto", marksProto, Spec{Services: []string{"marks.v1.Marks"}})
	url := srv.URL()
	t.Run("Connect", func(t *testing.T) {
		for body, says := range map[string]string{
			`{"tags":"notalist"}`:          `field "tags" takes a list (repeated string), not a string ("notalist")`,
			`{"page_size":"ten"}`:          `field "page_size": "ten" is not an integer (int32)`,
			`{"pageSize":"ten"}`:           `field "pageSize": "ten" is not an integer (int32)`,
			`{"page_size":1.5}`:            `field "page_size": 1.5 is not an integer (int32)`,
			`{"page_size":99999999999}`:    `field "page_size": 99999999999 is out of range for int32 (-2147483648 to 2147483647)`,
			`{"tags":["a",5]}`:             `field "tags[1]" takes a string, not a number (5)`,
			`{"parent":{"starred":"yes"}}`: `field "parent.starred" takes true or false (bool), not a string ("yes")`,
			`{"parent":[]}`:                `field "parent" takes an object (marks.v1.Mark), not a list`,
			`{"kind":true}`:                `field "kind" takes a value's name or number (marks.v1.Kind), not a boolean (true)`,
			`{"create_time":"yesterday"}`:  `field "create_time": "yesterday" is not a timestamp: write it in RFC 3339, such as 2024-05-01T12:00:00Z or 2024-05-01T14:00:00.5+02:00`,
			`{"counts":{"a":"x"}}`:         `field "counts[\"a\"]": "x" is not an integer (int32)`,
			`{"counts":["x"]}`:             `field "counts" takes an object (map<string, int32>), not a list`,
			`{"stars":"many"}`:             `field "stars": "many" is not an integer (int32)`,
			`{"url":["https://go.dev"]}`:   `field "url" takes a string, not a list`,
			`[]`:                           `the body takes an object (marks.v1.Mark), not a list`,
			`"https://go.dev"`:             `the body takes an object (marks.v1.Mark), not a string ("https://go.dev")`,
		} {
			resp, got := post(t, url+"/marks.v1.Marks/Put", "application/json", body)
			var e struct{ Code, Message string }
			json.Unmarshal([]byte(got), &e)
			if want := "the request body is not a marks.v1.Mark: " + says; resp.StatusCode != 400 || e.Code != "invalid_argument" || e.Message != want {
				t.Errorf("%s: %d %s\nwant 400 invalid_argument, saying %s", body, resp.StatusCode, got, want)
			}
		}
		// What the walk finds nothing wrong with is said in protojson's
		// words.
		resp, got := post(t, url+"/marks.v1.Marks/Put", "application/json", `{"a":"x","b":"y"}`)
		if resp.StatusCode != 400 || !strings.Contains(got, `"message":"the request body is not a marks.v1.Mark: proto:`) {
			t.Errorf("two fields of one oneof: %d %s", resp.StatusCode, got)
		}
	})
	t.Run("gRPC-Web in JSON", func(t *testing.T) {
		msg := []byte(`{"tags":"notalist"}`)
		resp, _ := post(t, url+"/marks.v1.Marks/Put", "application/grpc-web+json", string(append([]byte{0, 0, 0, 0, byte(len(msg))}, msg...)))
		got, _ := neturl.PathUnescape(resp.Header.Get("Grpc-Message"))
		if want := `the request is not a marks.v1.Mark: field "tags" takes a list (repeated string), not a string ("notalist")`; resp.Header.Get("Grpc-Status") != "3" || got != want {
			t.Errorf("grpc-status %q, %q\nwant 3, saying %s", resp.Header.Get("Grpc-Status"), got, want)
		}
	})
	t.Run("REST, naming the fields as the body holds them", func(t *testing.T) {
		for _, c := range []struct{ method, path, body, says string }{
			{"POST", "/v1/marks", `{"url":"x","tags":"notalist"}`,
				`the request body is not a marks.v1.Mark (body: "mark" in the google.api.http rule of marks.v1.Marks/Create): field "tags" takes a list (repeated string), not a string ("notalist")`},
			{"POST", "/v1/marks", `[]`,
				`the request body is not a marks.v1.Mark (body: "mark" in the google.api.http rule of marks.v1.Marks/Create): the body takes an object (marks.v1.Mark), not a list`},
			{"PUT", "/v1/marks/x", `{"page_size":"ten"}`,
				`the request body is not a marks.v1.Mark (body: "*" in the google.api.http rule of marks.v1.Marks/Put): field "page_size": "ten" is not an integer (int32)`},
		} {
			resp, got := send(t, c.method, url+c.path, "application/json", c.body)
			var e restAnswer
			json.Unmarshal([]byte(got), &e)
			if resp.StatusCode != 400 || e.Code != 3 || e.Message != c.says {
				t.Errorf("%s %s %s: %d %s\nwant 400, code 3, saying %s", c.method, c.path, c.body, resp.StatusCode, got, c.says)
			}
		}
	})
	if calls := fake.calls(); len(calls) != 0 {
		t.Fatalf("refused requests reached %v", calls)
	}
	t.Run("bodies that fit reach the method", func(t *testing.T) {
		const mark = `{"tags":["a"],"pageSize":"10","kind":"KIND_LINK","counts":{"a":1},"stars":3,"create_time":"2024-05-01T12:00:00Z","parent":null,"starred":true}`
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/marks.v1.Marks/Put", mark},
			{"POST", "/marks.v1.Marks/Put", `{"kind":"KIND_NOT_YET_KNOWN","extra":[1]}`}, // left out, as Connect's servers do
			{"POST", "/v1/marks", mark},
			{"PUT", "/v1/marks/x", mark},
		} {
			if resp, got := send(t, c.method, url+c.path, "application/json", c.body); resp.StatusCode != 200 {
				t.Errorf("%s %s %s: %d %s", c.method, c.path, c.body, resp.StatusCode, got)
			}
		}
	})
}
