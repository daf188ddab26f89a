package manifest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"parigot.dev/parigot/internal/suggest"
)

// The bounds of the attributes of store, topic and subscribe blocks.
var (
	stateReplicasBounds = bounds[int64]{
		min: 1, max: 5, def: "1", show: showInt,
		why: "JetStream keeps from 1 to 5 copies of a store or topic, each on another server of a NATS cluster; more than 1 needs a cluster (parigot run --nats).",
	}
	historyBounds = bounds[int64]{
		min: 1, max: 64, def: "1", show: showInt,
		why: "JetStream keeps at most 64 values per key.",
	}
	topicMaxAgeBounds = bounds[time.Duration]{
		min: time.Minute, max: 100 * 365 * 24 * time.Hour, def: `"720h"`, show: shortDuration,
		why: "A message is removed once older than max_age, whether its subscribers took it or not: less than a minute would remove messages before a subscriber that restarts could take them. Leave max_age out to keep every message.",
	}
	topicMaxBytesBounds = bounds[uint64]{
		min: 1 << 20, max: 1 << 50, def: `"1GiB"`, show: FormatSize,
		why: "The oldest messages are removed once the topic holds more than max_bytes, whether its subscribers took them or not: at least 1MiB, so that a few of the largest messages fit. Leave max_bytes out to keep every message.",
	}
	maxAttemptsBounds = bounds[int64]{
		min: 1, max: 1000, def: fmt.Sprint(DefaultMaxAttempts), show: showInt,
		why: "A message is delivered at least once; a message that failed a thousand times will not succeed the next time, so it goes to the topic's dead letters.",
	}
)

func (d *decoder) decodeStore(b *hcl.Block) {
	s := &Store{Name: b.Labels[0], Replicas: 1, History: 1, ValueRange: b.DefRange, DeclRange: b.DefRange}
	d.checkName(s.Name, b.LabelRanges[0], "store")
	content, diags := b.Body.Content(storeSchema)
	d.diags = append(d.diags, diags...)
	if attr := content.Attributes["replicas"]; attr != nil {
		if n, ok := d.decodeWhole(attr, stateReplicasBounds); ok {
			s.Replicas = int(n)
		}
	}
	if attr := content.Attributes["history"]; attr != nil {
		if n, ok := d.decodeWhole(attr, historyBounds); ok {
			s.History = int(n)
		}
	}
	if attr := content.Attributes["value"]; attr != nil {
		s.ValueRange = attr.Expr.Range()
		s.Value = d.decodeStoreValue(attr)
	}
	if first, ok := d.stores[s.Name]; ok {
		d.errf(b.LabelRanges[0], fmt.Sprintf("Duplicate store name %q", s.Name),
			"A store named %q is already declared at line %d. Rename one of them.", s.Name, first.DeclRange.Start.Line)
		return
	}
	d.stores[s.Name] = s
	d.app.Stores = append(d.app.Stores, s)
}

// decodeStoreValue reads a store's value attribute: the full name of a
// proto message, which CheckStoreValues looks for in the protos. A name
// that cannot be one is reported here, and is "".
func (d *decoder) decodeStoreValue(attr *hcl.Attribute) string {
	v, ok := d.str(attr, `value = "bank.v1.Account"`)
	if !ok {
		return ""
	}
	if !protoNameRE.MatchString(v) {
		detail := fmt.Sprintf(`value takes the full name of a proto message, its package and its name joined by dots, for example "bank.v1.Account"; %q is not one.`, v)
		if protoIdent.MatchString(v) {
			detail += fmt.Sprintf(` Add the package of its proto file: "<package>.%s".`, v)
		}
		d.errf(attr.Expr.Range(), "Invalid proto message name", "%s", detail)
		return ""
	}
	return v
}

