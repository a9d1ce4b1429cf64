// Copyright 2026 The zkwatch Authors
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
// http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/fourlw"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

// The tests here run the real demo binary, as `make demo` does, with its
// stdout on a pipe.

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// requireTools skips (or, under CI=true, fails) when a real component is
// missing.
func requireTools(t *testing.T) {
	t.Helper()
	zktest.Require(t)
	for _, tool := range []string{"prometheus", "prometheus-alertmanager", "jsonnet", "amtool"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not installed", tool)
			}
			t.Skipf("%s not installed", tool)
		}
	}
}

// buildBinaries builds the binaries the demo runs, once per test binary.
func buildBinaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "zkwatch-demo-bin"); buildErr != nil {
			return
		}
		for name, pkg := range map[string]string{"zookeeper_exporter": "./cmd/zookeeper_exporter",
			"zkwatch_receiver": "./cmd/zkwatch_receiver", "zkwatch_agent": "./cmd/zkwatch_agent", "zkwatch_roll": "./cmd/zkwatch_roll", "zkwatch-demo": "./tools/zkwatch-demo"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, name), pkg)
			cmd.Dir = "../.."
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("build %s: %v\n%s", name, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// demoRun is the demo binary running with its stdout on a pipe the test
// reads line by line.
type demoRun struct {
	cmd    *exec.Cmd
	dir    string
	bin    string
	pipe   *os.File // the pipe's read end
	exited chan struct{}
	eof    chan struct{}  // the reader is done: the demo exited or the pipe was closed
	procs  map[int]uint64 // what stopAndCheck found running under the demo

	mu     sync.Mutex
	lines  []string
	stderr strings.Builder
	added  chan struct{}
}

func startDemo(t *testing.T) *demoRun {
	t.Helper()
	requireTools(t)
	bin := buildBinaries(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	d := &demoRun{dir: filepath.Join(t.TempDir(), "demo"), bin: bin, pipe: r, exited: make(chan struct{}), eof: make(chan struct{}), added: make(chan struct{})}
	d.cmd = exec.Command(filepath.Join(bin, "zkwatch-demo"), "--dir", d.dir, "--bin", bin, "--repo", "../..", "run")
	d.cmd.Stdout, d.cmd.Stderr = w, lockedWriter{&d.mu, &d.stderr}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	go d.read()
	go func() { _ = d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("demo output:\n%s\nstderr:\n%s", d.output(), d.stderrText())
		}
		// A test that failed half-way: stop the demo and kill whatever it
		// left running.
		left := descendants(d.cmd.Process.Pid)
		for pid, start := range d.procs {
			left[pid] = start
		}
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(60 * time.Second):
			_ = d.cmd.Process.Kill()
		}
		for pid, start := range left {
			if running(pid, start) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		r.Close()
	})
	return d
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (d *demoRun) read() {
	defer close(d.eof)
	sc := bufio.NewScanner(d.pipe)
	for sc.Scan() {
		d.mu.Lock()
		d.lines = append(d.lines, sc.Text())
		close(d.added)
		d.added = make(chan struct{})
		d.mu.Unlock()
	}
}

func (d *demoRun) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.lines, "\n")
}

func (d *demoRun) stderrText() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stderr.String()
}

// waitLine waits until the demo wrote a line containing s, and returns
// every line so far.
func (d *demoRun) waitLine(t *testing.T, s string, timeout time.Duration) []string {
	t.Helper()
	deadline := time.After(timeout)
	for eof := false; ; {
		d.mu.Lock()
		lines, added := append([]string(nil), d.lines...), d.added
		d.mu.Unlock()
		for _, l := range lines {
			if strings.Contains(l, s) {
				return lines
			}
		}
		if eof {
			t.Fatalf("the demo's output ended without %q", s)
		}
		select {
		case <-added:
		case <-d.eof:
			eof = true // look at the last lines once more
		case <-deadline:
			t.Fatalf("the demo did not write %q within %s", s, timeout)
		}
	}
}

