package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/native"
	"parigot.dev/parigot/runtime/internal/route"
)

const queryProto = `syntax = "proto3";
package query.v1;
import "google/api/annotations.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/wrappers.proto";
enum Shelf { SHELF_UNSPECIFIED = 0; SHELF_FICTION = 1; SHELF_SCIENCE = 2; }
message Filter { int32 min_pages = 1; string author = 2; }
message Nothing {}
message ListRequest {
  int32 page_size = 1;
  int64 offset = 2;
  uint32 limit = 3;
  double min_rating = 4;
  float weight = 5;
  bool in_stock = 6;
  Shelf shelf = 7;
  bytes cursor = 8;
  google.protobuf.Timestamp since = 9;
  google.protobuf.Duration max_age = 10;
  google.protobuf.FieldMask update_mask = 11;
  string title = 12;
  repeated string tags = 13;
  repeated int32 years = 14;
  Filter filter = 15;
  google.protobuf.Int32Value min_copies = 16;
  optional string note = 17;
  google.protobuf.Timestamp read_time = 18;
  google.protobuf.StringValue nickname = 19;
  google.protobuf.BytesValue token = 20;
  Nothing nothing = 21;
}
service Books {
  rpc List(ListRequest) returns (ListRequest) { option (google.api.http) = {get: "/v1/books"}; }
}
`

