package abi

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestAStateRequestSurvivesEncoding(t *testing.T) {
	r := StateRequest{Key: "acct/alice", Revision: 7, TTL: 3e9, Value: []byte("100")}
	got, err := DecodeStateRequest(r.Encode(nil))
	if err != nil || got.Key != r.Key || got.Revision != r.Revision || got.TTL != r.TTL || !bytes.Equal(got.Value, r.Value) {
		t.Errorf("decoded %+v, %v; want %+v", got, err, r)
	}
	enc := r.Encode(nil)
	for n := 0; n < stateHeader+len(r.Key); n++ {
		if _, err := DecodeStateRequest(enc[:n]); err == nil {
			t.Errorf("a request cut to %d bytes decoded", n)
		}
	}
}

func TestKeysAndEntriesSurviveEncoding(t *testing.T) {
	keys := []string{"a", "", "b.c"}
	got, err := DecodeKeys(EncodeKeys(keys))
	if err != nil || !slices.Equal(got, keys) {
		t.Errorf("keys %q, %v", got, err)
	}
	if _, err := DecodeKeys([]byte{9, 0, 0, 0, 'x'}); err == nil {
		t.Error("a key longer than its reply decoded")
	}
	e := StateEntry{Revision: 3, Value: []byte("v")}
	ge, err := DecodeStateEntry(e.Encode(nil))
	if err != nil || ge.Revision != 3 || string(ge.Value) != "v" {
		t.Errorf("entry %+v, %v", ge, err)
	}
}

func TestValidKey(t *testing.T) {
	for key, want := range map[string]bool{
		"alice": true, "acct/alice": true, "a.b": true, "A-Z_0=9": true,
		"": false, ".a": false, "a.": false, "a..b": false, "a b": false, "a*": false, "a>": false, "é": false,
		string(make([]byte, MaxKey+1)): false,
	} {
		if got := ValidKey(key); got != want {
			t.Errorf("ValidKey(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestValidKeyFilter(t *testing.T) {
	for filter, want := range map[string]bool{
		"alice": true, "acct.*": true, "acct.>": true, "*.x": true, ">": true, "a.*.>": true,
		"": false, "a b": false, "a..": false, ">.a": false, "a*": false, "a.>x": false,
	} {
		if got := ValidKeyFilter(filter); got != want {
			t.Errorf("ValidKeyFilter(%q) = %v, want %v", filter, got, want)
		}
	}
}

func TestShowKeyCutsALongKey(t *testing.T) {
	if got := ShowKey("alice"); got != `"alice"` {
		t.Errorf("ShowKey(alice) = %s", got)
	}
	if got := ShowKey(strings.Repeat("\xff", 1<<20)); len(got) > 400 || !strings.HasSuffix(got, "... (1048576 bytes)") {
		t.Errorf("ShowKey of a key of a MiB is %d bytes: %.80s", len(got), got)
	}
}

func FuzzDecodeStateRequest(f *testing.F) {
	f.Add((&StateRequest{Key: "k", Value: []byte("v")}).Encode(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeStateRequest(b)
		if err != nil {
			return
		}
		if again := r.Encode(nil); !bytes.Equal(again, b) {
			t.Errorf("re-encoding changed the request")
		}
	})
}