// demoCmd runs another zkwatch-demo command against the running demo.
func (d *demoRun) demoCmd(args ...string) (string, error) {
	out, err := exec.Command(filepath.Join(d.bin, "zkwatch-demo"), append([]string{"--dir", d.dir}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// startTimeout bounds the demo's start-up on a busy machine.
const startTimeout = 4 * time.Minute

// TestDemoRun starts the demo as `make demo | tee log` does and checks what
// it prints: a start and a done line for every step, addresses that all
// answer 200 on the Prometheus and Alertmanager installed here, member stop
// and start, and that Ctrl-C with the pipe's reader gone stops everything.
func TestDemoRun(t *testing.T) {
	d := startDemo(t)
	lines := d.waitLine(t, "Press Ctrl-C", startTimeout)
	checkProgress(t, lines)
	summary := strings.Join(lines[indexOf(t, lines, "zkwatch demo is running"):], "\n")
	t.Run("every address answers 200", func(t *testing.T) { checkAddresses(t, summary) })
	t.Run("amtool as printed silences", func(t *testing.T) { checkSilence(t, summary) })
	t.Run("member stop and start", func(t *testing.T) { checkMembers(t, d, summary) })
	t.Run("Ctrl-C with the pipe closed stops everything", func(t *testing.T) {
		d.pipe.Close() // tee died of the same Ctrl-C
		stopAndCheck(t, d, syscall.SIGINT, allPidFiles...)
	})
}

// TestDemoStopsOnSignal checks SIGTERM (with the pipe's reader gone) and
// SIGHUP (the terminal closed, the reader still there).
func TestDemoStopsOnSignal(t *testing.T) {
	for _, tc := range []struct {
		sig       syscall.Signal
		closePipe bool
	}{{syscall.SIGTERM, true}, {syscall.SIGHUP, false}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			d := startDemo(t)
			d.waitLine(t, "Press Ctrl-C", startTimeout)
			if tc.closePipe {
				d.pipe.Close()
			}
			stopAndCheck(t, d, tc.sig, allPidFiles...)
		})
	}
}

// TestDemoInterruptedStartUp: Ctrl-C while the demo starts, once its agent
// runs, stops what it started so far, and says so.
func TestDemoInterruptedStartUp(t *testing.T) {
	d := startDemo(t)
	d.waitLine(t, "done   the demo process under zkwatch_agent", startTimeout)
	stopAndCheck(t, d, syscall.SIGINT, "agent.pid", "app-child.pid")
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d after an interrupted start-up", code)
	}
	// The reader may still be draining the pipe after the exit.
	d.waitLine(t, "start-up interrupted", 10*time.Second)
}

var progressRE = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3}  \[\s*(\d+)/(\d+)\] (start|done)\s+(.*?)(?: \(\d+\.\ds\))?$`)

// checkProgress wants, before the summary, a start line and then a done
// line for every step, in order, the first step announced at once.
func checkProgress(t *testing.T, lines []string) {
	t.Helper()
	end := indexOf(t, lines, "zkwatch demo is running")
	var got []string
	total := 0
	for _, l := range lines[:end] {
		m := progressRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		total, _ = strconv.Atoi(m[2])
		got = append(got, m[1]+" "+m[3]+" "+m[4])
	}
	if total < 10 || len(got) != 2*total {
		t.Fatalf("want a start and a done line for each of 10 or more steps, got %d lines for %d steps:\n%s", len(got), total, strings.Join(lines[:end], "\n"))
	}
	for i := 0; i < total; i++ {
		start, done := strings.SplitN(got[2*i], " ", 3), strings.SplitN(got[2*i+1], " ", 3)
		if start[0] != strconv.Itoa(i+1) || start[1] != "start" || done[0] != start[0] || done[1] != "done" || done[2] != start[2] {
			t.Errorf("step %d: lines %q, %q", i+1, got[2*i], got[2*i+1])
		}
	}
	if !progressRE.MatchString(lines[1]) {
		t.Errorf("the first step is not announced at once: %q", lines[:2])
	}
}

var urlRE = regexp.MustCompile(`http://127\.0\.0\.1:\d+[^\s)]*`)