func (d *decoder) decodeTopic(b *hcl.Block) {
	t := &Topic{Name: b.Labels[0], Replicas: 1, DeclRange: b.DefRange}
	d.checkName(t.Name, b.LabelRanges[0], "topic")
	content, diags := b.Body.Content(topicSchema)
	d.diags = append(d.diags, diags...)
	if attr := content.Attributes["replicas"]; attr != nil {
		if n, ok := d.decodeWhole(attr, stateReplicasBounds); ok {
			t.Replicas = int(n)
		}
	}
	if attr := content.Attributes["max_age"]; attr != nil {
		if age, ok := d.decodeDuration(attr, topicMaxAgeBounds); ok {
			t.MaxAge = age
		}
	}
	if attr := content.Attributes["max_bytes"]; attr != nil {
		if n, ok := d.decodeSize(attr, topicMaxBytesBounds); ok {
			t.MaxBytes = n
		}
	}
	if first, ok := d.topics[t.Name]; ok {
		d.errf(b.LabelRanges[0], fmt.Sprintf("Duplicate topic name %q", t.Name),
			"A topic named %q is already declared at line %d. Rename one of them.", t.Name, first.DeclRange.Start.Line)
		return
	}
	d.topics[t.Name] = t
	d.app.Topics = append(d.app.Topics, t)
}

// decodeUses records the syntactically valid entries of uses, "store.<name>",
// "topic.<name>" or "http.<name>"; which of them are declared is checked once every block
// is decoded.
func (d *decoder) decodeUses(attr *hcl.Attribute, g *Guest) {
	exprs, ok := d.list(attr, "uses = [store.accounts, topic.transfers, http.payments]")
	if !ok {
		return
	}
	seen := map[string]hcl.Range{}
	for _, e := range exprs {
		rng := e.Range()
		kind, name, ok := d.stateRef(e, "uses")
		if !ok {
			continue
		}
		ref := kind + "." + name
		if first, ok := seen[ref]; ok {
			d.errf(rng, "Duplicate uses entry", "%s is already listed at line %d; remove this entry.", ref, first.Start.Line)
			continue
		}
		seen[ref] = rng
		g.Uses = append(g.Uses, ref)
		g.UsesRanges = append(g.UsesRanges, rng)
	}
}

// stateRef reads a reference to what a guest uses, store.<name>,
// topic.<name> or http.<name>, reporting anything else as an entry of what
// (uses, or a subscription's topic, which names a topic or a store only).
func (d *decoder) stateRef(e hcl.Expression, what string) (kind, name string, ok bool) {
	rng := e.Range()
	refs, example := "a store, a topic or an http endpoint, written store.<name>, topic.<name> or http.<name>", what+" = [store.accounts, topic.transfers, http.payments]"
	if what != "uses" {
		refs, example = "a store or a topic, written store.<name> or topic.<name>", what+" = topic.transfers"
	}
	trav, tdiags := hcl.AbsTraversalForExpr(e)
	if tdiags.HasErrors() {
		if s, isStr := stringLiteral(e); isStr && nameRE.MatchString(s) {
			refs := fmt.Sprintf("store.%s, topic.%s or http.%s", s, s, s)
			if what != "uses" {
				refs = "topic." + s
			}
			d.errf(rng, "Quoted name in "+what,
				"%s takes references, not strings: write %s (without quotes) instead of %q.", what, refs, s)
		} else {
			d.errf(rng, "Invalid "+what+" entry",
				"Each %s entry is a reference to %s without quotes, for example %s.", what, refs, example)
		}
		return "", "", false
	}
	if len(trav) == 2 {
		if a, isAttr := trav[1].(hcl.TraverseAttr); isAttr {
			name = a.Name
		}
	}
	kind = trav.RootName()
	if (kind != UseStore && kind != UseTopic && (kind != UseHTTP || what != "uses")) || name == "" {
		d.errf(rng, "Invalid "+what+" entry",
			"Each %s entry is a reference to %s, for example %s.", what, refs, example)
		return "", "", false
	}
	return kind, name, true
}

