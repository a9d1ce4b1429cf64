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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// restartScript is the per-member command of the tests: it asks the test
// (through a request file) to restart the member, and waits for its answer.
// The test owns the ZooKeeper processes, so the member really restarts.
const restartScript = `d=$1; id=$2
: > "$d/req-$id.tmp" && mv "$d/req-$id.tmp" "$d/req-$id"
n=0
while [ ! -e "$d/done-$id" ]; do
  n=$((n+1)); if [ $n -gt 2400 ]; then echo "the test never answered" >&2; exit 3; fi
  sleep 0.05
done
rc=$(cat "$d/done-$id"); rm -f "$d/done-$id"; exit "$rc"
`

// control restarts the members the command asks for.
type control struct {
	t    *testing.T
	e    *zktest.Ensemble
	dir  string
	mu   sync.Mutex
	fail int          // id of a member that is stopped and not started again
	hook func(id int) // run after a requested restart, before answering
	asks []string     // "id:mode at the time of the request"
}

func startControl(t *testing.T, e *zktest.Ensemble) *control {
	c := &control{t: t, e: e, dir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(c.dir, "restart.sh"), []byte(restartScript), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			c.serve()
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return c
}

// serve handles the pending requests.
func (c *control) serve() {
	reqs, _ := filepath.Glob(filepath.Join(c.dir, "req-*"))
	for _, r := range reqs {
		if strings.HasSuffix(r, ".tmp") {
			continue
		}
		id, _ := strconv.Atoi(strings.TrimPrefix(filepath.Base(r), "req-"))
		_ = os.Remove(r)
		i := c.index(id)
		mode, _ := c.e.Mode(i)
		c.mu.Lock()
		c.asks = append(c.asks, fmt.Sprintf("%d:%s", id, mode))
		fail, hook := c.fail, c.hook
		c.mu.Unlock()
		rc := "0"
		if id == fail {
			c.e.Kill(i)
		} else if err := c.e.Restart(i); err != nil {
			c.t.Errorf("restart member %d: %v", id, err)
			rc = "1"
		}
		if hook != nil {
			hook(id)
		}
		if err := os.WriteFile(filepath.Join(c.dir, "done-"+strconv.Itoa(id)), []byte(rc), 0o644); err != nil {
			c.t.Error(err)
		}
	}
}

func (c *control) index(id int) int {
	for i, m := range c.e.Members {
		if m.ID == id {
			return i
		}
	}
	c.t.Fatalf("no member %d", id)
	return -1
}

func (c *control) requests() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.asks...)
}

func (c *control) argv(e *zktest.Ensemble, extra ...string) []string {
	args := append([]string{"--zookeeper.servers=" + e.Servers(), "--log.level=warn"}, extra...)
	return append(args, "--", "sh", filepath.Join(c.dir, "restart.sh"), c.dir, "{{.ID}}")
}

func runRoll(t *testing.T, args []string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	begin := time.Now()
	rc := run(args, &out, &errOut)
	t.Logf("zkwatch_roll exited %d after %s\nstdout:\n%s\nstderr:\n%s", rc, time.Since(begin).Round(time.Millisecond), out.String(), errOut.String())
	return rc, out.String(), errOut.String()
}

