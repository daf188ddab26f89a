package split

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"parigot.dev/parigot/runtime/internal/lines"
)

// TestSplitModeOnAnOperatorsServer runs the app against a real nats-server
// configured from a file, as an operator runs one with --nats: with the
// users `parigot nats-config` prints and each child's seed from --nats-seeds,
// with those users misconfigured, and with one user shared by the app.
func TestSplitModeOnAnOperatorsServer(t *testing.T) {
	guests := testGuests(t, 1)
	seedDir := t.TempDir()
	seeds, _, err := MakeSeeds(seedDir, []string{"echo", "ticker"})
	if err != nil {
		t.Fatal(err)
	}
	printed, err := AuthorizationConfig("test", guests, seeds)
	if err != nil {
		t.Fatal(err)
	}
	stranger, _, err := MakeSeeds(t.TempDir(), []string{"echo"})
	if err != nil {
		t.Fatal(err)
	}
	unknownKeys, err := AuthorizationConfig("test", guests, map[string]string{"echo": stranger["echo"], "ticker": seeds["ticker"]})
	if err != nil {
		t.Fatal(err)
	}
	// Seeds mixed up: echo's file holds ticker's seed, which the server
	// knows, as ticker's.
	swapped := t.TempDir()
	if err := os.WriteFile(filepath.Join(swapped, "echo.nk"), []byte(seeds["ticker"]), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(swapped, "ticker.nk"), []byte(seeds["ticker"]), 0o600); err != nil {
		t.Fatal(err)
	}
	without := func(subject string) string {
		out := strings.Replace(printed, `"`+subject+`", `, "", 1)
		if out == printed {
			t.Fatalf("the printed configuration has no %q", subject)
		}
		return out
	}
	echoPub, _ := publicKey(seeds["echo"])
	for _, c := range []struct {
		name   string
		conf   string
		conn   Conn // its URL is the server's
		seeds  string
		wantOK bool
		want   []string // in Supervise's error
	}{
		{
			name: "a server with the users nats-config prints runs the app, each child as its own guest",
			conf: printed, seeds: seedDir, wantOK: true,
		},
		{
			name: "a server where a service may not take its calls ends the run naming the guest, the subject and what to configure",
			conf: without("parigot.test.call.test.Echo echo"), seeds: seedDir,
			want: []string{`guest echo subscribe to "parigot.test.call.test.Echo" in queue group "echo"`, "parigot nats-config"},
		},
		{
			name: "a server where a program may not call its service ends the run naming the guest, the subject and what to configure",
			conf: without("parigot.test.call.test.Echo"), seeds: seedDir,
			want: []string{`guest ticker publish to "parigot.test.call.test.Echo"`, "parigot nats-config"},
		},
		{
			name: "a server that does not know a guest's key says whose key it lacks",
			conf: unknownKeys, seeds: seedDir,
			want: []string{"the server does not know echo's nkey " + echoPub, "parigot nats-config"},
		},
		{
			name: "a guest run with another guest's seed is told to check which seed it has",
			conf: printed, seeds: swapped,
			want: []string{`guest echo subscribe to "parigot.test.call.test.Echo" in queue group "echo"`, "echo.nk"},
		},
		{
			name: "a run without credentials on a server of per-guest users says to give each guest its seed",
			conf: printed,
			want: []string{"the server refused the credentials", "give each guest its own with --nats-seeds"},
		},
		{
			name: "one user shared by the app, allowed only the app's subjects, runs the app",
			conf: `authorization { users = [ { user: shop, password: secret, permissions: { publish: "parigot.test.>", subscribe: "parigot.test.>" } } ] }`,
			conn: Conn{User: "shop", Pass: "secret"}, wantOK: true,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			ns := startConfiguredServer(t, c.conf)
			conn := c.conn
			conn.URL = ns.ClientURL()
			res, out, errOut, err := superviseWith(t, guests, Options{Conn: conn, Seeds: c.seeds}, nil)
			if c.wantOK {
				if err != nil || res.ExitCode != 0 || !strings.Contains(out, "ticker | done: ok=40 failed=0\n") {
					t.Errorf("err %v, exit %d\nstdout:\n%s\nstderr:\n%s", err, res.ExitCode, out, errOut)
				}
				return
			}
			if err == nil {
				t.Fatalf("the run succeeded\nstdout:\n%s\nstderr:\n%s", out, errOut)
			}
			t.Logf("the run's error: %v", err)
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v\nwant it to say %q", err, w)
				}
			}
		})
	}
}

// TestPerGuestUsersWorkAcrossACluster configures every node of a two-node
// cluster with the printed users, and hosts the service on one node and its
// caller on the other: the service's right to answer a call it took, which
// its own node keeps, holds for a caller whose node is another.
func TestPerGuestUsersWorkAcrossACluster(t *testing.T) {
	guests := testGuests(t, 1)
	seeds, _, err := MakeSeeds(t.TempDir(), []string{"echo", "ticker"})
	if err != nil {
		t.Fatal(err)
	}
	conf, err := AuthorizationConfig("test", guests, seeds)
	if err != nil {
		t.Fatal(err)
	}
	nodes := startClusterOf(t, 2, func() *server.Options { return loadConfig(t, conf) })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	echoCtx, stopEcho := context.WithCancel(ctx)
	var echoOut, tickOut lines.Buffer
	echoDone := make(chan error, 1)
	go func() {
		_, err := RunChild(echoCtx, ChildOptions{App: "test", Guests: guests, Name: "echo",
			Conn: Conn{URL: nodes[0].ClientURL(), Seed: seeds["echo"]}, Stdout: &echoOut, Stderr: &echoOut})
		echoDone <- err
	}()
	res, err := RunChild(ctx, ChildOptions{App: "test", Guests: guests, Name: "ticker",
		Conn: Conn{URL: nodes[1].ClientURL(), Seed: seeds["ticker"]}, Stdout: &tickOut, Stderr: &tickOut})
	stopEcho()
	if echoErr := <-echoDone; echoErr != nil {
		t.Errorf("echo: %v\n%s", echoErr, echoOut.String())
	}
	if err != nil || res.ExitCode != 0 || !strings.Contains(tickOut.String(), "done: ok=40 failed=0") {
		t.Errorf("ticker: err %v, exit %d\n%s\necho:\n%s", err, res.ExitCode, tickOut.String(), echoOut.String())
	}
}
