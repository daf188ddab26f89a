package manifest

import (
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// bounds is what a numeric attribute (a duration, a count or a size) may
// say. A value outside is reported with the range, the default and why.
type bounds[T ~int64 | ~uint64] struct {
	min, max T
	def      string         // the default, as written in parigot.hcl: `"50ms"`, `1`
	why      string         // why the bounds are where they are, and what to do
	show     func(T) string // a bound as parigot.hcl writes it
}

// The bounds of each numeric attribute. The reasons are in why, which the
// diagnostics print, and in docs/MANIFEST.md.
var (
	methodTimeoutBounds = bounds[time.Duration]{
		min: MinMethodTimeout, max: MaxMethodTimeout, def: `"50ms"`, show: shortDuration,
		why: `A service answers nothing else while one of its methods runs, so a method needing longer should start the work and return an Id that the caller polls (see docs/GUEST_API.md, "Long work"). Less than 1ms is below what a deadline can be held to.`,
	}
	httpTimeoutBounds = bounds[time.Duration]{
		min: MinHTTPTimeout, max: MaxHTTPTimeout, def: `"30s"`, show: shortDuration,
		why: `A request ends at the earlier of its endpoint's timeout and the deadline of the method that sent it, and no method runs for more than an hour (method_timeout); work that takes longer should be started, and its result polled. Less than 1ms is below what a deadline can be held to.`,
	}
	replicasBounds = bounds[int64]{
		min: 1, max: 1 << 20, def: "1", show: showInt,
		why: "A service runs as at least one copy (to run none, remove the service), and more than a million copies is more than parigot can run.",
	}
	memoryLimitBounds = bounds[uint64]{
		min: 16 << 20, max: 4 << 30, def: `"256MiB"`, show: FormatSize,
		why: "A Go guest needs a few MiB to start, and wasm32 addresses at most 4GiB.",
	}
	inboxCallsBounds = bounds[int64]{
		min: 1, max: MaxInboxCalls, def: strconv.Itoa(DefaultInboxCalls), show: showInt,
		why: "At least 1, so that a call can reach the service at all; at most 65536, because calls wait one after the other, and past that many the last could not be answered within any method budget.",
	}
	inboxBytesBounds = bounds[uint64]{
		min: MinInboxBytes, max: MaxInboxBytes, def: `"64MiB"`, show: FormatSize,
		why: "At least 4MiB, the largest request one call may carry, so that any one call fits; at most 1GiB, because waiting requests are held in the host's own memory.",
	}
)

// inBounds reports whether v lies within b, and reports it at attr's value
// when it does not; written is the value as the manifest wrote it.
func inBounds[T ~int64 | ~uint64](d *decoder, attr *hcl.Attribute, b bounds[T], v T, written string) bool {
	if v >= b.min && v <= b.max {
		return true
	}
	d.errf(attr.Expr.Range(), attr.Name+" out of range",
		"%s is outside the range of %s: give from %s to %s, for example %s = %s (the default). %s",
		written, attr.Name, b.show(b.min), b.show(b.max), attr.Name, b.def, b.why)
	return false
}

// decodeDuration reads a duration attribute ("50ms") that must lie in b.
func (d *decoder) decodeDuration(attr *hcl.Attribute, b bounds[time.Duration]) (time.Duration, bool) {
	example := attr.Name + " = " + b.def
	s, ok := d.str(attr, example)
	if !ok {
		return 0, false
	}
	t, err := time.ParseDuration(s)
	if err != nil {
		d.errf(attr.Expr.Range(), "Invalid "+attr.Name,
			`%q is not a duration. Write a number followed by a unit (ns, us, ms, s, m, h), for example %s or "1m30s".`, s, example)
		return 0, false
	}
	return t, inBounds(d, attr, b, t, strconv.Quote(s))
}

// decodeWhole reads a whole-number attribute that must lie in b.
func (d *decoder) decodeWhole(attr *hcl.Attribute, b bounds[int64]) (int64, bool) {
	rng := attr.Expr.Range()
	v, diags := attr.Expr.Value(nil)
	d.diags = append(d.diags, diags...)
	if diags.HasErrors() || !v.IsKnown() {
		return 0, false
	}
	if v.IsNull() || v.Type() != cty.Number {
		d.errf(rng, "Incorrect type for "+attr.Name, "%s must be a whole number, not %s, for example %s = %s.", attr.Name, typeName(v), attr.Name, b.def)
		return 0, false
	}
	bf := v.AsBigFloat()
	written := bf.Text('g', 10)
	if !bf.IsInt() {
		d.errf(rng, "Invalid "+attr.Name, "%s must be a whole number, for example %s = %s; %s is not.", attr.Name, attr.Name, b.def, written)
		return 0, false
	}
	n, acc := bf.Int64()
	if acc != big.Exact { // beyond int64: out of any range
		n = b.max + 1
		if bf.Sign() < 0 {
			n = b.min - 1
		}
	}
	return n, inBounds(d, attr, b, n, written)
}

var sizeRE = regexp.MustCompile(`^([0-9]+)\s*(KiB|MiB|GiB)$`)

var sizeShifts = map[string]uint{"KiB": 10, "MiB": 20, "GiB": 30}

// decodeSize reads a size attribute ("256MiB") that must lie in b.
func (d *decoder) decodeSize(attr *hcl.Attribute, b bounds[uint64]) (uint64, bool) {
	example := attr.Name + " = " + b.def
	v, ok := d.str(attr, example)
	if !ok {
		return 0, false
	}
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		d.errf(attr.Expr.Range(), "Invalid "+attr.Name,
			`%q is not a size. Write a whole number and a unit, KiB, MiB or GiB, for example %s (the default).`, v, example)
		return 0, false
	}
	shift := sizeShifts[m[2]]
	n, err := strconv.ParseUint(m[1], 10, 64)
	if err != nil || n > b.max>>shift { // also keeps n<<shift from overflowing
		n, shift = b.max+1, 0
	}
	return n << shift, inBounds(d, attr, b, n<<shift, strconv.Quote(v))
}

// shortDuration writes d as a person would: "1h", not "1h0m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func showInt(n int64) string { return strconv.FormatInt(n, 10) }

// FormatSize writes n bytes as parigot.hcl writes a size, in the largest
// unit that divides it ("64MiB", "4GiB"), else in bytes: the one way
// parigot shows a size that the manifest sets.
func FormatSize(n uint64) string {
	for _, u := range []string{"GiB", "MiB", "KiB"} {
		if shift := sizeShifts[u]; n != 0 && n%(1<<shift) == 0 {
			return fmt.Sprintf("%d%s", n>>shift, u)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}
