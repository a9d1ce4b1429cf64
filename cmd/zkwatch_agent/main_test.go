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
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/agent"
	"github.com/zkwatch/zkwatch/agent/supervise"
	"github.com/zkwatch/zkwatch/internal/zksession"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

var agentBin string

func TestMain(m *testing.M) {
	supervise.RunShimIfAsked()
	dir, err := os.MkdirTemp("", "zkwatch_agent_test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	agentBin = filepath.Join(dir, "zkwatch_agent")
	if out, err := exec.Command("go", "build", "-o", agentBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build zkwatch_agent: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	sessionTimeout = 2 * time.Second
	waitLong       = 30 * time.Second
)

// agentProc is a running zkwatch_agent binary.
type agentProc struct {
	cmd  *exec.Cmd
	addr string
	log  *zktest.SyncBuffer
	done chan struct{}
}

// startAgent runs the agent with the given arguments after the common flags.
func startAgent(t *testing.T, servers string, args ...string) *agentProc {
	t.Helper()
	ports, err := zktest.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	a := &agentProc{addr: fmt.Sprintf("127.0.0.1:%d", ports[0]), log: &zktest.SyncBuffer{}, done: make(chan struct{})}
	full := []string{"--zookeeper.servers=" + servers, "--web.listen-address=" + a.addr, "--log.level=debug"}
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--zookeeper.session-timeout=") }) {
		full = append(full, "--zookeeper.session-timeout="+sessionTimeout.String())
	}
	if !hasIdentityFlags(args) {
		// Tests of other features run without credentials, which needs
		// open nodes spelled out.
		full = append(full, "--zookeeper.acl=open")
	}
	full = append(full, args...)
	a.cmd = exec.Command(agentBin, full...)
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	// A process that outlived the agent holding its output must not hang
	// the test.
	a.cmd.WaitDelay = 5 * time.Second
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = a.cmd.Wait(); close(a.done) }()
	t.Cleanup(func() {
		_ = a.cmd.Process.Kill()
		<-a.done
		if t.Failed() {
			t.Logf("agent %v log:\n%s", args, a.log.String())
		}
	})
	return a
}

// hasIdentityFlags reports whether args choose an ACL or credentials.
func hasIdentityFlags(args []string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, "--zookeeper.acl") || strings.HasPrefix(a, "--zookeeper.auth.") || strings.HasPrefix(a, "--zookeeper.tls.cert-file") {
			return true
		}
	}
	return false
}

func (a *agentProc) signal(sig syscall.Signal) { _ = a.cmd.Process.Signal(sig) }

func (a *agentProc) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case <-a.done:
	case <-time.After(waitLong):
		t.Fatal("agent did not exit")
	}
	return a.cmd.ProcessState.ExitCode()
}

// metric scrapes one unlabelled sample from the agent's /metrics.
func (a *agentProc) metric(name string) (float64, error) {
	resp, err := http.Get("http://" + a.addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == name {
			return strconv.ParseFloat(f[1], 64)
		}
	}
	return 0, fmt.Errorf("%s not found", name)
}

