package split

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"parigot.dev/parigot/runtime/host"
)

func TestReadSeedsTakesOnlyPrivateSeedFiles(t *testing.T) {
	dir := t.TempDir()
	seeds, made, err := MakeSeeds(dir, []string{"echo"})
	if err != nil || len(made) != 1 {
		t.Fatalf("MakeSeeds: %v, made %v", err, made)
	}
	for _, c := range []struct {
		name    string
		content string // "" keeps the file MakeSeeds wrote
		mode    os.FileMode
		missing bool
		want    string // in the error; "" for none
	}{
		{name: "a seed file only its owner may read is read", mode: 0o600},
		{name: "a seed file its owner may also write and run is read", mode: 0o700},
		{name: "a seed file its group may read is refused, with the chmod to run", mode: 0o640, want: "other users may read it (mode 0640): run chmod 600 " + SeedFile(dir, "echo")},
		{name: "a seed file anyone may read is refused, with the chmod to run", mode: 0o644, want: "run chmod 600"},
		{name: "a seed file others may only write is refused too", mode: 0o602, want: "run chmod 600"},
		{name: "a file without a seed is refused", content: "not a seed\n", mode: 0o600, want: "holds no NATS user nkey seed"},
		{name: "a missing seed file says to copy it from where the server's users were made", missing: true,
			want: "no NATS seed for guest echo: " + SeedFile(dir, "echo") + " does not exist; copy it there, mode 0600, from the seeds directory that `parigot nats-config --seeds` made the NATS server's users from"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := SeedFile(dir, "echo")
			os.Remove(path)
			if !c.missing {
				content := c.content
				if content == "" {
					content = seeds["echo"] + "\n"
				}
				if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, c.mode); err != nil {
					t.Fatal(err)
				}
			}
			got, err := ReadSeeds(dir, []string{"echo"})
			switch {
			case c.want == "" && err != nil:
				t.Errorf("ReadSeeds: %v", err)
			case c.want == "" && got["echo"] != seeds["echo"]:
				t.Errorf("ReadSeeds read another seed than the one written")
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("ReadSeeds: err = %v, want one saying %q", err, c.want)
			}
		})
	}
}

func TestMakeSeedsMakesOnlyTheMissingOnesPrivately(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "seeds")
	first, made, err := MakeSeeds(dir, []string{"echo"})
	if err != nil || len(made) != 1 {
		t.Fatalf("MakeSeeds: %v, made %v", err, made)
	}
	again, made, err := MakeSeeds(dir, []string{"echo", "ticker"})
	if err != nil {
		t.Fatal(err)
	}
	if again["echo"] != first["echo"] {
		t.Errorf("a second MakeSeeds replaced echo's seed")
	}
	if len(made) != 1 || made[0] != "ticker" {
		t.Errorf("made %v, want only ticker's seed", made)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, SeedFile(dir, "echo"): 0o600, SeedFile(dir, "ticker"): 0o600} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s has mode %04o, want %04o", path, got, want)
		}
	}
}

// loadConfig starts nothing: it reads a nats-server configuration as
// nats-server would, with a loopback listener on a free port added.
func loadConfig(t *testing.T, conf string) *server.Options {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nats-server.conf")
	conf = "listen: \"127.0.0.1:-1\"\nmax_payload: 8MB\n" + conf
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("nats-server does not take the configuration: %v\n%s", err, conf)
	}
	opts.NoLog, opts.NoSigs = true, true
	return opts
}

// startConfiguredServer starts a real nats-server from a configuration
// file, as an operator would run it.
func startConfiguredServer(t *testing.T, conf string) *server.Server {
	t.Helper()
	ns, err := server.NewServer(loadConfig(t, conf))
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("the configured NATS server did not start")
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

// connectOpen connects to ns, a server with no users (startConfiguredServer
// with no configuration), as who of app "test", until the test ends.
func connectOpen(t *testing.T, ns *server.Server, who string) *nats.Conn {
	t.Helper()
	nc, err := Conn{URL: ns.ClientURL()}.Connect("test", who)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// printedConfig is the configuration AuthorizationConfig prints for
// guests of app "test", with a fresh seed for each, and the seeds.
func printedConfig(t *testing.T, guests []*host.GuestSpec) (string, map[string]string) {
	t.Helper()
	var names []string
	for _, g := range guests {
		names = append(names, g.Name)
	}
	seeds, _, err := MakeSeeds(t.TempDir(), names)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := AuthorizationConfig("test", guests, seeds)
	if err != nil {
		t.Fatal(err)
	}
	return conf, seeds
}

// TestThePrintedConfigurationGrantsWhatTheEmbeddedServerDoes reads the
// configuration AuthorizationConfig prints as nats-server does, and finds
// for every guest the same user permissions the embedded server gives it.
func TestThePrintedConfigurationGrantsWhatTheEmbeddedServerDoes(t *testing.T) {
	guests := identityGuests()
	conf, seeds := printedConfig(t, guests)
	opts := loadConfig(t, conf)
	users := map[string]*server.NkeyUser{}
	for _, u := range opts.Nkeys {
		users[u.Nkey] = u
	}
	if len(users) != len(guests) {
		t.Errorf("the configuration has %d users, want one per guest (%d)", len(users), len(guests))
	}
	for _, g := range guests {
		t.Run("guest "+g.Name+" gets the permissions of the embedded server", func(t *testing.T) {
			pub, _ := publicKey(seeds[g.Name])
			u := users[pub]
			if u == nil {
				t.Fatalf("no user with %s's key %s", g.Name, pub)
			}
			if want := grantFor("test", guests, g.Name).permissions(); !reflect.DeepEqual(normal(u.Permissions), normal(want)) {
				t.Errorf("permissions\n got %+v %+v %+v\nwant %+v %+v %+v", u.Permissions.Publish, u.Permissions.Subscribe, u.Permissions.Response,
					want.Publish, want.Subscribe, want.Response)
			}
		})
	}
}

// normal writes an empty list of subjects as none: the server reads both
// the same way, and fills in an empty allow list beside allow_responses.
func normal(p *server.Permissions) *server.Permissions {
	q := *p
	for _, sp := range []**server.SubjectPermission{&q.Publish, &q.Subscribe} {
		if *sp == nil {
			continue
		}
		c := **sp
		if len(c.Allow) == 0 {
			c.Allow = nil
		}
		if len(c.Deny) == 0 {
			c.Deny = nil
		}
		*sp = &c
	}
	return &q
}

func TestAMissingSeedOfAGatewayNamesTheGateway(t *testing.T) {
	dir := t.TempDir()
	_, err := ReadSeeds(dir, []string{GatewayIdentity("public")})
	if want := "no NATS seed for gateway public: " + SeedFile(dir, "_gateway-public") + " does not exist"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("ReadSeeds: err = %v, want one starting %q", err, want)
	}
}
