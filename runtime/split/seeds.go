package split

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/nats-io/nkeys"

	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/state"
)

// Per-guest identities on an operator's NATS server: each guest has an
// nkey user, whose seed (the secret) is in a file of its own, <guest>.nk,
// in a directory the operator keeps (`parigot nats-config --seeds DIR`
// makes the missing ones); the server's configuration holds only the
// public keys, with each guest's permissions (AuthorizationConfig). The
// supervisor reads the seeds of the guests it hosts (Options.Seeds) and
// hands each child its own over its link.

// seedOwner names for people the identity whose seed is name's:
// "gateway public", "guest orders".
func seedOwner(name string) string {
	if gw, ok := GatewayOf(name); ok {
		return "gateway " + gw
	}
	return "guest " + name
}

// SeedFile is the file in dir that holds the nkey seed of guest.
func SeedFile(dir, guest string) string { return filepath.Join(dir, guest+".nk") }

// ReadSeeds reads the seed of each named guest from dir. A missing file, a
// file other users may read, or one that holds no user seed is an error
// that says what to do.
func ReadSeeds(dir string, names []string) (map[string]string, error) {
	seeds := map[string]string{}
	for _, name := range names {
		seed, err := readSeed(dir, name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no NATS seed for %s: %s does not exist; copy it there, mode 0600, from the seeds directory that `parigot nats-config --seeds` made the NATS server's users from (run there, it also makes a seed each guest lacks, and prints the users every NATS server then needs)",
				seedOwner(name), SeedFile(dir, name))
		}
		if err != nil {
			return nil, err
		}
		seeds[name] = seed
	}
	return seeds, nil
}

// MakeSeeds reads the seed of each named guest from dir, and makes (mode
// 0600, in a directory made 0700 if needed) those that do not exist yet.
// It returns every seed, and the guests whose seeds it made.
func MakeSeeds(dir string, names []string) (seeds map[string]string, made []string, err error) {
	seeds = map[string]string{}
	for _, name := range names {
		seed, err := readSeed(dir, name)
		if errors.Is(err, fs.ErrNotExist) {
			seed, err = makeSeed(dir, name)
			made = append(made, name)
		}
		if err != nil {
			return nil, made, err
		}
		seeds[name] = seed
	}
	return seeds, made, nil
}

// readSeed reads guest's seed from dir, refusing a file that other users
// may read: the seed is all it takes to act as the guest.
func readSeed(dir, guest string) (string, error) {
	path := SeedFile(dir, guest)
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", err
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return "", fmt.Errorf("%s holds the NATS secret of guest %s, but other users may read it (mode %04o): run chmod 600 %s", path, guest, perm, path)
	}
	text, err := io.ReadAll(f)
	if err != nil {
		return "", err
	}
	kp, err := nkeys.ParseDecoratedUserNKey(text)
	if err != nil {
		return "", fmt.Errorf("%s holds no NATS user nkey seed (%v): it must hold the seed of guest %s, a line starting with SU, as `parigot nats-config` writes it", path, err, guest)
	}
	defer kp.Wipe()
	seed, err := kp.Seed()
	return string(seed), err
}

// makeSeed makes a new nkey for guest and writes its seed to its file.
func makeSeed(dir, guest string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("making the seed directory: %w", err)
	}
	seed, _, err := state.NewNkey()
	if err != nil {
		return "", fmt.Errorf("making the NATS key of guest %s: %w", guest, err)
	}
	path := SeedFile(dir, guest)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("writing the NATS seed of guest %s: %w", guest, err)
	}
	_, err = f.WriteString(seed + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("writing the NATS seed of guest %s: %w", guest, err)
	}
	return seed, nil
}

// publicKey is the public key of a seed.
func publicKey(seed string) (string, error) {
	kp, err := nkeys.FromSeed([]byte(seed))
	if err != nil {
		return "", err
	}
	defer kp.Wipe()
	return kp.PublicKey()
}

// AuthorizationConfig is the nats-server configuration of app's guests:
// an authorization block with one nkey user per guest, from its seed in
// seeds, with the permissions its grant gives it, exactly as the embedded
// server sets them.
func AuthorizationConfig(app string, guests []*host.GuestSpec, seeds map[string]string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, `# NATS users of the parigot app %q: one nkey user per guest, allowed only
# what the guest needs (its own calls, the services it requires, its own
# replies). Written by 'parigot nats-config' from parigot.hcl; each guest's
# seed stays in its <guest>.nk file, for 'parigot run --nats-seeds'.
# parigot's payloads of up to 4 MiB need max_payload: 8MB on the server.
#
# Put this block in the nats-server configuration of every node (or
# 'include' this file there). A server takes one authorization block: a
# second one (another app's file included too, say) replaces the first,
# whose users it then refuses. A server that already has an authorization
# block takes these users into its users list, copied there by hand, as
# does one serving several apps; with accounts, they go into the users
# list of the app's account.
authorization {
  users = [
`, app)
	for _, g := range guests {
		pub, err := publicKey(seeds[g.Name])
		if err != nil {
			return "", fmt.Errorf("the NATS seed of guest %s: %w", g.Name, err)
		}
		gr := grantFor(app, guests, g.Name)
		fmt.Fprintf(&b, "    # %s\n    {\n      nkey: %s\n      permissions: {\n", identityText(g), pub)
		fmt.Fprintf(&b, "        publish: %s\n", confSubjects(gr.publish))
		fmt.Fprintf(&b, "        subscribe: %s\n", confSubjects(gr.subscribe))
		if gr.responses > 0 {
			fmt.Fprintf(&b, "        allow_responses: { max: 1, expires: %q }\n", gr.responses.String())
		}
		b.WriteString("      }\n    }\n")
	}
	b.WriteString("  ]\n}\n")
	return b.String(), nil
}

// confSubjects renders one direction of a grant as subjectPermission does.
func confSubjects(allow []string) string {
	p := subjectPermission(allow)
	list, key := p.Allow, "allow"
	if len(list) == 0 {
		list, key = p.Deny, "deny"
	}
	quoted := make([]string, len(list))
	for i, s := range list {
		quoted[i] = strconv.Quote(s)
	}
	return fmt.Sprintf("{ %s: [%s] }", key, strings.Join(quoted, ", "))
}
