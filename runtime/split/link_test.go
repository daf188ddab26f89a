package split

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestAChildSendsItsLinesOnlyWhenAsked: a line's record goes up the link
// as a report when the supervisor's hello asks for lines, and not
// otherwise; a record too long for the supervisor's reader is left out.
func TestAChildSendsItsLinesOnlyWhenAsked(t *testing.T) {
	for _, want := range []bool{true, false} {
		downR, downW, upR, upW := linkPipes(t)
		hi, _ := json.Marshal(hello{Lines: want})
		downW.Write(append(hi, '\n'))
		link, err := openLink(downR, upW)
		if err != nil {
			t.Fatal(err)
		}
		record := `{"guest":"back","stream":"stdout","trace_id":"0af7651916cd43dd8448eb211c80319c","msg":"back got traced"}`
		link.line([]byte(record + "\n"))
		link.line([]byte(`{"guest":"back","msg":"` + strings.Repeat("x", maxLineReport) + `"}`))
		link.ready("back") // a report the supervisor always gets, after them
		upW.Close()
		var got []report
		sc := bufio.NewScanner(upR)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var r report
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("a report that is not JSON: %s", sc.Bytes())
			}
			got = append(got, r)
		}
		switch {
		case want && (len(got) != 2 || string(got[0].Line) != record || got[1].Ready != "back"):
			t.Errorf("asked for lines, the child sent %+v; want the line's record, then ready", got)
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
