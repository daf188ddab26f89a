package split

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/host"
)

// The test binary doubles as a supervisor process: started with
// envSupervisor set to the JSON of the app's guests, it supervises them
// (their children are this binary too, see envChild) and prints
// "child <label> <pid>" for each child it starts.
const envSupervisor = "PARIGOT_SPLIT_TEST_SUPERVISOR"

func runTestSupervisor(spec string) int {
	var guests []*host.GuestSpec
	if err := json.Unmarshal([]byte(spec), &guests); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	os.Unsetenv(envSupervisor) // its children are children, not supervisors
	os.Setenv(envChild, spec)
	exe, _ := os.Executable()
	_, err := Supervise(context.Background(), Options{
		App: "test", Guests: guests, Executable: exe,
		ChildArgs: func(g string) []string { return []string{g} },
		Stdout:    os.Stderr, Stderr: os.Stderr,
		Started: func(label string, pid int) { fmt.Printf("child %s %d\n", label, pid) },
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// alive reports whether process pid still runs (a zombie waiting to be
// reaped has ended).
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	// pid (comm) state ...: the state follows the last ')'.
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z"
}

func TestChildrenEndWhenTheirSupervisorIsKilled(t *testing.T) {
	guests := testGuests(t, 2)[:1] // two echo replicas: a run that serves until stopped
	spec, _ := json.Marshal(guests)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envSupervisor+"="+string(spec))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var pids []int
	lines := bufio.NewScanner(stdout)
	for len(pids) < 2 && lines.Scan() {
		var label string
		var pid int
		if _, err := fmt.Sscanf(lines.Text(), "child %s %d", &label, &pid); err == nil {
			pids = append(pids, pid)
		}
	}
	if len(pids) < 2 {
		t.Fatalf("the supervisor started %d children, want 2", len(pids))
	}
	defer func() {
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}()
	time.Sleep(time.Second) // the children are up and connected
	for _, pid := range pids {
		if !alive(pid) {
			t.Fatalf("child %d ended before its supervisor was killed", pid)
		}
	}

	killed := time.Now()
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	// They end within moments; an orphan would run on indefinitely. The
	// bound only tells the two apart on a busy machine.
	for _, pid := range pids {
		for alive(pid) {
			if time.Since(killed) > 30*time.Second {
				t.Fatalf("child %d still runs 30s after its supervisor was killed", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Logf("the children ended within %s of their supervisor's kill", time.Since(killed).Round(time.Millisecond))
}

func TestAChildHearsItsSupervisorIsGoneWhenTheLinkCloses(t *testing.T) {
	downR, downW, upR, upW := linkPipes(t)
	defer upR.Close()
	hi, _ := json.Marshal(hello{Conn: Conn{URL: "nats://127.0.0.1:1"}, Replica: 2})
	downW.Write(append(hi, '\n'))
	link, err := openLink(downR, upW)
	if err != nil {
		t.Fatal(err)
	}
	if link.Conn().URL != "nats://127.0.0.1:1" || link.Replica() != 2 {
		t.Errorf("hello read as %+v, replica %d", link.Conn(), link.Replica())
	}
	select {
	case <-link.Gone():
		t.Fatal("gone while the supervisor's end is open")
	default:
	}
	downW.Close() // the supervisor dies: the kernel closes its end
	select {
	case <-link.Gone():
	case <-time.After(time.Minute):
		t.Fatal("the child never heard that its supervisor was gone")
	}
}
