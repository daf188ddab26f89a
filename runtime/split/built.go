package split

import (
	"io"
	"strings"
)

// Fingerprint says what the build of one proto service was made from
// (builder.Fingerprint, which has the same fields): a replica's offer
// carries those of its services, and a caller whose own differ says once
// that the two were built from different sources (see
// directClient.compareBuilds). Computed once when a process starts;
// nothing is compared per call.
type Fingerprint struct {
	Protos      string `json:"protos,omitempty"`
	Declaration string `json:"declaration,omitempty"`
}

// Built gives n the fingerprints of the app's proto services as this
// process's build made them, by full name: its offers carry those of
// the services it serves, and it compares those of the replicas it
// finds with them. Set before it serves or calls; nil: nothing is
// compared.
func (n *Network) Built(prints map[string]Fingerprint) {
	n.builds = prints
}

// SayTo has n write what it says of its own (a lost NATS server,
// replicas built from other sources, ...) to w, one line each; nil:
// nowhere. A child's network says it on its stderr; a gateway's, on its
// run's. Safe while the connection's handlers run.
func (n *Network) SayTo(w io.Writer) {
	n.warnMu.Lock()
	n.warn = w
	n.warnMu.Unlock()
}

// buildsOf is the fingerprints of guest's services, for its offers; nil
// when n knows none.
func (n *Network) buildsOf(guest string) map[string]Fingerprint {
	var out map[string]Fingerprint
	for svc, g := range n.owner {
		if g.Name != guest {
			continue
		}
		if p, ok := n.builds[svc]; ok {
			if out == nil {
				out = map[string]Fingerprint{}
			}
			out[svc] = p
		}
	}
	return out
}

// compareBuilds says once, for each replica and service, that the
// replica o describes was built from other sources than this process:
// its fingerprint of a service differs from this process's. Calls still
// go to it: a rolling upgrade that adds a field or a method is
// legitimate, and protobuf's rules carry it.
func (d *directClient) compareBuilds(o directOffer) {
	for svc, theirs := range o.Builds {
		ours, ok := d.net.builds[svc]
		if !ok {
			continue
		}
		var what string
		switch {
		case theirs.Protos != "" && ours.Protos != "" && theirs.Protos != ours.Protos:
			what = "other protos for " + svc
		case theirs.Declaration != "" && ours.Declaration != "" && theirs.Declaration != ours.Declaration:
			what = "another parigot.hcl declaration of " + o.Guest + " (serving " + svc + ")"
		default:
			continue
		}
		key := o.Machine + "/" + o.Label + "/" + svc
		if d.builtSaid.first(key) {
			d.net.warnf("%s (machine %s) was built from %s than this process: build every machine from the same sources; during a rolling upgrade, upgrade services before their callers",
				replicaName(o), shortMachine(o.Machine), what)
		}
	}
}

// replicaName names the replica o describes in what its callers say.
func replicaName(o directOffer) string {
	if o.Label != "" {
		return "replica " + o.Label
	}
	return "a replica of " + o.Guest
}

// shortMachine is the first characters of a machine's id (machineID),
// enough to tell the app's machines apart in a line.
func shortMachine(id string) string {
	id = strings.TrimSpace(id)
	if len(id) > 8 {
		return id[:8] + "…"
	}
	return id
}
