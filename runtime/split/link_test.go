package split

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
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
