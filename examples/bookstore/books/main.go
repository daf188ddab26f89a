// Command books is the bookstore's service: it keeps the shelf of books in
// memory. Its methods run one at a time on the service's event loop, so the
// shelf needs no lock.
package main

import (
	"context"
	"fmt"

	bookstorev1 "parigot.dev/parigot/examples/bookstore/gen/bookstore/v1"
	"parigot.dev/parigot/runtime/guest"
)

func main() {
	bookstorev1.RunBookstore(newShelf())
}

// shelf holds the books, by id and in the order they were added.
type shelf struct {
	byID  map[string]*bookstorev1.Book
	order []string
}

// newShelf returns a shelf with the two books every bookstore has.
func newShelf() *shelf {
	s := &shelf{byID: map[string]*bookstorev1.Book{}}
	s.add(&bookstorev1.Book{Title: "The Go Programming Language", Author: "Alan Donovan, Brian Kernighan"})
	s.add(&bookstorev1.Book{Title: "Structure and Interpretation of Computer Programs", Author: "Harold Abelson, Gerald Sussman"})
	return s
}

func (s *shelf) GetBook(ctx context.Context, req *bookstorev1.GetBookRequest) *guest.Future[*bookstorev1.Book] {
	return guest.Completed(s.get(req.GetId()))
}

func (s *shelf) ListBooks(ctx context.Context, req *bookstorev1.ListBooksRequest) *guest.Future[*bookstorev1.ListBooksResponse] {
	return guest.Completed(s.list(), nil)
}

func (s *shelf) AddBook(ctx context.Context, req *bookstorev1.AddBookRequest) *guest.Future[*bookstorev1.Book] {
	b := req.GetBook()
	if b.GetTitle() == "" {
		return guest.Completed[*bookstorev1.Book](nil, guest.Errorf(guest.CodeInvalidArgument, "a book needs a title"))
	}
	return guest.Completed(s.add(&bookstorev1.Book{Title: b.GetTitle(), Author: b.GetAuthor()}), nil)
}

// get returns the book id, or a not-found error.
func (s *shelf) get(id string) (*bookstorev1.Book, error) {
	b := s.byID[id]
	if b == nil {
		return nil, guest.Errorf(guest.CodeNotFound, "no book has id %q", id)
	}
	return b, nil
}

// list returns every book, in the order they were added.
func (s *shelf) list() *bookstorev1.ListBooksResponse {
	resp := &bookstorev1.ListBooksResponse{}
	for _, id := range s.order {
		resp.Books = append(resp.Books, s.byID[id])
	}
	return resp
}

// add puts b on the shelf with the next id and returns it.
func (s *shelf) add(b *bookstorev1.Book) *bookstorev1.Book {
	b.Id = fmt.Sprint(len(s.order) + 1)
	s.byID[b.Id] = b
	s.order = append(s.order, b.Id)
	return b
}
