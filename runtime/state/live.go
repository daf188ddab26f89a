package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// liveFile is the file, in a data directory, by which the run holding it
// says how to reach its embedded server (see Live).
const liveFile = ".parigot.live"

// Live is how a parigot state command of another process joins the
// embedded JetStream server of the run that holds a data directory: the
// run writes it in the directory (PublishLive) once its server serves,
// readable by its user alone, and removes it when it ends. A killed run leaves it
// behind: whoever holds the directory next removes it as it takes the
// lock (see lockDir), and ReadLive trusts only the file of the process
// that holds the lock.
type Live struct {
	PID int    `json:"pid"` // the run's process, which holds the directory
	URL string `json:"url"` // the server's client URL, on loopback
	// Seed is the nkey seed of the server's user for parigot state
	// (InspectorUser): it may read the app's stores and topics, publish
	// to its topics and remove their dead letters, and nothing else.
	Seed string `json:"seed"`
}

// InspectorInbox is where the answers to a parigot state connection to a
// live run come: the one subject its user may read.
func InspectorInbox(app string) string { return "parigot." + app + ".inspect" }

// InspectorUser makes the user of a run's embedded server that parigot
// state joins it as (see Live): its nkey seed, and the user, whose
// permissions are what an Inspector does on the app's stores and topics.
func InspectorUser(app string, stores []StoreSpec, topics []TopicSpec) (seed string, user *server.NkeyUser, err error) {
	seed, pub, err := NewNkey()
	if err != nil {
		return "", nil, fmt.Errorf("making the NATS key of parigot state: %w", err)
	}
	var pubs []string
	for _, s := range stores {
		pubs = append(pubs, StoreReadSubjects(app, s.Name)...)
	}
	for _, t := range topics {
		stream := Stream(app, t.Name)
		pubs = append(pubs,
			"$JS.API.STREAM.INFO."+stream,
			"$JS.API.STREAM.MSG.GET."+stream,
			"$JS.API.DIRECT.GET."+stream, "$JS.API.DIRECT.GET."+stream+".>",
			"$JS.API.STREAM.MSG.DELETE."+stream, // a dead letter redelivered
			TopicSubject(app, t.Name),           // a dead letter's message, published again
		)
	}
	perms := &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: pubs},
		Subscribe: &server.SubjectPermission{Allow: []string{InspectorInbox(app) + ".>"}},
	}
	if len(pubs) == 0 { // an empty allow list would allow everything
		perms.Publish.Deny = []string{">"}
	}
	return seed, &server.NkeyUser{Nkey: pub, Permissions: perms}, nil
}

// StoreReadSubjects are the JetStream API subjects a client publishes to
// in order to read store of app: its keys and values.
func StoreReadSubjects(app, store string) []string {
	stream := "KV_" + Bucket(app, store)
	return []string{
		"$JS.API.STREAM.INFO." + stream,
		"$JS.API.DIRECT.GET." + stream, "$JS.API.DIRECT.GET." + stream + ".>", // values
		"$JS.API.STREAM.MSG.GET." + stream,
		"$JS.API.CONSUMER.CREATE." + stream, "$JS.API.CONSUMER.CREATE." + stream + ".>", // listing keys
		"$JS.API.CONSUMER.DELETE." + stream + ".>",
		"$JS.FC." + stream + ".>",
		// Each key a listing delivers carries an ack subject as its reply.
		// A service's user may answer whatever it receives for a while
		// (allow_responses), and the server keeps each reply subject it
		// may not publish to already until then: a minute of every key
		// listed, which for a store of thousands of keys listed often came
		// to hundreds of MB in the server, and most of a core spent
		// pruning them. Allowed, they are not kept; the listing's consumer
		// takes no acks, so an ack changes nothing.
		"$JS.ACK." + stream + ".>",
	}
}

// NewNkey makes a NATS user key: its seed (the secret) and public key.
func NewNkey() (seed, pub string, err error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return "", "", err
	}
	defer kp.Wipe()
	raw, err := kp.Seed()
	if err != nil {
		return "", "", err
	}
	pub, err = kp.PublicKey()
	return string(raw), pub, err
}

// PublishLive writes l in dir, which this process holds (JetStreamDir),
// readable by its user alone, replacing what a killed run left there.
// remove takes it away, before the server stops.
func PublishLive(dir string, l Live) (remove func(), err error) {
	b, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, liveFile+"-") // 0600
	if err != nil {
		return nil, fmt.Errorf("writing how parigot state reaches this run: %w", err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	name := filepath.Join(dir, liveFile)
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
		return nil, fmt.Errorf("writing how parigot state reaches this run: %w", err)
	}
	return func() { os.Remove(name) }, nil
}

// NotLiveError is a data directory held by a run that says no way to
// reach its server: it is starting and has not said it yet, or it is a
// run of a parigot that does not.
type NotLiveError struct {
	Dir string
	PID int // the holder's, as it recorded it; 0: unknown
}

func (e *NotLiveError) Error() string {
	who := (&InUseError{Dir: e.Dir, PID: e.PID}).Holder()
	return fmt.Sprintf("the data directory %s is in use by %s, which says no way to reach its JetStream server (no current %s in it): if it has just started, try again in a moment; a run of an older parigot takes no connections from outside its process: stop it first", e.Dir, who, liveFile)
}

// ReadLive is how to reach the server of the run that holds a data
// directory, inUse (from JetStreamDir): what that run published there. A
// file that the holder did not write (a killed run's, not yet replaced)
// is a *NotLiveError, as is none.
func ReadLive(inUse *InUseError) (Live, error) {
	name := filepath.Join(inUse.Dir, liveFile)
	b, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return Live{}, &NotLiveError{Dir: inUse.Dir, PID: inUse.PID}
	}
	if err != nil {
		return Live{}, fmt.Errorf("reading how to reach the run that holds %s: %w", inUse.Dir, err)
	}
	var l Live
	if err := json.Unmarshal(b, &l); err != nil || l.URL == "" || l.Seed == "" {
		return Live{}, fmt.Errorf("%s is not what parigot run writes there (%s): remove it, it is written anew by the next run", name, describe(err))
	}
	if inUse.PID == 0 || l.PID != inUse.PID {
		return Live{}, &NotLiveError{Dir: inUse.Dir, PID: inUse.PID}
	}
	return l, nil
}

func describe(err error) string {
	if err != nil {
		return err.Error()
	}
	return "no url or seed"
}

// Connect joins the run's server as parigot state of app. The connection
// does not reconnect: the run ending ends it.
func (l Live) Connect(app string) (*nats.Conn, error) {
	kp, err := nkeys.FromSeed([]byte(l.Seed))
	if err != nil {
		return nil, fmt.Errorf("the key the run (process %d) published is not an nkey seed: %w", l.PID, err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(l.URL, nats.Name("parigot "+app+"/state"), nats.Nkey(pub, kp.Sign),
		nats.CustomInboxPrefix(InspectorInbox(app)), nats.MaxReconnects(0))
	if err != nil {
		return nil, fmt.Errorf("joining the JetStream server of the run that holds the data directory (process %d) at %s: %w; if that run has just ended, try again", l.PID, l.URL, err)
	}
	return nc, nil
}
