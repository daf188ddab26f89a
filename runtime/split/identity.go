package split

import (
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/state"
)

// NativeCaller is the identity of a client that calls an app's services
// from native Go rather than from a guest, as the topology-test harness
// (package apptest) does: it may call every service. No guest can have this
// name, since a guest's name starts with a letter.
const NativeCaller = "_native"

// Gateway is a gateway of the app as split mode knows it: a NATS identity
// of its own (GatewayIdentity), which may call the services of the guests
// it serves and nothing else, as a program requiring them may.
type Gateway struct {
	Name   string
	Guests []string // the services it serves
}

// GatewayIdentity is the NATS identity of the gateway name. No guest can
// have it, since a guest's name starts with a letter.
func GatewayIdentity(name string) string { return gatewayPrefix + name }

const gatewayPrefix = "_gateway-"

// GatewayOf returns the name of the gateway whose identity is identity, and
// whether it is a gateway's.
func GatewayOf(identity string) (string, bool) { return strings.CutPrefix(identity, gatewayPrefix) }

// identityText names an identity for people: "service orders", "gateway public".
func identityText(g *host.GuestSpec) string {
	if name, ok := GatewayOf(g.Name); ok {
		return "gateway " + name
	}
	return g.Kind.String() + " " + g.Name
}

// WithGateways returns guests followed by a program-like spec for each
// gateway, named by its identity: what grantFor, the embedded server's
// users and nats-config's users take, so that a gateway's grant is written
// by the one rule.
func WithGateways(guests []*host.GuestSpec, gateways []Gateway) []*host.GuestSpec {
	out := slices.Clone(guests)
	for _, g := range gateways {
		out = append(out, &host.GuestSpec{Name: GatewayIdentity(g.Name), Kind: host.Program, Requires: g.Guests})
	}
	return out
}

// StateAdmin is the identity that makes an app's buckets and streams in
// the embedded server: the supervisor's, for a moment before any child
// starts. Guests only use what it made.
const StateAdmin = "_state"

// StateClient is the identity of a native client of an app's stores and
// topics, from outside any guest, as the topology-test harness's store
// and topic handles (package apptest) are: it may read and write every
// store, publish to every topic and read its messages (state.TopicReader),
// and nothing else. Only the embedded server knows it, and only when the
// caller asks for it (StartStateServer's extra). No guest can have this
// name, since a guest's name starts with a letter.
const StateClient = "_stateclient"

// subjects are the NATS subjects of one app: the one place their form is
// written, used by the Network that carries the calls and by the grants
// that permit them.
type subjects struct{ app string }

func (s subjects) root() string { return "parigot." + s.app }

// call is where calls of a proto service go; its servers subscribe in a
// queue group named after their guest.
func (s subjects) call(service string) string { return s.root() + ".call." + service }

// ready is where a guest's ready replicas answer readiness requests.
func (s subjects) ready(guest string) string { return s.root() + ".ready." + guest }

// reply is the root of the reply subjects of the calls a guest makes:
// reply.<nuid>.<callee guest>.<call id>, see Network.inbox.
func (s subjects) reply(caller string) string { return s.root() + ".reply." + caller }

// given is where caller says which of its calls to the replicas of the
// service guest, that went through the NATS server, it gave up (given.go);
// every replica of guest subscribes to given(guest, "*").
func (s subjects) given(guest, caller string) string {
	return s.root() + ".given." + guest + "." + caller
}

// announce is where the replicas of guest say that one of them became
// ready, for its callers to ask for its offer (announce.go).
func (s subjects) announce(guest string) string { return s.root() + ".here." + guest }

// isAnnounce reports whether subject is an announcement subject of the app.
func (s subjects) isAnnounce(subject string) bool {
	return strings.HasPrefix(subject, s.root()+".here.")
}

// program is where the process running program name answers, so that
// another machine does not run it too (program.go).
func (s subjects) program(name string) string { return s.root() + ".program." + name }