// decodeSubscribe reads a subscribe block of service g.
func (d *decoder) decodeSubscribe(b *hcl.Block, g *Guest) {
	content, diags := b.Body.Content(subscribeSchema)
	d.diags = append(d.diags, diags...)
	s := &Subscription{MaxAttempts: DefaultMaxAttempts, DeclRange: b.DefRange, TopicRange: b.DefRange, MethodRange: b.DefRange}
	ok := true
	if attr := content.Attributes["topic"]; attr != nil {
		s.TopicRange = attr.Expr.Range()
		kind, name, refOK := d.stateRef(attr.Expr, "topic")
		switch {
		case !refOK:
			ok = false
		case kind != UseTopic:
			d.errf(s.TopicRange, "A subscription needs a topic",
				"%s.%s is a store; a service subscribes to a topic: write topic = topic.<name>.", kind, name)
			ok = false
		default:
			s.Topic = name
		}
	} else {
		ok = false
	}
	if attr := content.Attributes["method"]; attr != nil {
		s.MethodRange = attr.Expr.Range()
		m, strOK := d.str(attr, `method = "bank.v1.Audit/Record"`)
		if strOK {
			svc, meth, cut := strings.Cut(m, "/")
			switch {
			case !cut || !protoNameRE.MatchString(svc) || !protoIdent.MatchString(meth):
				d.errf(s.MethodRange, "Invalid subscription method",
					`%q is not a full method name. method names the method each message is delivered to, as "<proto service>/<method>", for example %q.`, m, exampleMethod(g))
				ok = false
			case !slices.Contains(g.Implements, svc) && suggest.Closest(svc, g.Implements) == "":
				d.diags = append(d.diags, unimplementedDiag(g, s.MethodRange, m))
				ok = false
			default:
				// A proto service near one the service implements is a
				// typo in one of the two, and the protos say which:
				// CheckImplements reports the implements entry, with the
				// name the protos define, or CheckSubscriptions this one.
				s.Method = m
			}
		} else {
			ok = false
		}
	} else {
		ok = false
	}
	if attr := content.Attributes["max_attempts"]; attr != nil {
		if n, nOK := d.decodeWhole(attr, maxAttemptsBounds); nOK {
			s.MaxAttempts = int(n)
		}
	}
	s.Start = d.decodeChoice(content.Attributes["start"], StartFirst, StartFirst, StartNew)
	if !ok {
		return
	}
	for _, other := range g.Subscriptions {
		if other.Topic == s.Topic {
			d.errf(s.TopicRange, "Duplicate subscription",
				"Service %q already subscribes to topic.%s at line %d. A service receives each message of a topic once; deliver it to one method, which may call others.", g.Name, s.Topic, other.DeclRange.Start.Line)
			return
		}
	}
	g.Subscriptions = append(g.Subscriptions, s)
}

// unimplementedDiag reports, at rng, the subscription of g to method, a
// method of a proto service g does not implement, with the method of the
// one it implements nearest, when one is near.
func unimplementedDiag(g *Guest, rng hcl.Range, method string) *hcl.Diagnostic {
	svc, meth, _ := strings.Cut(method, "/")
	detail := fmt.Sprintf("%s is not among the proto services service %q implements (%s); a subscription delivers messages to a method of the service itself.", svc, g.Name, strings.Join(g.Implements, ", "))
	if near := suggest.Closest(svc, g.Implements); near != "" {
		detail += fmt.Sprintf(" Did you mean %q?", near+"/"+meth)
	}
	return errAt(rng, "Subscription to a method the service does not implement", detail)
}

func exampleMethod(g *Guest) string {
	if len(g.Implements) > 0 {
		return g.Implements[0] + "/Record"
	}
	return "bank.v1.Audit/Record"
}

// checkUses reports uses entries and subscriptions that name no declared
// store or topic, and subscriptions to a topic not in the service's uses.
func (d *decoder) checkUses() {
	for _, g := range d.app.Guests() {
		for i, u := range g.Uses {
			kind, name, _ := strings.Cut(u, ".")
			if (kind == UseStore && d.stores[name] != nil) || (kind == UseTopic && d.topics[name] != nil) || (kind == UseHTTP && d.app.HTTPEndpoint(name) != nil) {
				continue
			}
			d.undeclared(g.UsesRanges[i], "uses", kind, name)
		}
		for _, s := range g.Subscriptions {
			if d.topics[s.Topic] == nil {
				d.undeclared(s.TopicRange, "topic", UseTopic, s.Topic)
				continue
			}
			listed := false
			for _, u := range g.Uses {
				listed = listed || u == UseTopic+"."+s.Topic
			}
			if !listed {
				d.errf(s.TopicRange, "Subscribed topic not in uses",
					"Service %q subscribes to topic.%s, which its uses does not list. Only the guests that list a topic in uses may touch it: add topic.%s to the uses of %q.", g.Name, s.Topic, s.Topic, g.Name)
			}
		}
	}
}

