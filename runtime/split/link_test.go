package split

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"parigot.dev/parigot/runtime/internal/lines"
)

// TestAChildSendsItsLinesOnlyWhenAsked: a line's record goes up the link
// as a report when the supervisor's hello asks for lines, and not
// otherwise, also the record of a whole piece of a cut line; a record too
// long for the supervisor's reader is left out.
func TestAChildSendsItsLinesOnlyWhenAsked(t *testing.T) {
	for _, want := range []bool{true, false} {
		downR, downW, upR, upW := linkPipes(t)
		hi, _ := json.Marshal(hello{Lines: want})
		downW.Write(append(hi, '\n'))
		link, err := openLink(downR, upW)
		if err != nil {
			t.Fatal(err)
		}
		var got []report
		read := make(chan error)
		go func() { // as the supervisor does, while the child writes: a piece's record is more than a pipe holds
			sc := bufio.NewScanner(upR)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var r report
				if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
					read <- fmt.Errorf("a report that is not JSON: %.100s", sc.Bytes())
					return
				}
				got = append(got, r)
			}
			read <- sc.Err()
		}()
		record := `{"guest":"back","stream":"stdout","trace_id":"0af7651916cd43dd8448eb211c80319c","msg":"back got traced"}`
		link.line([]byte(record + "\n"))
		piece := lines.Record("back", "stdout", nil, []byte(strings.Repeat("<", lines.MaxLine)+"\n"))
		link.line(piece)
		link.line([]byte(`{"guest":"back","msg":"` + strings.Repeat("x", maxLineReport) + `"}`))
		link.ready("back") // a report the supervisor always gets, after them
		upW.Close()
		if err := <-read; err != nil {
			t.Fatal(err)
		}
		switch {
		case want && (len(got) != 3 || string(got[0].Line) != record || !bytes.Equal(got[1].Line, bytes.TrimSpace(piece)) || got[2].Ready != "back"):
			t.Errorf("asked for lines, the child sent %d reports; want the line's record, the piece's, then ready", len(got))
		case !want && (len(got) != 1 || got[0].Ready != "back"):
			t.Errorf("not asked for lines, the child sent %+v; want ready alone", got)
		}
		downW.Close()
		upR.Close()
	}
}

// linkPipes are the two pipes of a link: down, from the supervisor, and up.
func linkPipes(t *testing.T) (downR, downW, upR, upW *os.File) {
	t.Helper()
	downR, downW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	upR, upW, err = os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	return downR, downW, upR, upW
}

// TestAChildLearnsOfTheServicesDownForGoodOverItsLink: those down when it
// starts, from its hello, and those that go down later, from a notice;
// notices of both kinds share the down pipe, and a restart's grant still
// answers the child's request among them.
func TestAChildLearnsOfTheServicesDownForGoodOverItsLink(t *testing.T) {
	downR, downW, upR, upW := linkPipes(t)
	defer upR.Close()
	hi, _ := json.Marshal(hello{Down: []string{"stock"}})
	downW.Write(append(hi, '\n'))
	link, err := openLink(downR, upW)
	if err != nil {
		t.Fatal(err)
	}
	if !link.down("stock") || link.down("orders") {
		t.Errorf("from the hello: stock down %v, orders down %v; want stock alone", link.down("stock"), link.down("orders"))
	}
	go bufio.NewReader(upR).WriteTo(io.Discard) // the reports the child sends
	for _, n := range []notice{{Down: "orders"}, {Grant: &restartGrant{Restart: 2}}} {
		line, _ := json.Marshal(n)
		downW.Write(append(line, '\n'))
	}
	if n, ok := link.restart(t.Context()); n != 2 || !ok {
		t.Errorf("restart() = %d, %v after a grant of the second restart", n, ok)
	}
	// The notice came before the grant on the one pipe, read in order.
	if !link.down("orders") {
		t.Error("orders is not down after the notice that it is")
	}
	downW.Close()
	<-link.Gone()
}
