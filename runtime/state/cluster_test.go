package state

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"parigot.dev/parigot/runtime/internal/abi"
)

// freePorts returns n ports free on loopback a moment ago: a cluster's
// routes must be known before its servers start.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// startCluster starts a JetStream cluster of n servers on loopback.
func startCluster(t *testing.T, n int) []*server.Server {
	t.Helper()
	ports := freePorts(t, n)
	var routes []*url.URL
	for _, p := range ports {
		routes = append(routes, &url.URL{Scheme: "nats", Host: "127.0.0.1:" + strconv.Itoa(p)})
	}
	var servers []*server.Server
	for i := range n {
		ns, err := server.NewServer(&server.Options{
			ServerName: fmt.Sprintf("n%d", i+1),
			Host:       "127.0.0.1",
			Port:       server.RANDOM_PORT,
			JetStream:  true,
			StoreDir:   t.TempDir(),
			Cluster:    server.ClusterOpts{Name: "parigot-test", Host: "127.0.0.1", Port: ports[i]},
			Routes:     routes,
			NoLog:      true,
			NoSigs:     true,
		})
		if err != nil {
			t.Fatal(err)
		}
		go ns.Start()
		servers = append(servers, ns)
		t.Cleanup(ns.Shutdown)
	}
	for _, ns := range servers {
		if !ns.ReadyForConnections(time.Minute) {
			t.Fatalf("server %s did not start", ns.Name())
		}
	}
	return servers
}

func TestAThreeReplicaStoreLosesNoAcknowledgedWriteWhenANodeDies(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of three JetStream servers")
	}
	servers := startCluster(t, 3)
	var urls []string
	for _, ns := range servers {
		urls = append(urls, ns.ClientURL())
	}
	nc, err := nats.Connect(strings.Join(urls, ","), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	// The cluster elects its meta leader when it is ready: until then,
	// making a bucket fails.
	var e *Engine
	deadline := time.Now().Add(2 * time.Minute)
	for {
		e, err = Open(t.Context(), nc, Options{App: "test", Stores: []StoreSpec{{Name: "accounts", Replicas: 3}}, Create: true})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("making a 3-replica bucket: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	defer e.Close()
	st := e.Endpoint(abi.OpenStore, "accounts")
	w := newWaiter()

	// Write, one after the other; take the node the client is connected to
	// down after 100 acknowledged writes, and go on until 300 are. A write
	// that fails while the cluster fails over is not acknowledged, and is
	// tried again under another key.
	var acked []string
	killed := false
	id := uint64(0)
	for len(acked) < 300 {
		if time.Now().After(deadline.Add(2 * time.Minute)) {
			t.Fatalf("only %d writes acknowledged", len(acked))
		}
		if len(acked) == 100 && !killed {
			killed = true
			addr := nc.ConnectedUrl()
			for _, ns := range servers {
				if ns.ClientURL() == addr {
					ns.Shutdown()
				}
			}
		}
		id++
		key := "w" + strconv.FormatUint(id, 10)
		ev := w.doWithin(t, st, id, abi.OpPut, abi.StateRequest{Key: key, Value: []byte(key)}, 5*time.Second)
		if ev.Code == abi.CodeOK {
			acked = append(acked, key)
			continue
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, key := range acked {
		id++
		var ev abi.Event
		for try := 0; ; try++ {
			ev = w.doWithin(t, st, id, abi.OpGet, abi.StateRequest{Key: key}, 5*time.Second)
			if ev.Code == abi.CodeOK || ev.Code == abi.CodeNotFound || try == 50 {
				break
			}
			id++
			time.Sleep(50 * time.Millisecond)
		}
		ent, err := abi.DecodeStateEntry(ev.Payload)
		if ev.Code != abi.CodeOK || err != nil || string(ent.Value) != key {
			t.Fatalf("acknowledged write %s: %v %s", key, ev.Code, abi.ErrorMessage(ev.Payload))
		}
	}
}
