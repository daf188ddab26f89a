//go:build !wasip1

// The topology tests of bookstore: the whole app, built and running, called
// over HTTP through its gateway as a client outside the app calls it, in
// both modes. clients_test.go calls it with real clients (curl, grpcurl,
// buf curl); load_test.go loads it.
package bookstore_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"parigot.dev/parigot/runtime/apptest"
)

// call makes one HTTP request and returns its status and body.
func call(t *testing.T, method, url, contentType, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

type book struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Author string `json:"author"`
}

func TestBookstoreOverHTTP(t *testing.T) {
	for _, mode := range []apptest.Mode{apptest.Single, apptest.Split} {
		t.Run(string(mode)+" mode", func(t *testing.T) {
			app := apptest.Start(t, ".", mode)
			url := app.Gateway(t, "public")

			t.Run("GET /v1/books lists the shelf", func(t *testing.T) {
				status, body := call(t, "GET", url+"/v1/books", "", "")
				var resp struct{ Books []book }
				if err := json.Unmarshal([]byte(body), &resp); err != nil || status != 200 || len(resp.Books) != 2 {
					t.Fatalf("%d %s (%v)", status, body, err)
				}
				if resp.Books[0].Title != "The Go Programming Language" {
					t.Errorf("first book %+v", resp.Books[0])
				}
			})
			t.Run("POST /v1/books adds a book, which GET /v1/books/{id} then returns", func(t *testing.T) {
				status, body := call(t, "POST", url+"/v1/books", "application/json", `{"title":"The C Programming Language","author":"Brian Kernighan, Dennis Ritchie"}`)
				var added book
				if err := json.Unmarshal([]byte(body), &added); err != nil || status != 200 || added.ID != "3" {
					t.Fatalf("%d %s (%v)", status, body, err)
				}
				status, body = call(t, "GET", url+"/v1/books/3", "", "")
				var got book
				if err := json.Unmarshal([]byte(body), &got); err != nil || status != 200 || got != added {
					t.Errorf("%d %s, want %+v", status, body, added)
				}
			})
			t.Run("GET of an unknown book is HTTP 404 with the service's message", func(t *testing.T) {
				status, body := call(t, "GET", url+"/v1/books/42", "", "")
				if status != 404 || !strings.Contains(body, `no book has id \"42\"`) {
					t.Errorf("%d %s", status, body)
				}
			})
			t.Run("a book without a title is HTTP 400, the service's invalid argument", func(t *testing.T) {
				status, body := call(t, "POST", url+"/v1/books", "application/json", `{"author":"nobody"}`)
				if status != 400 || !strings.Contains(body, "a book needs a title") {
					t.Errorf("%d %s", status, body)
				}
			})
			t.Run("Connect's unary JSON calls the method by its name", func(t *testing.T) {
				status, body := call(t, "POST", url+"/bookstore.v1.Bookstore/GetBook", "application/json", `{"id":"2"}`)
				if status != 200 || !strings.Contains(body, "Structure and Interpretation of Computer Programs") {
					t.Errorf("%d %s", status, body)
				}
			})
			t.Run("malformed JSON is HTTP 400, and the gateway serves on", func(t *testing.T) {
				status, body := call(t, "POST", url+"/bookstore.v1.Bookstore/GetBook", "application/json", `{"id":`)
				if status != 400 || !strings.Contains(body, "invalid_argument") {
					t.Errorf("%d %s", status, body)
				}
				if status, _ := call(t, "GET", url+"/v1/books/1", "", ""); status != 200 {
					t.Errorf("after it: %d", status)
				}
			})
		})
	}
}