// rollWhole runs zkwatch_roll on e once it is whole: a refusal because the
// ensemble was degraded at that moment (a leader election on a machine
// under load) restarted nothing and is tried again.
func rollWhole(t *testing.T, e *zktest.Ensemble, c *control, args []string) (rc int, out, errOut string) {
	t.Helper()
	err := zktest.WaitFor(3*time.Minute, 100*time.Millisecond, func() error {
		if err := e.WaitHealthy(60 * time.Second); err != nil {
			return zktest.Permanent(err)
		}
		before := len(c.requests())
		rc, out, errOut = runRoll(t, args)
		if rc == 1 && strings.Contains(errOut, "refusing to start: the ensemble is degraded") && len(c.requests()) == before {
			return errors.New(errOut)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("the ensemble never stayed whole long enough to start: %v", err)
	}
	return rc, out, errOut
}

func jsonSteps(t *testing.T, out string) []map[string]any {
	t.Helper()
	var steps []map[string]any
	if strings.TrimSpace(out) == "" {
		return nil
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var s map[string]any
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		steps = append(steps, s)
	}
	return steps
}

// TestRollFiveMembers rolls a real 5-member ensemble (dry run, a whole
// roll, then a roll that stops at a member that does not come back) while
// every voter is asked every 100 ms whether it is alive and serves.
func TestRollFiveMembers(t *testing.T) {
	e := zktest.Start(t, 5)
	c := startControl(t, e)
	watch := zktest.WatchQuorum(e.Addrs(), 100*time.Millisecond)
	leader := e.Leader()

	rc, out, _ := rollWhole(t, e, c, c.argv(e, "--dry-run", "--format=json"))
	steps := jsonSteps(t, out)
	if rc != 0 || len(steps) != 5 {
		t.Fatalf("dry run: exit %d, %d steps", rc, len(steps))
	}
	if last := steps[4]; last["member"] != e.Members[leader].Addr() || last["role"] != "leader" || last["outcome"] != "planned" {
		t.Errorf("dry run's last step %v, want the leader %s", last, e.Members[leader].Addr())
	}
	if got := steps[0]["command"].([]any); got[len(got)-1] != strconv.Itoa(e.Members[0].ID) && got[len(got)-1] != strconv.Itoa(e.Members[1].ID) {
		t.Errorf("dry run's first command %v does not name the first follower's id", got)
	}
	if r := c.requests(); len(r) != 0 {
		t.Fatalf("dry run restarted %v", r)
	}

	rc, out, _ = rollWhole(t, e, c, c.argv(e, "--member-deadline=90s"))
	asks := c.requests()
	if rc != 0 || len(asks) != 5 {
		t.Fatalf("roll: exit %d, restarts %v", rc, asks)
	}
	seen := map[string]bool{}
	for i, a := range asks {
		id, mode, _ := strings.Cut(a, ":")
		if seen[id] {
			t.Errorf("member %s restarted twice: %v", id, asks)
		}
		seen[id] = true
		if want := map[bool]string{true: "leader", false: "follower"}[i == 4]; mode != want {
			t.Errorf("restart %d was of a %s, want a %s: %v", i+1, mode, want, asks)
		}
	}
	rows := strings.Split(strings.TrimSpace(out), "\n")[1:]
	for _, r := range rows {
		if f := strings.Fields(r); len(f) < 9 || f[7] != "ok" || f[8] != "0" {
			t.Errorf("row %q: want outcome ok and zxid lag 0", r)
		}
	}
	if len(rows) != 5 {
		t.Errorf("%d rows, want 5", len(rows))
	}

	// The second follower in the plan does not come back: the roll stops
	// there, names it, and restarts nothing after it.
	if err := e.WaitHealthy(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	leader = e.Leader()
	var followers []int
	for i := range e.Members {
		if i != leader {
			followers = append(followers, i)
		}
	}
	stuck := e.Members[followers[1]]
	c.mu.Lock()
	c.fail = stuck.ID
	c.mu.Unlock()
	rc, _, errOut := rollWhole(t, e, c, c.argv(e, "--member-deadline=10s"))
	want := fmt.Sprintf("stopped at step 2, member %s (id %d, follower): not_back: did not serve again within 10s", stuck.Addr(), stuck.ID)
	if rc != 1 || !strings.Contains(errOut, want) || !strings.Contains(errOut, e.Members[leader].Addr()) {
		t.Errorf("exit %d, stderr %q, want 1 and %q and the leader among those not restarted", rc, errOut, want)
	}
	if got := c.requests(); len(got) != 7 {
		t.Errorf("restarts %v, want 2 more after the first roll's 5", got)
	}

	w := watch.Stop()
	t.Logf("quorum watch: %d rounds of 100 ms, fewest voters alive %d of 5, fewest serving %d, %d rounds in leader elections, longest election %s, %d answers timed out",
		w.Rounds, w.MinAlive, w.MinServing, w.NoLeaderRounds, w.LongestElection.Round(time.Millisecond), w.Unknown)
	// Never more than one voter down at once, so never fewer than a quorum.
	if w.MinAlive < 4 || len(w.Lost) > 0 || w.Rounds < 100 {
		t.Errorf("fewest alive %d (want 4), quorum lost %v, rounds %d", w.MinAlive, w.Lost, w.Rounds)
	}
}

// TestRollLeaderChangeAndObserver refuses a degraded 3-voter ensemble with
// an observer, then rolls it while someone else restarts the leader during
// the first step: the roll reads the roles again, restarts each member
// once, the observer too, and the leader of the moment last.
func TestRollLeaderChangeAndObserver(t *testing.T) {
	e := zktest.Start(t, 4, func(o *zktest.Options) { o.Observers = 1 })
	c := startControl(t, e)
	watch := zktest.WatchQuorum(e.Addrs()[:3], 100*time.Millisecond)
	follower := (e.Leader() + 1) % 3

	e.Kill(follower)
	rc, _, errOut := runRoll(t, c.argv(e))
	if rc != 1 || !strings.Contains(errOut, "refusing to start: the ensemble is degraded") || !strings.Contains(errOut, e.Members[follower].Addr()+": "+e.Members[follower].Addr()+" mntr: connection refused") {
		t.Errorf("degraded ensemble: exit %d, stderr %q", rc, errOut)
	}
	if r := c.requests(); len(r) != 0 {
		t.Fatalf("a degraded ensemble was restarted: %v", r)
	}
	if err := e.Start(follower); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitHealthy(60 * time.Second); err != nil {
		t.Fatal(err)
	}

	// Someone else restarts the leader of the moment while the roll's
	// first member restarts: an election in the middle of the roll.
	var once sync.Once
	var otherLeader atomic.Int32
	otherLeader.Store(-1)
	c.mu.Lock()
	c.hook = func(int) {
		once.Do(func() {
			if err := e.WaitHealthy(60 * time.Second); err != nil {
				t.Error(err)
			}
			l := e.Leader()
			otherLeader.Store(int32(l))
			if err := e.Restart(l); err != nil {
				t.Error(err)
			}
		})
	}
	c.mu.Unlock()
	rc, out, _ := rollWhole(t, e, c, c.argv(e, "--format=json", "--member-deadline=90s"))
	w := watch.Stop()
	steps := jsonSteps(t, out)
	if rc != 0 || len(steps) != 4 {
		t.Fatalf("roll: exit %d, %d steps", rc, len(steps))
	}
	asks := c.requests()
	seen := map[string]bool{}
	for i, a := range asks {
		id, mode, _ := strings.Cut(a, ":")
		if seen[id] || (mode == "leader" && i != len(asks)-1) {
			t.Errorf("restarts %v: each member once, a leader only last", asks)
		}
		seen[id] = true
	}
	for i, s := range steps {
		if s["outcome"] != "ok" || s["zxid_lag"] != 0.0 {
			t.Errorf("step %v: want ok, zxid lag 0", s)
		}
		if s["role"] == "leader" && i != 3 {
			t.Errorf("step %d restarted the leader before the others: %v", i+1, steps)
		}
		if s["member"] == e.Members[3].Addr() && s["role"] != "observer" {
			t.Errorf("the observer's step says role %v", s["role"])
		}
		if l := otherLeader.Load(); l >= 0 && i > 0 && s["member"] == e.Members[l].Addr() && s["role"] != "follower" {
			t.Errorf("the old leader, restarted by someone else first, should be rolled as a follower: %v", s)
		}
	}
	if otherLeader.Load() < 0 {
		t.Error("the leader was not restarted during the roll")
	}
	t.Logf("restarts %v; quorum watch: %d rounds, fewest voters alive %d of 3, %d rounds in leader elections, longest %s",
		asks, w.Rounds, w.MinAlive, w.NoLeaderRounds, w.LongestElection.Round(time.Millisecond))
	if w.MinAlive < 2 || len(w.Lost) > 0 {
		t.Errorf("fewest alive %d, quorum lost %v", w.MinAlive, w.Lost)
	}
}

// TestRollTLS plans a roll of a 3-member ensemble through the members'
// secure client ports with the exporter's --zookeeper.tls.* flags (client
// certificate required): roles, ids, ruok and catch-up are all read over
// TLS. Without the flags the same ports are refused as degraded.
func TestRollTLS(t *testing.T) {
	e := zktest.Start(t, 3, func(o *zktest.Options) { o.TLS = &zktest.TLSOptions{ClientAuth: "need"} })
	c := startControl(t, e)
	servers := "--zookeeper.servers=" + strings.Join(e.SecureAddrs(), ",")
	cmd := []string{"--", "sh", filepath.Join(c.dir, "restart.sh"), c.dir, "{{.ID}}"}
	certs := e.Certs.Client()
	rc, out, _ := rollWhole(t, e, c, append([]string{servers, "--dry-run", "--format=json", "--zookeeper.timeout=10s", "--zookeeper.tls.ca-file=" + certs.CAFile,
		"--zookeeper.tls.cert-file=" + certs.CertFile, "--zookeeper.tls.key-file=" + certs.KeyFile}, cmd...))
	steps := jsonSteps(t, out)
	leader := e.Leader()
	if rc != 0 || len(steps) != 3 || steps[2]["member"] != e.Members[leader].SecureAddr() || steps[2]["role"] != "leader" ||
		steps[2]["id"] != float64(e.Members[leader].ID) {
		t.Errorf("exit %d, plan %v: want 3 steps, the leader %s last", rc, steps, e.Members[leader].SecureAddr())
	}
	rc, _, errOut := runRoll(t, append([]string{servers, "--dry-run", "--zookeeper.timeout=1s"}, cmd...))
	if rc != 1 || !strings.Contains(errOut, "refusing to start: the ensemble is degraded") {
		t.Errorf("plain four-letter words to TLS ports: exit %d, %q", rc, errOut)
	}
	if r := c.requests(); len(r) != 0 {
		t.Errorf("a dry run restarted %v", r)
	}

	// A command that fails, and one that outlives --command-timeout, stop
	// the roll at its first member with the command's own words.
	tlsFlags := []string{servers, "--zookeeper.timeout=10s", "--zookeeper.tls.ca-file=" + certs.CAFile,
		"--zookeeper.tls.cert-file=" + certs.CertFile, "--zookeeper.tls.key-file=" + certs.KeyFile}
	rc, out, errOut = rollWhole(t, e, c, append(tlsFlags, "--", "sh", "-c", "echo no such unit >&2; exit 3", "{{.Host}}"))
	if rc != 1 || !strings.Contains(errOut, "stopped at step 1, member "+e.SecureAddrs()[0]) || !strings.Contains(errOut, "command_failed") ||
		!strings.Contains(errOut, "exited 3") || !strings.Contains(errOut, "no such unit") || !strings.Contains(out, "command_failed") {
		t.Errorf("failing command: exit %d, stderr %q", rc, errOut)
	}
	rc, _, errOut = rollWhole(t, e, c, append(tlsFlags, "--command-timeout=500ms", "--", "sleep", "30"))
	if rc != 1 || !strings.Contains(errOut, "command_failed") || !strings.Contains(errOut, "timed out after 500ms") {
		t.Errorf("command past its timeout: exit %d, stderr %q", rc, errOut)
	}
}

// TestFlagsRefused: bad flags, addresses and templates exit 2 before any
// member is asked anything.
func TestFlagsRefused(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--zookeeper.servers=zk1:2181", "--", "restart", "{{.Host}}"}, ""},
		{[]string{"--zookeeper.servers=zk1:2181"}, "no command"},
		{[]string{"--zookeeper.servers=zk1:2181,zk1:2181", "--", "restart"}, "listed twice"},
		{[]string{"--zookeeper.servers=-oProxyCommand=x:2181", "--", "restart"}, "refused"},
		{[]string{"--zookeeper.servers=zk1", "--", "restart"}, "missing port"},
		{[]string{"--zookeeper.servers=zk1:2181", "--", "restart", "{{.Hostname}}"}, "Hostname"},
		{[]string{"--zookeeper.servers=zk1:2181", "--", "{{.Host}}"}, "the program is not a template"},
		{[]string{"--zookeeper.servers=zk1:2181", "--member-deadline=0s", "--", "restart"}, "must be positive"},
		{[]string{"--zookeeper.servers=zk1:2181", "--format=yaml", "--", "restart"}, "yaml"},
	} {
		var out, errOut bytes.Buffer
		// An unreachable member: a valid command line gets as far as the
		// degraded check (exit 1), a bad one stops at 2 before it.
		args := append([]string{"--zookeeper.timeout=100ms", "--log.level=error"}, c.args...)
		rc := run(args, &out, &errOut)
		switch {
		case c.want == "" && rc != 1:
			t.Errorf("%q: exit %d, want 1 (refused as degraded): %s", c.args, rc, errOut.String())
		case c.want != "" && (rc != 2 || !strings.Contains(errOut.String(), c.want)):
			t.Errorf("%q: exit %d, stderr %q, want 2 and %q", c.args, rc, errOut.String(), c.want)
		}
	}
}
