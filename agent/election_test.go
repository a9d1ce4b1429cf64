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

package agent

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/zkwatch/zkwatch/agent/supervise"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

func TestSortedContendersByMarker(t *testing.T) {
	in := []string{
		"_c_b-latch-0000000003",
		"_c_d-lock-0000000000",
		"latch-0000000002",
		"_c_a-latch-0000000010",
	}
	if got, want := sortedContenders(in, latchName), []string{"latch-0000000002", "_c_b-latch-0000000003", "_c_a-latch-0000000010"}; !reflect.DeepEqual(got, want) {
		t.Errorf("latch: got %v, want %v", got, want)
	}
	if got, want := sortedContenders(in, lockName), []string{"_c_d-lock-0000000000"}; !reflect.DeepEqual(got, want) {
		t.Errorf("lock: got %v, want %v", got, want)
	}
}

// electionRun is RunElection in the background; its command writes its
// pid and its background child's to dir/pid and dir/bg.
type electionRun struct {
	m   *Metrics
	s   *Session
	dir string
}

func startElection(t *testing.T, servers, path string) *electionRun {
	t.Helper()
	e := &electionRun{m: NewMetrics(nil), dir: t.TempDir()}
	e.s = dial(t, servers, e.m)
	sc := supervise.Config{Args: []string{"sh", "-c", `echo $$ > "$0/pid"; sleep 1000 & echo $! > "$0/bg"; wait`, e.dir},
		Restart: supervise.Always, BackoffMin: 50 * time.Millisecond, BackoffMax: 100 * time.Millisecond, StopTimeout: 5 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = RunElection(ctx, e.s, ElectionConfig{Path: path, Data: []byte("127.0.0.1"), Supervise: sc}, e.m, testLogger(t))
	}()
	t.Cleanup(func() { cancel(); <-done })
	return e
}

// tree waits until the command and its background child run, and returns
// their pids.
func (e *electionRun) tree(t *testing.T) []int {
	t.Helper()
	var pids []int
	if err := zktest.WaitFor(waitLong, 10*time.Millisecond, func() error {
		pids = pids[:0]
		for _, f := range []string{"pid", "bg"} {
			pid, err := supervise.ReadPIDFile(filepath.Join(e.dir, f))
			if err != nil {
				return err
			}
			if !supervise.Alive(pid) {
				return fmt.Errorf("%s %d not running", f, pid)
			}
			pids = append(pids, pid)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return pids
}

// checkLeads waits until leader believes it leads path in the session
// that owns the leader node, and the others believe nothing.
func checkLeads(t *testing.T, obs *zk.Conn, path string, leader *electionRun, others ...*electionRun) {
	t.Helper()
	if err := zktest.WaitFor(waitLong, 10*time.Millisecond, func() error {
		holder, err := holderSession(obs, path, latchName)
		if err != nil {
			return err
		}
		if got := belief(t, leader.m.ElectionLeaderInfo, "election", path); got != holder || testutil.ToFloat64(leader.m.ElectionLeader) != 1 {
			return fmt.Errorf("leader believes in %q (leader gauge %v), ZooKeeper's leader node is owned by %s", got, testutil.ToFloat64(leader.m.ElectionLeader), holder)
		}
		for _, o := range others {
			if got := belief(t, o.m.ElectionLeaderInfo, "election", path); got != "" || testutil.ToFloat64(o.m.ElectionLeader) != 0 {
				return fmt.Errorf("a non-leader believes in %q", got)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// waitGone waits until none of pids runs.
func waitGone(t *testing.T, pids []int, during func()) {
	t.Helper()
	if err := zktest.WaitFor(waitLong, 5*time.Millisecond, func() error {
		if during != nil {
			during()
		}
		for _, pid := range pids {
			if supervise.Alive(pid) {
				return fmt.Errorf("pid %d still runs", pid)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

var latchNode = regexp.MustCompile(`^_c_[0-9a-f-]{36}-latch-[0-9]{10}$`)

// TestElection: two agents in one election as Curator LeaderLatch
// participants; exactly one leads, and its belief names the session that
// owns the leader node. A leader cut off from ZooKeeper stops its
// command's whole tree before the server expires its session (its latch
// node still there), and the other leads once it has; a leader whose
// latch node is deleted while it is connected stops its tree too.
func TestElection(t *testing.T) {
	const path = "/elections/agent"
	ens := zktest.Start(t, 1)
	proxy, err := zktest.NewProxy(ens.Addrs()...)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	obs := observer(t, ens.Servers())
	a := startElection(t, strings.Join(proxy.Addrs(), ","), path)
	waitGauge(t, a.m.ElectionLeader, 1)
	b := startElection(t, ens.Servers(), path)
	nodes := waitParticipants(t, obs, path, 2)
	for _, n := range nodes {
		if !latchNode.MatchString(n) {
			t.Fatalf("participant %q not in LeaderLatch layout", n)
		}
	}
	checkLeads(t, obs, path, a, b)
	nodeA := path + "/" + sortedContenders(nodes, latchName)[0]

	treeA := a.tree(t)
	cut := time.Now()
	proxy.Blackhole()
	latchLeft := true
	waitGone(t, treeA, func() {
		ok, _, err := obs.Exists(nodeA)
		latchLeft = err == nil && ok
	})
	stopped := time.Since(cut)
	if !latchLeft {
		t.Error("A's command still ran when the server dropped its latch node")
	}
	checkLeads(t, obs, path, b, a)
	t.Logf("after the cut (session %s): A's command tree gone at %s, B leads at %s", a.s.Timeout(),
		stopped.Round(time.Millisecond), time.Since(cut).Round(time.Millisecond))
	proxy.Restore()

	nodes = waitParticipants(t, obs, path, 2)
	treeB := b.tree(t)
	deleted := time.Now()
	if err := obs.Delete(path+"/"+sortedContenders(nodes, latchName)[0], -1); err != nil {
		t.Fatal(err)
	}
	waitGone(t, treeB, nil)
	t.Logf("B's latch node deleted: its command tree gone %s after", time.Since(deleted).Round(time.Millisecond))
	checkLeads(t, obs, path, a, b)
}

// waitParticipants waits until path has n children and returns them.
func waitParticipants(t *testing.T, obs *zk.Conn, path string, n int) []string {
	t.Helper()
	var nodes []string
	if err := zktest.WaitFor(waitLong, 10*time.Millisecond, func() error {
		var err error
		nodes, _, err = obs.Children(path)
		if err == nil && len(nodes) != n {
			err = fmt.Errorf("participants %v", nodes)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return nodes
}