func observer(t *testing.T, servers string) *zk.Conn {
	t.Helper()
	c, _, err := zk.Connect(strings.Split(servers, ","), sessionTimeout, zk.WithLogInfo(false), zk.WithLogger(zksession.Logger(log.NewNopLogger())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func readPID(path string) (int, error) { return supervise.ReadPIDFile(path) }

func TestHealthyAndHelp(t *testing.T) {
	out, err := exec.Command(agentBin, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("--help: %v\n%s", err, out)
	}
	for _, want := range []string{"_c_<uuid>-lock-", "_c_<uuid>-latch-", "ROOT/Workers/NAME", "start_time"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("--help does not document %q", want)
		}
	}
	// Bad input: a clear error and exit code 2, before any connection.
	for _, args := range [][]string{
		{"--register=/monitor/app", "--member=x"},
		{"--register=monitor", "--member=x", "--", "true"},
		{"--register=/m", "--member=a/b", "--", "true"},
		{"--register=/m", "--member=x", "--data={bad", "--", "true"},
		{"--register=/m", "--health.http=ftp://x", "--", "true"},
		{"lock", "--path=/l", "--restart=sometimes", "--", "true"},
		{"election", "--path=elections/x", "--", "true"},
		{"election", "--path=/elections/x"},
	} {
		cmd := exec.Command(agentBin, append([]string{"--zookeeper.servers=127.0.0.1:1"}, args...)...)
		out, err := cmd.CombinedOutput()
		if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 2 {
			t.Errorf("%v: want exit code 2, got %v\n%s", args, err, out)
		}
	}
}

func TestLock(t *testing.T) {
	ens := zktest.Start(t, 1)
	obs := observer(t, ens.Servers())
	dir := t.TempDir()
	const lockPath = "/locks/job"
	script := `echo $$ > "$0/$1.pid"; exec sleep 1000`
	a := startAgent(t, ens.Servers(), "lock", "--path="+lockPath, "--", "sh", "-c", script, dir, "a")
	b := startAgent(t, ens.Servers(), "lock", "--path="+lockPath, "--", "sh", "-c", script, dir, "b")
	agents := map[string]*agentProc{"a": a, "b": b}

	// Both contend (two contender nodes in Curator's layout); one runs.
	var holder, waiter string
	if err := zktest.WaitFor(waitLong, 20*time.Millisecond, func() error {
		children, _, err := obs.Children(lockPath)
		if err != nil {
			return err
		}
		if len(children) != 2 {
			return fmt.Errorf("contenders %v", children)
		}
		for _, c := range children {
			if !strings.HasPrefix(c, "_c_") || !strings.Contains(c, "-lock-") || len(c) != len("_c_")+36+len("-lock-")+10 {
				return fmt.Errorf("contender %q not in InterProcessMutex layout", c)
			}
			if data, _, err := obs.Get(lockPath + "/" + c); err != nil || string(data) != "127.0.0.1" {
				return fmt.Errorf("contender %s data %q (%v), want the client IP", c, data, err)
			}
		}
		running := 0
		for name := range agents {
			if pid, err := readPID(filepath.Join(dir, name+".pid")); err == nil && supervise.Alive(pid) {
				running++
				holder = name
			}
		}
		if running != 1 {
			return fmt.Errorf("%d commands running", running)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	waiter = map[string]string{"a": "b", "b": "a"}[holder]
	if _, err := os.Stat(filepath.Join(dir, waiter+".pid")); err == nil {
		t.Fatalf("the waiting agent %s ran its command", waiter)
	}
	if err := zktest.WaitFor(waitLong, 20*time.Millisecond, func() error {
		for name, want := range map[string]float64{holder: 1, waiter: 0} {
			v, err := agents[name].metric("zkwatch_agent_lock_held")
			if err != nil {
				return err
			}
			if v != want {
				return fmt.Errorf("%s: lock_held %v, want %v", name, v, want)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Lock agents are never "registered": exporting registered 0 would fire
	// ZooKeeperAgentNotRegistered for a healthy waiter or holder.
	for name, a := range agents {
		if v, err := a.metric("zkwatch_agent_registered"); err == nil {
			t.Errorf("lock agent %s exports zkwatch_agent_registered %v", name, v)
		}
	}

	// Kill the holder: its command dies with it, and the waiter takes over
	// once the holder's session expires.
	holderPID, _ := readPID(filepath.Join(dir, holder+".pid"))
	killed := time.Now()
	agents[holder].cmd.Process.Kill()
	if err := zktest.WaitFor(waitLong, 10*time.Millisecond, func() error {
		if supervise.Alive(holderPID) {
			return fmt.Errorf("command of the killed agent still runs")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := zktest.WaitFor(waitLong, 10*time.Millisecond, func() error {
		pid, err := readPID(filepath.Join(dir, waiter+".pid"))
		if err != nil {
			return err
		}
		if !supervise.Alive(pid) {
			return fmt.Errorf("not running")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	took := time.Since(killed)
	t.Logf("takeover %s after the holder was killed (session timeout %s)", took, sessionTimeout)
	if took > sessionTimeout+3*time.Second {
		t.Errorf("takeover took %s, want about the session timeout %s", took, sessionTimeout)
	}

	// SIGTERM: forwarded to the command, lock released, the command's code.
	agents[waiter].signal(syscall.SIGTERM)
	if code := agents[waiter].exitCode(t); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit code %d, want %d (sleep killed by SIGTERM)", code, 128+int(syscall.SIGTERM))
	}
	children, _, err := obs.Children(lockPath)
	if err != nil || len(children) != 0 {
		t.Errorf("lock not released: %v %v", children, err)
	}
}

// taskScript runs one task: it records an overlap if the task's previous
// run is still alive, then start and done lines around a short sleep. While
// the file hold-WORKER exists, that worker's runs wait before finishing, so
// the test can kill a worker in the middle of a task.
const taskScript = `d=$0; t=$1; w=$2
if [ -f "$d/$t.pid" ]; then p=$(cat "$d/$t.pid"); if kill -0 "$p" 2>/dev/null; then echo "$t $p" >> "$d/overlap"; fi; fi
echo $$ > "$d/$t.pid"
echo "start $w" >> "$d/$t.log"
sleep 0.05
while [ -e "$d/hold-$w" ]; do sleep 0.02; done
echo "done $w" >> "$d/$t.log"`

func TestWorkers(t *testing.T) {
	ens := zktest.Start(t, 1)
	obs := observer(t, ens.Servers())
	dir := t.TempDir()
	const root = "/jobs/pool"
	const n = 100
	if _, err := obs.Create("/jobs", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{root, root + "/Tasks", root + "/Workers"} {
		if _, err := obs.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		if _, err := obs.Create(fmt.Sprintf("%s/Tasks/task-%03d", root, i), nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	taskStates := func() (map[string]agentTask, error) {
		out := map[string]agentTask{}
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("task-%03d", i)
			data, _, err := obs.Get(root + "/Tasks/" + name)
			if err != nil {
				return nil, err
			}
			out[name] = parseTask(data)
		}
		return out, nil
	}
	worker := func(name string) *agentProc {
		return startAgent(t, ens.Servers(), "worker", "--root="+root, "--member="+name, "--",
			"sh", "-c", taskScript, dir, "{{.Task}}", "{{.Worker}}")
	}

	// w1 alone claims everything (its fair share is all pending tasks).
	w1 := worker("w1")
	if err := zktest.WaitFor(waitLong, 20*time.Millisecond, func() error {
		ts, err := taskStates()
		if err != nil {
			return err
		}
		if c := countBy(ts, "w1", ""); c < n/2 {
			return fmt.Errorf("w1 holds %d tasks", c)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Two workers join: w1 releases unstarted tasks above its fair share
	// and the newcomers run some.
	w2, w3 := worker("w2"), worker("w3")
	if err := zktest.WaitFor(waitLong, 20*time.Millisecond, func() error {
		ts, err := taskStates()
		if err != nil {
			return err
		}
		for _, w := range []string{"w2", "w3"} {
			if countBy(ts, w, "done") == 0 {
				return fmt.Errorf("%s has completed nothing", w)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Kill w1 in the middle of a task: hold its runs, wait for one that is
	// held, then kill.
	if err := os.WriteFile(filepath.Join(dir, "hold-w1"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var interrupted []string
	var ts map[string]agentTask
	if err := zktest.WaitFor(waitLong, 20*time.Millisecond, func() error {
		var err error
		if ts, err = taskStates(); err != nil {
			return err
		}
		interrupted = nil
		for name, task := range ts {
			if task.Worker != "w1" || task.State != "running" {
				continue
			}
			b, _ := os.ReadFile(filepath.Join(dir, name+".log"))
			pid, _ := readPID(filepath.Join(dir, name+".pid"))
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			if lines[len(lines)-1] == "start w1" && supervise.Alive(pid) {
				interrupted = append(interrupted, name)
			}
		}
		if len(interrupted) == 0 {
			return fmt.Errorf("no w1 task held mid-run")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	w1Held := countBy(ts, "w1", "") - countBy(ts, "w1", "done")
	w1.cmd.Process.Kill()
	t.Logf("killed w1 holding %d unfinished tasks, running %v", w1Held, interrupted)

	if err := zktest.WaitFor(60*time.Second, 50*time.Millisecond, func() error {
		ts, err := taskStates()
		if err != nil {
			return err
		}
		done := 0
		for _, task := range ts {
			if task.State == "done" {
				done++
			}
		}
		if done != n {
			return fmt.Errorf("%d of %d tasks done", done, n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ts, _ = taskStates()
	t.Logf("done by w1=%d w2=%d w3=%d", countBy(ts, "w1", "done"), countBy(ts, "w2", "done"), countBy(ts, "w3", "done"))
	if b, err := os.ReadFile(filepath.Join(dir, "overlap")); err == nil {
		t.Errorf("two runs of a task at the same time:\n%s", b)
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("task-%03d", i)
		b, err := os.ReadFile(filepath.Join(dir, name+".log"))
		if err != nil {
			t.Errorf("%s never ran: %v", name, err)
			continue
		}
		var doneBy []string
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if w, ok := strings.CutPrefix(l, "done "); ok {
				doneBy = append(doneBy, w)
			}
		}
		if len(doneBy) != 1 {
			t.Errorf("%s completed %d times (%v), want exactly once", name, len(doneBy), doneBy)
			continue
		}
		if ts[name].Worker != doneBy[0] {
			t.Errorf("%s: run by %s but marked done by %q", name, doneBy[0], ts[name].Worker)
		}
	}
	for _, name := range interrupted {
		if w := ts[name].Worker; w == "w1" {
			t.Errorf("%s was running on the killed w1 and was not taken over", name)
		}
	}
	for _, w := range []*agentProc{w2, w3} {
		w.signal(syscall.SIGTERM)
		if code := w.exitCode(t); code != 0 {
			t.Errorf("worker exit code %d", code)
		}
	}
	workers, _, err := obs.Children(root + "/Workers")
	if err != nil || len(workers) != 0 {
		t.Errorf("workers left registered: %v %v", workers, err)
	}
}

type agentTask struct{ Worker, State string }

func parseTask(data []byte) agentTask {
	t := agent.ParseTask(data)
	return agentTask{t.Worker, t.State}
}

// countBy counts tasks of a worker, in one state or ("") any.
func countBy(ts map[string]agentTask, worker, state string) int {
	c := 0
	for _, t := range ts {
		if t.Worker == worker && (state == "" || t.State == state) {
			c++
		}
	}
	return c
}

func TestRegisterBinary(t *testing.T) {
	ens := zktest.Start(t, 1)
	obs := observer(t, ens.Servers())
	a := startAgent(t, ens.Servers(), "--register=/monitor/app", "--member=node1", "--data={\"role\":\"api\"}", "--", "sleep", "100")
	if err := zktest.WaitFor(waitLong, 10*time.Millisecond, func() error {
		data, st, err := obs.Get("/monitor/app/node1")
		if err != nil {
			return err
		}
		if st.EphemeralOwner == 0 || string(data) != `{"role":"api"}` {
			return fmt.Errorf("node data %q owner %x", data, st.EphemeralOwner)
		}
		if v, err := a.metric("zkwatch_agent_registered"); err != nil || v != 1 {
			return fmt.Errorf("registered %v %v", v, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + a.addr + "/-/healthy")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/-/healthy: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Get("http://" + a.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"zkwatch_agent_build_info", "zkwatch_agent_child_restarts_total 0", "zkwatch_agent_session_expirations_total 0",
		"zkwatch_agent_conflicts_total 0", "go_goroutines", "process_cpu_seconds_total"} {
		if !strings.Contains(string(body), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	// A register agent holds no lock and runs no tasks: it does not claim
	// "lock_held 0" or task counts.
	for _, name := range []string{"zkwatch_agent_lock_held", "zkwatch_agent_tasks"} {
		if strings.Contains(string(body), name) {
			t.Errorf("register agent exports %s", name)
		}
	}
	a.signal(syscall.SIGTERM)
	if code := a.exitCode(t); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit code %d, want %d (sleep killed by the forwarded SIGTERM)", code, 128+int(syscall.SIGTERM))
	}
	if ok, _, err := obs.Exists("/monitor/app/node1"); err != nil || ok {
		t.Errorf("member node left after exit: %v %v", ok, err)
	}
}
