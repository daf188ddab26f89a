// Command benchtable runs parigot's benchmarks and their baselines in one
// process on this machine and prints one Markdown table with ratios:
// against a plain Go function doing the same protobuf work (the floor, 1x)
// and against a unary grpc-go call over loopback (what users would pick
// instead). It also times helloworld's first call and `parigot build`, and
// checks the targets of issue 8.
//
//	cd bench && go run ./cmd/benchtable            # about two minutes
//	cd bench && go run ./cmd/benchtable -n 2000    # a quick look
//	cd bench && go run ./cmd/benchtable -only startup,build
//
// Progress goes to stderr, the table to stdout. docs/BENCHMARKS.md records
// the latest table.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"parigot.dev/parigot/bench/measure"
)

func main() {
	measure.MaybeRunChild() // the split-mode benchmark's children are this binary
	n := flag.Int("n", 20000, "calls per measurement")
	runs := flag.Int("runs", 3, "runs of each start-up and build figure (the median is shown)")
	only := flag.String("only", "calls,gateway,state,startup,build", "the parts to run, comma-separated")
	sizesFlag := flag.String("sizes", "100,1024,65536", "payload sizes of the calls, in bytes, comma-separated")
	flag.Parse()
	for _, f := range strings.Split(*sizesFlag, ",") {
		var b int
		if _, err := fmt.Sscan(strings.TrimSpace(f), &b); err != nil || b < 0 {
			fmt.Fprintf(os.Stderr, "benchtable: -sizes: %q is not a size in bytes\n", f)
			os.Exit(2)
		}
		sizes = append(sizes, b)
	}
	parts := map[string]bool{}
	for _, p := range strings.Split(*only, ",") {
		parts[strings.TrimSpace(p)] = true
	}
	if err := run(context.Background(), os.Stdout, *n, *runs, parts); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

// sizes are the payload sizes of the calls (-sizes).
var sizes []int

type row struct {
	way     string
	size    int
	callers int
	st      measure.Stats
}

var ways = []string{"plain", "grpc-go", "grpc-go 2 processes", "parigot single", "parigot split NATS only", "parigot split"}

func run(ctx context.Context, out io.Writer, n, runs int, parts map[string]bool) error {
	started := time.Now()
	progress := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "benchtable: "+format+"\n", args...)
	}
	progress("building the guests")
	w, err := measure.BuildWasm()
	if err != nil {
		return err
	}
	defer measure.RemoveWasm()
	var rows []row
	for _, callers := range []int{1, 8} {
		if !parts["calls"] {
			break
		}
		for _, size := range sizes {
			for _, way := range ways {
				var st measure.Stats
				var err error
				switch way {
				case "plain":
					st, err = measure.Plain(n, size, callers)
				case "grpc-go":
					st, err = measure.GRPC(ctx, n, size, callers)
				case "grpc-go 2 processes":
					st, err = measure.GRPCTwoProcesses(ctx, n, size, callers)
				case "parigot split NATS only":
					st, err = measure.SplitNATSOnly(ctx, w, n, size, callers)
				case "parigot single":
					st, err = measure.Single(ctx, w, n, size, callers)
				case "parigot split":
					st, err = measure.Split(ctx, w, n, size, callers)
				}
				if err != nil {
					return fmt.Errorf("%s, %d B, %d callers: %w", way, size, callers, err)
				}
				progress("%-23s %6d B  callers=%d  %s", way, size, callers, st)
				rows = append(rows, row{way, size, callers, st})
			}
		}
	}

	var gwRows []row
	if parts["gateway"] {
		progress("the bookstore behind its gateway, and a plain grpc-go server")
		store, err := measure.StartBookstore(ctx)
		if err != nil {
			return err
		}
		for _, callers := range []int{1, 8} {
			for _, way := range []string{"grpc-go", "gateway"} {
				addr := ""
				if way == "gateway" {
					addr = store.Addr
				}
				st, err := measure.GRPCGetBook(ctx, addr, n, callers)
				if err != nil {
					store.Stop()
					return fmt.Errorf("GetBook, %s, %d callers: %w", way, callers, err)
				}
				progress("GetBook %-8s callers=%d  %s", way, callers, st)
				gwRows = append(gwRows, row{way, 0, callers, st})
			}
		}
		store.Stop()
	}

	var states []stateRow
	if parts["state"] {
		sn := max(n/10, 100) // each operation writes to disk: fewer of them
		for _, op := range measure.StateOps {
			for _, way := range []string{"native nats.go", "parigot guest"} {
				var st measure.Stats
				var err error
				switch {
				case way == "parigot guest":
					st, err = measure.StateGuest(ctx, w, op, sn, 100)
				case op == "publish":
					continue
				default:
					st, err = measure.StateNative(ctx, op, sn, 100)
				}
				if err != nil {
					return fmt.Errorf("state %s, %s: %w", op, way, err)
				}
				progress("%-8s %-15s %s", op, way, st)
				states = append(states, stateRow{op, way, st})
			}
		}
	}

	var warm, cold []time.Duration
	var bt measure.BuildTimes
	if parts["startup"] {
		if err := firstCalls(ctx, w, runs, &warm, &cold); err != nil {
			return err
		}
		progress("first call: warm %s, cold %s", measure.Median(warm), measure.Median(cold))
	}
	if parts["build"] {
		progress("parigot build")
		work, err := os.MkdirTemp("", "parigot-bench-build")
		if err != nil {
			return err
		}
		defer os.RemoveAll(work)
		if bt, err = measure.Build(ctx, work, runs); err != nil {
			return err
		}
		progress("build: cold %s, no-op %s, edit %s; parigot dev reload %s", bt.Cold, bt.NoOp, bt.Edit, bt.Reload)
	}
	printTable(out, rows, gwRows, n, measure.Median(warm), measure.Median(cold), bt, time.Since(started))
	printState(out, states)
	return nil
}