func querySchema(t testing.TB) *Schema {
	t.Helper()
	s, err := ParseSchema(compileSchema(t, map[string]string{"query/v1/query.proto": queryProto}, "query/v1/query.proto"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// echoService answers a call with its request, and keeps the last one
// it got and how many it got.
type echoService struct {
	mu    sync.Mutex
	calls int
	last  []byte
}

func (e *echoService) GuestName() string            { return "books" }
func (e *echoService) MethodTimeout() time.Duration { return 2 * time.Second }
func (e *echoService) Deliver(ev abi.Event, from route.Endpoint) route.Refusal {
	e.mu.Lock()
	e.calls++
	e.last = append([]byte(nil), ev.Payload...)
	e.mu.Unlock()
	go from.Deliver(abi.Event{Kind: abi.KindReply, CallID: ev.CallID, Payload: ev.Payload}, nil)
	return route.Accepted
}

// received is the request the method got last, and how many calls it got.
func (e *echoService) received(t *testing.T, schema *Schema) (*dynamicpb.Message, int) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	d, err := schema.files.FindDescriptorByName("query.v1.ListRequest")
	if err != nil {
		t.Fatal(err)
	}
	m := dynamicpb.NewMessage(d.(protoreflect.MessageDescriptor))
	if err := proto.Unmarshal(e.last, m); err != nil {
		t.Fatal(err)
	}
	return m, e.calls
}

// startQuery serves queryProto's Books on a free port, answered by an
// echoService.
func startQuery(t *testing.T) (url string, schema *Schema, fake *echoService) {
	t.Helper()
	schema, fake = querySchema(t), &echoService{}
	srv, err := Start(Spec{Name: "q", Listen: "127.0.0.1:0", Services: []string{"query.v1.Books"}}, schema,
		services{fake}, native.NewCaller(NativeIdentity), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv.URL(), schema, fake
}

// restAnswer is REST's error as a client reads it.
type restAnswer struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// getQuery sends GET /v1/books?query and returns the HTTP status and,
// for an error, REST's error.
func getQuery(t *testing.T, url, query string) (int, restAnswer, string) {
	t.Helper()
	resp, err := http.Get(url + "/v1/books?" + query)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	var a restAnswer
	if resp.StatusCode != 200 {
		if resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal([]byte(body), &a) != nil {
			t.Errorf("?%s: %d (%s) %s, want REST's error in JSON", query, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	return resp.StatusCode, a, body
}

// refusedQuery sends GET /v1/books?query and checks that it is refused,
// as invalid argument saying says, and that the method is not called.
func refusedQuery(t *testing.T, url string, schema *Schema, fake *echoService, query, says string) {
	t.Helper()
	_, before := fake.received(t, schema)
	status, a, body := getQuery(t, url, query)
	if status != 400 || a.Code != 3 || a.Message != says {
		t.Errorf("?%s: %d %s\nwant 400, code 3 (invalid argument), saying %s", query, status, body, says)
	}
	if _, after := fake.received(t, schema); after != before {
		t.Errorf("?%s was refused, yet the method was called", query)
	}
}

// A query value that is not of its field's type is refused before the
// method is called, saying which parameter, the value, and what it must
// be; every form vanguard takes is still taken.
func TestAQueryValueOfTheWrongTypeSaysWhatItMustBe(t *testing.T) {
	url, schema, fake := startQuery(t)
	for _, c := range []struct{ query, says string }{
		{"page_size=abc", `query parameter "page_size": "abc" is not an integer (int32)`},
		{"pageSize=1.5", `query parameter "pageSize": "1.5" is not an integer (int32)`},
		{"page_size=99999999999", `query parameter "page_size": "99999999999" is out of range for int32 (-2147483648 to 2147483647)`},
		{"offset=ten", `query parameter "offset": "ten" is not an integer (int64)`},
		{"limit=-1", `query parameter "limit": "-1" is out of range for uint32 (0 to 4294967295)`},
		{"min_rating=high", `query parameter "min_rating": "high" is not a number (double): write it as 1.5, -2, 6.02e23, NaN, Infinity or -Infinity`},
		{"weight=1e39", `query parameter "weight": "1e39" is out of range for float (at most 3.4028234663852886e+38 either side of 0)`},
		{"in_stock=yes", `query parameter "in_stock": "yes" is not a boolean: write true or false`},
		{"shelf=POETRY", `query parameter "shelf": "POETRY" is not a value of query.v1.Shelf: write one of SHELF_UNSPECIFIED, SHELF_FICTION, SHELF_SCIENCE, or a number`},
		{"cursor=%21%21", `query parameter "cursor": "!!" is not base64 (bytes): write it in base64, standard or URL-safe, with or without its = padding`},
		{"since=yesterday", `query parameter "since": "yesterday" is not a timestamp: write it in RFC 3339, such as 2024-05-01T12:00:00Z or 2024-05-01T14:00:00.5+02:00`},
		{"since=2024-05-01T14:00:00+02:00", `query parameter "since": "2024-05-01T14:00:00 02:00" is not a timestamp: write it in RFC 3339, such as 2024-05-01T12:00:00Z or 2024-05-01T14:00:00.5+02:00 (a + in a query is a space: write it as %2B)`},
		{"since=%222024-05-01T12:00:00Z%22", `query parameter "since": "\"2024-05-01T12:00:00Z\"" is not a timestamp: write it in RFC 3339, such as 2024-05-01T12:00:00Z or 2024-05-01T14:00:00.5+02:00; a query value goes without the quotes of its JSON form`},
		{"max_age=5", `query parameter "max_age": "5" is not a duration: write it in seconds followed by s, such as 90s, 1.5s or -0.25s`},
		{"min_copies=some", `query parameter "min_copies": "some" is not an integer (int32)`},
		{"years=1999&years=soon", `query parameter "years": "soon" is not an integer (int32)`},
		{"filter.min_pages=x", `query parameter "filter.min_pages": "x" is not an integer (int32)`},
		{"filter=x", `query parameter "filter": field filter is a message (query.v1.Filter), which a query cannot set whole; set its fields one by one (?filter.FIELD=...)`},
	} {
		refusedQuery(t, url, schema, fake, c.query, c.says)
	}
	for _, c := range []struct{ query, field, want string }{
		{"page_size=-5", "page_size", "-5"},
		{"offset=-9007199254740993", "offset", "-9007199254740993"},
		{"min_rating=NaN", "min_rating", "NaN"},
		{"min_rating=6.02e23", "min_rating", "6.02e+23"},
		{"weight=-Infinity", "weight", "-Inf"},
		{"in_stock=true", "in_stock", "true"},
		{"shelf=SHELF_FICTION", "shelf", "1"},
		{"shelf=7", "shelf", "7"}, // an open enum takes numbers it does not name
		{"cursor=AQID", "cursor", "[1 2 3]"},
		{"cursor=_-8", "cursor", "[255 239]"}, // URL-safe, unpadded
		{"since=2024-05-01T14:00:00%2B02:00", "since", "{seconds:1714564800}"},
		{"max_age=1.5s", "max_age", "{seconds:1 nanos:500000000}"},
		{"min_copies=3", "min_copies", "{value:3}"},
		{"title=%22quoted%22", "title", `"quoted"`},
		{"nickname=%22quoted%22", "nickname", `{value:"quoted"}`}, // as a string field takes it
		{"nickname=a%5Cnb", "nickname", `{value:a\nb}`},
		{"nickname=%01", "nickname", "{value:\x01}"},
		{"nickname=", "nickname", "{}"}, // an empty string, given
		{"token=AQID", "token", "{value:[1 2 3]}"},
	} {
		status, _, body := getQuery(t, url, c.query)
		if status != 200 {
			t.Errorf("?%s: %d %s, want it taken", c.query, status, body)
			continue
		}
		m, _ := fake.received(t, schema)
		fd := m.Descriptor().Fields().ByName(protoreflect.Name(c.field))
		got := fmt.Sprint(m.Get(fd).Interface())
		if fd.Message() != nil {
			var set []string
			inner := m.Get(fd).Message()
			for i := 0; i < inner.Descriptor().Fields().Len(); i++ {
				if f := inner.Descriptor().Fields().Get(i); inner.Has(f) {
					set = append(set, fmt.Sprintf("%s:%v", f.Name(), inner.Get(f).Interface()))
				}
			}
			got = "{" + strings.Join(set, " ") + "}"
			if !m.Has(fd) {
				got = "nothing"
			}
		}
		if got != c.want {
			t.Errorf("?%s: the method got %s %s, want %s", c.query, c.field, got, c.want)
		}
	}
}

// A google.protobuf.FieldMask in the query reaches the method whole, its
// fields named by their JSON names or their proto names.
func TestAFieldMaskInTheQueryArrivesWhole(t *testing.T) {
	url, schema, fake := startQuery(t)
	for _, c := range []struct {
		query string
		paths []string // nil: no mask
	}{
		{"update_mask=title,readTime", []string{"title", "read_time"}},
		{"update_mask=title,read_time", []string{"title", "read_time"}},
		{"updateMask=filter.minPages,pageSize", []string{"filter.min_pages", "page_size"}},
		{"update_mask=filter.min_pages,readTime", []string{"filter.min_pages", "read_time"}},
		{"update_mask=title,%20read_time", []string{"title", "read_time"}},
		{"update_mask=", []string{}}, // an empty mask, given
		{"title=x", nil},
	} {
		status, _, body := getQuery(t, url, c.query)
		if status != 200 {
			t.Errorf("?%s: %d %s, want it taken", c.query, status, body)
			continue
		}
		m, _ := fake.received(t, schema)
		fd := m.Descriptor().Fields().ByName("update_mask")
		if !m.Has(fd) {
			if c.paths != nil {
				t.Errorf("?%s: the method got no mask, want %q", c.query, c.paths)
			}
			continue
		}
		var got []string
		paths := m.Get(fd).Message()
		list := paths.Get(paths.Descriptor().Fields().ByName("paths")).List()
		for i := 0; i < list.Len(); i++ {
			got = append(got, list.Get(i).String())
		}
		if c.paths == nil || !slices.Equal(got, c.paths) {
			t.Errorf("?%s: the method got the paths %q, want %q", c.query, got, c.paths)
		}
	}
	for _, c := range []struct{ query, says string }{
		{"update_mask=title,,author", `query parameter "update_mask": "title,,author" is not a field mask: "" is not a path of field names; list paths separated by commas, each field named by its JSON name (readTime) or its proto name (read_time), such as title,readTime,author.name`},
		{"update_mask=read-time", `query parameter "update_mask": "read-time" is not a field mask: "read-time" is not a path of field names; list paths separated by commas`},
		{"update_mask=read_Time", `query parameter "update_mask": "read_Time" is not a field mask: field name "read_Time" cannot be sent in one (its JSON form "readTime" reads back as "read_time")`},
	} {
		status, a, body := getQuery(t, url, c.query)
		if status != 400 || a.Code != 3 || !strings.HasPrefix(a.Message, c.says) {
			t.Errorf("?%s: %d %s\nwant 400, code 3 (invalid argument), saying %s", c.query, status, body, c.says)
		}
	}
}

// A field that takes one value, given more than once in the query, is
// refused, rather than one value kept by chance; a repeated field takes
// every value given.
func TestASingularFieldGivenTwiceInTheQueryIsRefused(t *testing.T) {
	url, schema, fake := startQuery(t)
	for _, c := range []struct{ query, says string }{
		{"title=a&title=b", `query parameter "title" is given 2 times, but field title takes one value (it is not repeated); give it once`},
		{"note=a&note=b&note=c", `query parameter "note" is given 3 times, but field note takes one value (it is not repeated); give it once`},
		{"page_size=1&pageSize=2", `query parameters "pageSize" and "page_size" name one field, page_size, given 2 times in all, but it takes one value (it is not repeated); give it once, by one name`},
		{"filter.author=a&filter.author=b", `query parameter "filter.author" is given 2 times, but field filter.author takes one value (it is not repeated); give it once`},
		{"update_mask=title&update_mask=readTime", `query parameter "update_mask" is given 2 times, but field update_mask takes one value (it is not repeated); give it once, with the mask's paths separated by commas (?update_mask=title,readTime)`},
	} {
		refusedQuery(t, url, schema, fake, c.query, c.says)
	}
	for _, c := range []struct{ query, field, want string }{
		{"tags=a&tags=b", "tags", "[a b]"},
		{"years=1999&years=2024&years=1999", "years", "[1999 2024 1999]"},
	} {
		status, _, body := getQuery(t, url, c.query)
		if status != 200 {
			t.Errorf("?%s: %d %s, want it taken", c.query, status, body)
			continue
		}
		m, _ := fake.received(t, schema)
		list := m.Get(m.Descriptor().Fields().ByName(protoreflect.Name(c.field))).List()
		var got []string
		for i := 0; i < list.Len(); i++ {
			got = append(got, fmt.Sprint(list.Get(i).Interface()))
		}
		if s := "[" + strings.Join(got, " ") + "]"; s != c.want {
			t.Errorf("?%s: the method got %s %s, want %s", c.query, c.field, s, c.want)
		}
	}
}

// A query parameter that names no field is refused with the field the
// client most likely meant, and the fields there are.
func TestAQueryParameterNamingNoFieldSaysWhichItMayMean(t *testing.T) {
	url, schema, fake := startQuery(t)
	for _, c := range []struct{ query, says string }{
		{"pagesize=5", `query parameter "pagesize" names no field: query.v1.ListRequest has no field "pagesize" (did you mean page_size?)`},
		{"filter.autor=x", `query parameter "filter.autor" names no field: query.v1.Filter has no field "autor" (did you mean author?); its fields are min_pages, author`},
		{"filter.zzzzzz=x", `query parameter "filter.zzzzzz" names no field: query.v1.Filter has no field "zzzzzz"; its fields are min_pages, author`},
		{"nothing.x=1", `query parameter "nothing.x" names no field: query.v1.Nothing has no field "x": it has no fields, so the query names none`},
		{"page_size.x=1", `query parameter "page_size.x": field page_size is int32, which holds no fields to name after it`},
		{"tags.x=1", `query parameter "tags.x": field tags is repeated, which holds no fields to name after it`},
	} {
		refusedQuery(t, url, schema, fake, c.query, c.says)
	}
}

// A GET whose Content-Type header is given but empty, as some clients
// send one, has no body and keeps its query.
func TestAQueryIsReadWhateverAnEmptyContentTypeHeaderSays(t *testing.T) {
	url, schema, fake := startQuery(t)
	for _, ct := range [][]string{{""}, nil, {" "}} {
		req, err := http.NewRequest(http.MethodGet, url+"/v1/books?page_size=5", nil)
		if err != nil {
			t.Fatal(err)
		}
		if ct != nil {
			req.Header["Content-Type"] = ct
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("Content-Type %q: %d %s, want 200", ct, resp.StatusCode, b)
			continue
		}
		if got, _ := fake.received(t, schema); got.Get(got.Descriptor().Fields().ByName("page_size")).Int() != 5 {
			t.Errorf("Content-Type %q: the method got %v, want page_size:5", ct, got)
		}
	}
}

// A query that net/url cannot read whole (more parameters than it reads,
// a ';' between them, a '%' that begins no escape) is refused, saying
// what is wrong, before the method is called: net/url drops what it
// cannot read (past 10000 parameters, all of them), and the method was
// called as if the client had not sent it, page_size=5 and all.
func TestAQueryTheGatewayCannotReadWholeIsRefused(t *testing.T) {
	url, schema, fake := startQuery(t)
	for _, c := range []struct{ query, says string }{
		{"page_size=5;title=x", `the query has a ';', which separates nothing: separate parameters with '&', and write a ';' in a value as %3B`},
		{"page_size=5&title=100%", `the query has a % that begins no escape ("%"): write a % in a parameter as %25`},
		{"page_size=5&title=%zz", `the query has a % that begins no escape ("%zz"): write a % in a parameter as %25`},
	} {
		refusedQuery(t, url, schema, fake, c.query, c.says)
	}
	t.Run("more parameters than net/url reads", func(t *testing.T) {
		_, before := fake.received(t, schema)
		status, a, body := getQuery(t, url, "page_size=5"+strings.Repeat("&tags=a", maxQueryParams))
		if want := `the query has 10001 parameters, more than the 10000 the gateway reads; send fewer, or send the request's fields in a body (a method whose google.api.http rule says body: "*")`; status != 400 || a.Code != 3 || a.Message != want {
			t.Errorf("%d %.300s\nwant 400, code 3 (invalid argument), saying %s", status, body, want)
		}
		if _, after := fake.received(t, schema); after != before {
			t.Errorf("the query was refused, yet the method was called")
		}
		// As many as it reads are read.
		status, _, body = getQuery(t, url, "page_size=5"+strings.Repeat("&tags=a", maxQueryParams-1))
		if m, _ := fake.received(t, schema); status != 200 || m.Get(m.Descriptor().Fields().ByName("page_size")).Int() != 5 {
			t.Errorf("%d parameters: %d %.200s, want page_size 5 to reach the method", maxQueryParams, status, body)
		}
	})
}
