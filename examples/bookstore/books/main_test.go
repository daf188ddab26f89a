package main

import (
	"errors"
	"testing"

	bookstorev1 "parigot.dev/parigot/examples/bookstore/gen/bookstore/v1"
	"parigot.dev/parigot/runtime/guest"
)

func TestShelf(t *testing.T) {
	s := newShelf()
	t.Run("a new shelf holds two books, with ids 1 and 2", func(t *testing.T) {
		if got := len(s.list().GetBooks()); got != 2 {
			t.Fatalf("%d books, want 2", got)
		}
		if b, err := s.get("2"); err != nil || b.GetAuthor() != "Harold Abelson, Gerald Sussman" {
			t.Errorf("get(2) = %v, %v", b, err)
		}
	})
	t.Run("an added book gets the next id", func(t *testing.T) {
		b := s.add(&bookstorev1.Book{Title: "Go in Practice"})
		if b.GetId() != "3" {
			t.Errorf("id %q, want 3", b.GetId())
		}
	})
	t.Run("an unknown id is not found", func(t *testing.T) {
		_, err := s.get("42")
		var gerr *guest.Error
		if !errors.As(err, &gerr) || gerr.Code != guest.CodeNotFound {
			t.Errorf("get(42): %v, want not found", err)
		}
	})
}
