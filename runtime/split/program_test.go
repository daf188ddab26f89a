package split

import (
	"errors"
	"strings"
	"testing"

	"parigot.dev/parigot/runtime/internal/lines"
)

// Across machines, with the users `parigot nats-config` prints, a program
// that a process of runs already is not claimed by a second: the second
// hears where the first runs. A program's users may do that much and no
// more; another program is claimed as before.
func TestAProgramIsClaimedOnceAcrossMachines(t *testing.T) {
	guests := identityGuests()
	conf, seeds := printedConfig(t, guests)
	ns := startConfiguredServer(t, conf)
	connect := func(who string) *Network {
		nc, err := Conn{URL: ns.ClientURL(), Seed: seeds[who]}.Connect("test", who)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		n := NewNetwork(nc, "test", guests, who)
		t.Cleanup(func() { n.Close() })
		return n
	}
	if err := connect("ticker").claimProgram(t.Context(), "ticker"); err != nil {
		t.Fatalf("the first process of ticker: %v", err)
	}
	second := connect("ticker")
	var said lines.Buffer
	second.warn = &said
	err := second.claimProgram(t.Context(), "ticker")
	var elsewhere *ProgramElsewhereError
	if !errors.As(err, &elsewhere) || elsewhere.Program != "ticker" || !strings.HasPrefix(elsewhere.Where, "on ") {
		t.Fatalf("the second process of ticker: %v, want that it runs elsewhere", err)
	}
	if err := connect("tocker").claimProgram(t.Context(), "tocker"); err != nil {
		t.Errorf("another program: %v", err)
	}
	if said.String() != "" {
		t.Errorf("the second process said %q", said.String())
	}
	if refusal := second.Refused(); len(refusal) != 0 {
		t.Errorf("the server refused what the program's users need: %v", <-refusal)
	}
}

// On a server configured for an earlier parigot, whose program users may
// not use the program subjects, a program is claimed unchecked: it runs,
// as it did, and its process says once what its user lacks.
func TestOnAServerWithoutProgramSubjectsAProgramRunsUnchecked(t *testing.T) {
	guests := identityGuests()
	conf, seeds := printedConfig(t, guests)
	earlier := strings.ReplaceAll(conf, `"parigot.test.program.ticker", `, "")
	earlier = strings.ReplaceAll(earlier, `, "parigot.test.program.ticker"`, "")
	if strings.Contains(earlier, "program.ticker") {
		t.Fatalf("the printed configuration grants ticker's subject otherwise:\n%s", conf)
	}
	ns := startConfiguredServer(t, earlier)
	nc, err := Conn{URL: ns.ClientURL(), Seed: seeds["ticker"]}.Connect("test", "ticker")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	n := NewNetwork(nc, "test", guests, "ticker")
	defer n.Close()
	var said lines.Buffer
	n.warn = &said
	if err := n.claimProgram(t.Context(), "ticker"); err != nil {
		t.Fatalf("claim: %v, want the program to run unchecked", err)
	}
	waitFor(t, "the process to say what its user lacks", func() bool { return said.String() != "" })
	if got := said.String(); !strings.HasPrefix(got, `parigot: ticker: the NATS server refused to let it `) ||
		!strings.Contains(got, `"parigot.test.program.ticker": it cannot tell whether this program runs on another machine too; give its NATS user the permissions `+"`parigot nats-config`"+` prints for it`) {
		t.Errorf("the process says\n%s", got)
	}
	if refusal := n.Refused(); len(refusal) != 0 {
		t.Errorf("the refusal ended the program: %v", <-refusal)
	}
}
