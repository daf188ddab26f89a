package split

import "sync"

// saidOnce is a set of the things a process has said, keyed by what they
// are about (a replica, a caller), so that each is said once however
// often it is seen: a replica of another version asked again for offers,
// a replica built from other sources found again. Safe for concurrent
// use; the zero value is empty.
type saidOnce struct {
	mu   sync.Mutex
	said map[string]bool
}

// first reports whether key is new, and notes it.
func (s *saidOnce) first(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.said[key] {
		return false
	}
	if s.said == nil {
		s.said = map[string]bool{}
	}
	s.said[key] = true
	return true
}