func checkAddresses(t *testing.T, summary string) {
	urls := urlRE.FindAllString(summary, -1)
	if len(urls) < 12 {
		t.Fatalf("%d addresses in the summary:\n%s", len(urls), summary)
	}
	for _, u := range urls {
		if code, err := get(u); err != nil || code != http.StatusOK {
			t.Errorf("GET %s: HTTP %d, %v", u, code, err)
		}
	}
	lock := lineWith(t, summary, "zkwatch_agent lock")
	if !urlRE.MatchString(lock) {
		t.Errorf("the lock agent's line has no address: %q", lock)
	}
	// Say that Alertmanager has no web UI exactly when it has none.
	am := urlRE.FindString(lineWith(t, summary, "Alertmanager"))
	code, err := get(strings.TrimSuffix(am, "/") + "/script.js")
	if err != nil {
		t.Fatal(err)
	}
	if noUI, said := code != http.StatusOK, strings.Contains(summary, "has no web UI"); noUI != said {
		t.Errorf("Alertmanager without its web UI: %v; the demo says so: %v", noUI, said)
	}
}

// checkSilence runs the amtool command the demo prints.
func checkSilence(t *testing.T, summary string) {
	line := lineWith(t, summary, "silence an alert")
	args := strings.Fields(line[strings.Index(line, "amtool"):])
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	am := urlRE.FindString(line)
	body := getBody(t, am+"/api/v2/silences")
	if !strings.Contains(body, `"ZooKeeperMemberDown"`) {
		t.Errorf("no silence for ZooKeeperMemberDown in %s", body)
	}
}

func checkMembers(t *testing.T, d *demoRun, summary string) {
	addr := strings.Fields(lineWith(t, summary, "ZooKeeper member 1"))[3]
	srvr := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		out, err := fourlw.Do(ctx, addr, "srvr", 0)
		if err == nil && !strings.Contains(string(out), "Mode: ") {
			err = fmt.Errorf("srvr: %q", out)
		}
		return err
	}
	if out, err := d.demoCmd("member", "stop", "1"); err != nil || !strings.Contains(out, "stopped") {
		t.Fatalf("member stop 1: %v: %s", err, out)
	}
	if err := srvr(); err == nil {
		t.Fatalf("member 1 (%s) answers after member stop 1", addr)
	}
	if out, err := d.demoCmd("member", "stop", "1"); err == nil || !strings.Contains(out, "not running") {
		t.Errorf("member stop 1 twice: %v: %s", err, out)
	}
	for _, id := range []string{"4", "0", "x"} {
		if out, err := d.demoCmd("member", "stop", id); err == nil || !strings.Contains(out, "members 1 to 3") {
			t.Errorf("member stop %s: %v: %s", id, err, out)
		}
	}
	if out, err := d.demoCmd("member", "start", "1"); err != nil || !strings.Contains(out, "started") {
		t.Fatalf("member start 1: %v: %s", err, out)
	}
	if err := srvr(); err != nil {
		t.Errorf("member 1 (%s) after member start 1: %v", addr, err)
	}
	if out, err := d.demoCmd("member", "start", "1"); err == nil || !strings.Contains(out, "already running") {
		t.Errorf("member start 1 twice: %v: %s", err, out)
	}
	checkMemberRestart(t, d, addr)
	if out, err := exec.Command(filepath.Join(d.bin, "zkwatch-demo"), "--dir", t.TempDir(), "member", "stop", "1").CombinedOutput(); err == nil || !strings.Contains(string(out), "no demo is running") {
		t.Errorf("member stop without a demo: %v: %s", err, out)
	}
}