// stateRow is one figure of stores and topics.
type stateRow struct {
	op, way string
	st      measure.Stats
}

// printState prints the stores' and topics' table and their target.
func printState(out io.Writer, rows []stateRow) {
	if len(rows) == 0 {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	native := func(op string) measure.Stats {
		for _, r := range rows {
			if r.op == op && r.way == "native nats.go" {
				return r.st
			}
		}
		return measure.Stats{}
	}
	p("")
	p("Stores and topics (%d operations per row, one after the other, 100 B values, files on disk; publish: from publishing to the subscribed service's method, one message a millisecond):", rows[0].st.Calls)
	p("")
	p("| operation | way | p50 | p99 | ops/s | p50 vs native |")
	p("| --- | --- | ---: | ---: | ---: | ---: |")
	for _, r := range rows {
		vs := "-"
		if nat := native(r.op); nat.P50 > 0 {
			vs = ratio(r.st.P50.Seconds(), nat.P50.Seconds())
		}
		p("| %s | %s | %s | %s | %s | %s |", r.op, r.way, us(r.st.P50), us(r.st.P99), rate(r.st.PerSec()), vs)
	}
	p("")
	p("| target (issue 15) | now | met |")
	p("| --- | --- | --- |")
	for _, op := range []string{"put", "get"} {
		for _, r := range rows {
			if r.op == op && r.way == "parigot guest" {
				nat := native(op)
				p("| store %s from a guest p50 <= 1.5x native nats.go | %.1fx | %s |", op, r.st.P50.Seconds()/nat.P50.Seconds(), yes(r.st.P50*2 <= nat.P50*3))
			}
		}
	}
}

// firstCalls times helloworld's first call with a warm cache (filled by a
// first, untimed run) and with empty ones.
func firstCalls(ctx context.Context, w *measure.Wasm, runs int, warm, cold *[]time.Duration) error {
	fmt.Fprintln(os.Stderr, "benchtable: helloworld: time to first call")
	warmDir, err := os.MkdirTemp("", "parigot-bench-cache")
	if err != nil {
		return err
	}
	defer os.RemoveAll(warmDir)
	if _, err := measure.FirstCall(ctx, w, warmDir); err != nil { // fills the cache
		return err
	}
	for range max(runs, 5) {
		d, err := measure.FirstCall(ctx, w, warmDir)
		if err != nil {
			return err
		}
		*warm = append(*warm, d)
	}
	for range runs {
		dir, err := os.MkdirTemp("", "parigot-bench-cold")
		if err != nil {
			return err
		}
		d, err := measure.FirstCall(ctx, w, dir)
		os.RemoveAll(dir)
		if err != nil {
			return err
		}
		*cold = append(*cold, d)
	}
	return nil
}

func find(rows []row, way string, size, callers int) measure.Stats {
	for _, r := range rows {
		if r.way == way && r.size == size && r.callers == callers {
			return r.st
		}
	}
	return measure.Stats{}
}

func printTable(out io.Writer, rows, gwRows []row, n int, warm, cold time.Duration, bt measure.BuildTimes, took time.Duration) {
	p := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	p("Machine: %d CPUs (%s), %s, %s/%s; %s; took %s.", runtime.NumCPU(), cpuModel(), runtime.Version(), runtime.GOOS, runtime.GOARCH,
		time.Now().UTC().Format("2006-01-02 15:04 MST"), took.Round(time.Second))
	p("")
	if len(rows) > 0 {
		p("Calls (%d per row; p50/p99 latency of one call, calls/s over the whole run; ratios of p50 are latency, lower is better):", n)
		p("")
		p("| payload | callers | way | p50 | p99 | calls/s | p50 vs plain | p50 vs grpc-go | p50 vs grpc-go 2 processes | calls/s vs grpc-go |")
		p("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
		for _, r := range rows {
			plain := find(rows, "plain", r.size, r.callers)
			grpc := find(rows, "grpc-go", r.size, r.callers)
			grpc2 := find(rows, "grpc-go 2 processes", r.size, r.callers)
			p("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |", size(r.size), r.callers, r.way, us(r.st.P50), us(r.st.P99),
				rate(r.st.PerSec()), ratio(r.st.P50.Seconds(), plain.P50.Seconds()), ratio(r.st.P50.Seconds(), grpc.P50.Seconds()),
				ratio(r.st.P50.Seconds(), grpc2.P50.Seconds()), ratio(r.st.PerSec(), grpc.PerSec()))
		}
		p("")
	}
	if len(gwRows) > 0 {
		p("Through the gateway (%d unary calls per row of bookstore.v1.Bookstore/GetBook with a grpc-go client over loopback: to examples/bookstore's gateway in single mode, the books service in wasm behind it; and to a plain grpc-go server doing the same work natively):", n)
		p("")
		p("| callers | way | p50 | p99 | calls/s | p50 vs grpc-go | calls/s vs grpc-go |")
		p("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
		for _, r := range gwRows {
			grpc := find(gwRows, "grpc-go", 0, r.callers)
			p("| %d | %s | %s | %s | %s | %s | %s |", r.callers, r.way, us(r.st.P50), us(r.st.P99), rate(r.st.PerSec()),
				ratio(r.st.P50.Seconds(), grpc.P50.Seconds()), ratio(r.st.PerSec(), grpc.PerSec()))
		}
		p("")
	}
	if warm > 0 || bt.NoOp > 0 {
		p("Start-up and build (median of several runs):")
		p("")
		p("| figure | time |")
		p("| --- | ---: |")
		if warm > 0 {
			p("| helloworld, time to first call, warm compilation cache | %s |", sec(warm))
			p("| helloworld, time to first call, cold (empty) compilation cache | %s |", sec(cold))
		}
		if bt.NoOp > 0 {
			p("| `parigot build`, cold (build/ and generated code removed, Go build cache warm) | %s |", sec(bt.Cold))
			p("| `parigot build`, no-op | %s |", sec(bt.NoOp))
			p("| `parigot build`, after editing one service | %s |", sec(bt.Edit))
			p("| `parigot dev`, from saving a service's new greeting until the program prints it | %s |", sec(bt.Reload))
		}
		p("")
	}
	p("Targets (issue 8):")
	p("")
	p("| target | now | met |")
	p("| --- | --- | --- |")
	if len(rows) > 0 {
		single := find(rows, "parigot single", 100, 1)
		grpc := find(rows, "grpc-go", 100, 1)
		split := find(rows, "parigot split", 100, 1)
		best := max(single.PerSec(), find(rows, "parigot single", 100, 8).PerSec())
		p("| single mode p50 at 100 B <= 10 us | %s | %s |", us(single.P50), yes(single.P50 <= 10*time.Microsecond))
		p("| single mode >= 10x faster than grpc-go at 100 B (p50) | %.1fx | %s |", grpc.P50.Seconds()/single.P50.Seconds(), yes(single.P50*10 <= grpc.P50))
		p("| split mode p50 <= grpc-go p50 at 100 B | %s vs %s | %s |", us(split.P50), us(grpc.P50), yes(split.P50 <= grpc.P50))
		for _, callers := range []int{1, 8} {
			for _, sz := range []int{100, 1 << 10} {
				split, grpc2 := find(rows, "parigot split", sz, callers), find(rows, "grpc-go 2 processes", sz, callers)
				if split.P50 > 0 && grpc2.P50 > 0 {
					p("| split mode p50 <= grpc-go (2 processes) p50, %s, %d callers (issue 18) | %s vs %s | %s |", size(sz), callers,
						us(split.P50), us(grpc2.P50), yes(split.P50 <= grpc2.P50))
				}
			}
		}
		p("| >= 100k calls/s in single mode, 100 B, best of 1 and 8 callers | %s | %s |", rate(best), yes(best >= 100e3))
	}
	if len(gwRows) > 0 {
		gw, grpc := find(gwRows, "gateway", 0, 1), find(gwRows, "grpc-go", 0, 1)
		p("| gateway p50 <= 1.2x a plain grpc-go server, 1 caller (issue 13) | %s vs %s (%s) | %s |", us(gw.P50), us(grpc.P50),
			ratio(gw.P50.Seconds(), grpc.P50.Seconds()), yes(gw.P50.Seconds() <= 1.2*grpc.P50.Seconds()))
	}
	if warm > 0 {
		p("| warm time to first call <= 0.5 s | %s | %s |", sec(warm), yes(warm <= 500*time.Millisecond))
	}
	if bt.NoOp > 0 {
		p("| no-op build <= 1 s | %s | %s |", sec(bt.NoOp), yes(bt.NoOp <= time.Second))
		p("| parigot dev: a saved edit answers <= 1.5 s warm | %s | %s |", sec(bt.Reload), yes(bt.Reload <= 1500*time.Millisecond))
	}
}

func size(b int) string {
	if b >= 1<<10 {
		return fmt.Sprintf("%d KiB", b>>10)
	}
	return fmt.Sprintf("%d B", b)
}

func us(d time.Duration) string {
	v := float64(d.Nanoseconds()) / 1e3
	if v < 10 {
		return fmt.Sprintf("%.2f us", v)
	}
	return fmt.Sprintf("%.0f us", v)
}

func sec(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func rate(r float64) string {
	if r >= 1000 {
		return fmt.Sprintf("%.1fk", r/1000)
	}
	return fmt.Sprintf("%.0f", r)
}

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	r := a / b
	if r >= 10 {
		return fmt.Sprintf("%.0fx", r)
	}
	return fmt.Sprintf("%.2fx", r)
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	if out, err := exec.Command("uname", "-m").Output(); err == nil {
		return strings.TrimSpace(string(out))
	}
	return "unknown CPU"
}