// isProgram reports whether subject is a program subject of the app.
func (s subjects) isProgram(subject string) bool {
	return strings.HasPrefix(subject, s.root()+".program.")
}

// isGiven reports whether subject is a given-up subject of the app.
func (s subjects) isGiven(subject string) bool { return strings.HasPrefix(subject, s.root()+".given.") }

// caller is the guest a reply subject (see reply) belongs to; empty when
// subject is no reply subject of the app.
func (s subjects) caller(subject string) string {
	rest, ok := strings.CutPrefix(subject, s.reply(""))
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, ".")
	return name
}

// inbox is the inbox prefix of a guest's connection (nats.CustomInboxPrefix),
// where the answers to its readiness requests arrive. It replaces the
// connection's default "_INBOX", which every client would otherwise need
// to read.
func (s subjects) inbox(who string) string { return s.root() + ".inbox." + who }

// grant is what one identity (a guest, or NativeCaller) may do on NATS: the
// least its connection needs, and nothing of any other guest's traffic.
// The embedded server gets it as server.Permissions (permissions), an
// operator's server as configuration text (AuthorizationConfig): one rule,
// two renderings.
type grant struct {
	// publish lists the subjects it may publish to: the calls, the
	// readiness subjects and, under its own name, the given-up subjects
	// of the services it requires; a service's own announcement subject.
	publish []string
	// subscribe lists the subjects it may subscribe to; "subject queue"
	// allows only a queue subscription in that group.
	subscribe []string
	// responses, when not zero, lets it answer each request it receives,
	// once, for that long after it received it: the replies of a service.
	responses time.Duration
}

// grantFor is what guest name of an app with these guests may do; name may
// also be NativeCaller, which calls every service. Replicas of a guest
// share its grant: they run the same code with the same manifest entry, and
// on several machines (--only) the operator's configuration cannot depend
// on how many run where.
func grantFor(app string, guests []*host.GuestSpec, name string) grant {
	subj := subjects{app}
	var g grant
	var calls []*host.GuestSpec // the guests whose services name calls
	if name == StateAdmin {
		g.publish = []string{"$JS.API.>"}
	} else if name == NativeCaller {
		for _, o := range guests {
			if o.Kind == host.Service {
				calls = append(calls, o)
			}
		}
	} else if spec := host.FindGuest(guests, name); spec != nil {
		for _, r := range spec.Requires {
			if o := host.FindGuest(guests, r); o != nil {
				calls = append(calls, o)
			}
		}
		g.publish = append(g.publish, stateGrant(app, spec)...)
		if spec.Kind == host.Service {
			for _, svc := range spec.Implements {
				g.subscribe = append(g.subscribe, subj.call(svc)+" "+name)
			}
			g.subscribe = append(g.subscribe, subj.ready(name), subj.given(name, "*"))
			g.publish = append(g.publish, subj.announce(name))
			g.responses = replyWindow(spec.MethodTimeout)
		}
	}
	for _, o := range calls {
		for _, svc := range o.Implements {
			g.publish = append(g.publish, subj.call(svc))
		}
		g.publish = append(g.publish, subj.ready(o.Name), subj.given(o.Name, name))
		g.subscribe = append(g.subscribe, subj.announce(o.Name))
	}
	if spec := host.FindGuest(guests, name); spec != nil && spec.Kind == host.Program {
		if _, gateway := GatewayOf(name); !gateway {
			// It asks whether it runs elsewhere, and answers that it runs.
			g.publish = append(g.publish, subj.program(name))
			g.subscribe = append(g.subscribe, subj.program(name))
			g.responses = programAnswer
		}
	}
	// Every connection reads its own replies and readiness answers, even a
	// guest that calls nothing: harmless, and no subscribe list is empty
	// (an empty allow list would mean "everything" to the server).
	g.subscribe = append(g.subscribe, subj.reply(name)+".>", subj.inbox(name)+".>")
	return g
}