// checkMemberRestart: member restart returns only once a new process of
// the member answers (zkwatch_roll's per-member command relies on it).
func checkMemberRestart(t *testing.T, d *demoRun, addr string) {
	began := time.Now()
	if out, err := d.demoCmd("member", "restart", "1"); err != nil || !strings.Contains(out, "restarted: ") {
		t.Fatalf("member restart 1: %v: %s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out, err := fourlw.Do(ctx, addr, "mntr", 0)
	if err != nil {
		t.Fatalf("member 1 (%s) does not answer as member restart 1 returns: %v", addr, err)
	}
	var uptimeMs int64
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "zk_uptime\t"); ok {
			uptimeMs, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	if up := time.Duration(uptimeMs) * time.Millisecond; up <= 0 || up > time.Since(began) {
		t.Errorf("member 1 up for %v after a restart asked %v ago: not a new process (mntr %q)", up, time.Since(began), out)
	}
	if out, err := d.demoCmd("member", "stop", "1"); err != nil {
		t.Fatalf("member stop 1: %v: %s", err, out)
	}
	if out, err := d.demoCmd("member", "restart", "1"); err == nil || !strings.Contains(out, "not running") {
		t.Errorf("member restart of a stopped member: %v: %s", err, out)
	}
	if out, err := d.demoCmd("member", "start", "1"); err != nil {
		t.Fatalf("member start 1: %v: %s", err, out)
	}
}

// allPidFiles are the pid files of the agents and their children.
var allPidFiles = []string{"agent.pid", "app-child.pid", "lock-child.pid"}

// stopAndCheck signals the demo, once the processes of pidFiles run under
// it, and waits until it and every process it started are gone.
func stopAndCheck(t *testing.T, d *demoRun, sig syscall.Signal, pidFiles ...string) {
	t.Helper()
	// The processes to find gone afterwards; among them the agents'
	// children, which write their pid files once running.
	var procs map[int]uint64
	err := zktest.WaitFor(30*time.Second, 50*time.Millisecond, func() error {
		procs = descendants(d.cmd.Process.Pid)
		for _, f := range pidFiles {
			data, err := os.ReadFile(filepath.Join(d.dir, f))
			pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
			if _, ok := procs[pid]; err != nil || !ok {
				return fmt.Errorf("%s (%q, %v) is not among the demo's processes %v", f, data, err, procs)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	d.procs = procs
	if err := d.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("the demo did not exit within 60s of %s", sig)
	}
	err = zktest.WaitFor(30*time.Second, 50*time.Millisecond, func() error {
		var left []string
		for pid, start := range procs {
			if running(pid, start) {
				cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
				left = append(left, fmt.Sprintf("%d %.100s", pid, strings.ReplaceAll(string(cmdline), "\x00", " ")))
			}
		}
		if len(left) > 0 {
			return fmt.Errorf("still running:\n%s", strings.Join(left, "\n"))
		}
		return nil
	})
	if err != nil {
		t.Errorf("after %s: %v", sig, err)
	}
}

// descendants returns the processes under root, each with its start time.
func descendants(root int) map[int]uint64 {
	children := map[int][]int{}
	starts := map[int]uint64{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, start, _, err := procStat(pid)
		if err != nil {
			continue
		}
		children[ppid] = append(children[ppid], pid)
		starts[pid] = start
	}
	out := map[int]uint64{}
	for queue := children[root]; len(queue) > 0; queue = queue[1:] {
		pid := queue[0]
		out[pid] = starts[pid]
		queue = append(queue, children[pid]...)
	}
	return out
}

// running reports whether the process that had pid and start time runs
// (a zombie does not: it is dead, waiting for its new parent to reap it).
func running(pid int, start uint64) bool {
	_, st, state, err := procStat(pid)
	return err == nil && st == start && state != 'Z'
}

// procStat reads the parent, start time and state of pid.
func procStat(pid int) (ppid int, start uint64, state byte, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	// Fields after the parenthesised command name: state ppid ... with
	// the start time the 20th of them.
	i := strings.LastIndexByte(string(data), ')')
	f := strings.Fields(string(data[i+1:]))
	if i < 0 || len(f) < 20 {
		return 0, 0, 0, fmt.Errorf("/proc/%d/stat: %q", pid, data)
	}
	ppid, _ = strconv.Atoi(f[1])
	start, _ = strconv.ParseUint(f[19], 10, 64)
	return ppid, start, f[0][0], nil
}

func get(u string) (int, error) {
	resp, err := http.Get(u)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func getBody(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

func indexOf(t *testing.T, lines []string, s string) int {
	t.Helper()
	for i, l := range lines {
		if strings.Contains(l, s) {
			return i
		}
	}
	t.Fatalf("no line with %q", s)
	return -1
}

func lineWith(t *testing.T, text, s string) string {
	t.Helper()
	lines := strings.Split(text, "\n")
	return lines[indexOf(t, lines, s)]
}