// undeclared reports a reference to a store or topic (kind) name that no
// block declares, unless a block that failed to decode meant to.
func (d *decoder) undeclared(rng hcl.Range, what, kind, name string) {
	if d.undecoded[kind+"."+name] {
		return // the block declaring it has an error of its own
	}
	var names []string
	switch kind {
	case UseStore:
		for _, s := range d.app.Stores {
			names = append(names, s.Name)
		}
	case UseTopic:
		for _, t := range d.app.Topics {
			names = append(names, t.Name)
		}
	case UseHTTP:
		for _, h := range d.app.HTTP {
			names = append(names, h.Name)
		}
	}
	noun := kind
	if kind == UseHTTP {
		noun = "http endpoint"
	}
	detail := fmt.Sprintf("%s names %s.%s, but %s declares no %s named %q.", what, kind, name, FileName, noun, name)
	if s := suggest.Closest(name, names); s != "" {
		detail += fmt.Sprintf(" Did you mean %s.%s?", kind, s)
	}
	if kind == UseHTTP {
		detail += fmt.Sprintf(" Fix the name, or declare it with an http %q { url = \"https://...\" } block.", name)
	} else {
		detail += fmt.Sprintf(" Fix the name, or declare it with a %s %q {} block.", kind, name)
	}
	d.errf(rng, fmt.Sprintf("No %s named %q is declared", noun, name), "%s", detail)
}

// CheckSubscriptions reports each subscription whose method is not a
// method of its proto service: methods holds the full names
// ("package.Service/Method") of the unary methods the compiled proto files
// define. A subscription to a service that no proto defines is left to
// CheckImplements, which runs first; one to a proto service the service
// does not implement, left by Parse because it is near one it does (a
// typo in one of the two, which only the protos tell apart), is reported
// here, once the implements entries are known to be right.
func (a *App) CheckSubscriptions(methods map[string]bool) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, g := range a.Services {
		for _, s := range g.Subscriptions {
			svc, _, _ := strings.Cut(s.Method, "/")
			if !slices.Contains(g.Implements, svc) {
				diags = append(diags, unimplementedDiag(g, s.MethodRange, s.Method))
				continue
			}
			if methods[s.Method] {
				continue
			}
			var same []string
			for m := range methods {
				if strings.HasPrefix(m, svc+"/") {
					same = append(same, m)
				}
			}
			if len(same) == 0 {
				continue
			}
			detail := fmt.Sprintf("%s defines no unary method %s.", svc, strings.TrimPrefix(s.Method, svc+"/"))
			if c := suggest.Closest(s.Method, same); c != "" {
				detail += fmt.Sprintf(" Did you mean %q?", c)
			}
			detail += " A subscription delivers each message of the topic as the request of that method."
			diags = append(diags, errAt(s.MethodRange, fmt.Sprintf("Unknown method %q", s.Method), detail))
		}
	}
	return diags
}

// CheckStoreValues reports each store whose value names a message not in
// messages (the full names of the messages the compiled proto files and
// their imports define), at its value attribute, with the message meant
// when one is near, or of the same name in another package.
func (a *App) CheckStoreValues(messages map[string]bool) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, s := range a.Stores {
		if s.Value == "" || messages[s.Value] {
			continue
		}
		var names, sameName []string
		short := s.Value[strings.LastIndexByte(s.Value, '.')+1:]
		for m := range messages {
			names = append(names, m)
			if strings.HasSuffix(m, "."+short) {
				sameName = append(sameName, m)
			}
		}
		slices.Sort(names)
		detail := fmt.Sprintf("Store %q holds %s values, but no proto file of the app (nor a file it imports) defines a message %s.", s.Name, s.Value, s.Value)
		near := suggest.Closest(s.Value, names)
		if near == "" && len(sameName) == 1 {
			near = sameName[0]
		}
		if near != "" {
			detail += fmt.Sprintf(" Did you mean %q?", near)
		} else {
			detail += " Fix the name (the message's package, a dot, and its name, as its .proto file declares them), or list the proto file that defines it in a proto block."
		}
		diags = append(diags, errAt(s.ValueRange, fmt.Sprintf("Unknown proto message %q", s.Value), detail))
	}
	return diags
}