// stateGrant is what guest spec may publish to use the stores and topics
// its uses lists, and to take the messages of its subscriptions: the
// JetStream API subjects of those buckets, streams and consumers only.
// The answers come to its inbox, which it reads already.
func stateGrant(app string, spec *host.GuestSpec) []string {
	var pub []string
	for _, u := range spec.Uses {
		kind, name, _ := strings.Cut(u, ".")
		switch kind {
		case "store":
			pub = append(pub, "$KV."+state.Bucket(app, name)+".>") // writes
			pub = append(pub, state.StoreReadSubjects(app, name)...)
		case "topic":
			pub = append(pub, state.TopicSubject(app, name), "$JS.API.STREAM.INFO."+state.Stream(app, name))
		}
	}
	for _, sub := range spec.Subscriptions {
		stream, durable := state.Stream(app, sub.Topic), spec.Name
		pub = append(pub,
			"$JS.API.CONSUMER.CREATE."+stream+"."+durable, "$JS.API.CONSUMER.CREATE."+stream+"."+durable+".>",
			"$JS.API.CONSUMER.DURABLE.CREATE."+stream+"."+durable,
			"$JS.API.CONSUMER.INFO."+stream+"."+durable,
			"$JS.API.CONSUMER.MSG.NEXT."+stream+"."+durable,
			"$JS.ACK."+stream+"."+durable+".>",
			state.DeadSubject(app, sub.Topic),
		)
	}
	return pub
}

// stateClientGrant is what StateClient may do on the stores and topics
// of st: what a guest that uses them all may, and read the topics'
// messages.
func stateClientGrant(app string, st *State) grant {
	all := &host.GuestSpec{Name: StateClient}
	for _, s := range st.Stores {
		all.Uses = append(all.Uses, "store."+s.Name)
	}
	for _, t := range st.Topics {
		all.Uses = append(all.Uses, "topic."+t.Name)
	}
	g := grant{publish: stateGrant(app, all), subscribe: []string{subjects{app}.inbox(StateClient) + ".>"}}
	for _, t := range st.Topics {
		g.publish = append(g.publish, state.TopicReadSubjects(app, t.Name)...)
	}
	return g
}

// programAnswer is how long a program may answer a question on its
// subject (see grantFor): at once, but on a busy machine not always
// within the asker's wait.
const programAnswer = time.Minute

// replyMargin is the slack between a service's budget and the end of its
// right to answer: time a call spends queued on its way, and in the
// service's client before the service sees it.
const replyMargin = time.Minute

// replyWindow is how long a service may answer a call after the server
// delivered it (allow_responses' expiry): its caller waits at most the
// service's budget, so a later reply would never be read.
func replyWindow(budget time.Duration) time.Duration { return budget + replyMargin }

// lateReply is how long after a call arrived its service still sends the
// reply (see remoteCaller): past the caller's deadline, and well within
// replyWindow, so the server never has to refuse a reply and a refusal
// always means a misconfigured server.
func lateReply(budget time.Duration) time.Duration { return budget + replyMargin/2 }

// permissions renders g for the embedded server.
func (g grant) permissions() *server.Permissions {
	p := &server.Permissions{Publish: subjectPermission(g.publish), Subscribe: subjectPermission(g.subscribe)}
	if g.responses > 0 {
		p.Response = &server.ResponsePermission{MaxMsgs: 1, Expires: g.responses}
	}
	return p
}

// subjectPermission allows exactly the subjects given. Nothing to allow is
// written as a deny of everything: the server reads an empty allow list as
// no restriction at all.
func subjectPermission(allow []string) *server.SubjectPermission {
	if len(allow) == 0 {
		return &server.SubjectPermission{Deny: []string{">"}}
	}
	return &server.SubjectPermission{Allow: slices.Clone(allow)}
}
