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

package mixin_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// conformanceConfig is one ZooKeeper configuration of the matrix and the
// faults it goes through. Faults run on one ensemble, healed in between.
type conformanceConfig struct {
	name, setup string // setup: what differs from the harness's defaults, for the doc
	run         func(t *testing.T, m *matrix, name string)
}

var conformanceConfigs = []conformanceConfig{
	{"1 member", "standalone", runSingle},
	{"3 members", "`syncLimit=150` so that a paused follower stays in the ensemble", runThree},
	{"5 members", "", runFive},
	{"3 members + 1 observer", "`peerType=observer`, `server.4=...:observer`", runObserver},
	{"read-only mode", "3 members, `readonlymode.enabled=true` and `-Dreadonlymode.enabled=true`", runReadOnly},
	{"srvr only", "3 members, `4lw.commands.whitelist=srvr`", runSrvrOnly},
	{"AdminServer", "3 members, server-default whitelist (ZooKeeper 3.8 always allows `srvr`), exporter `--zookeeper.transport=admin`", runAdmin},
	{"dynamic reconfiguration", "3 members, `reconfigEnabled=true`, `skipACL=yes`, members with client addresses; the exporter is given the first three only", runReconfig},
	{"digest ACL", "3 members, watched group readable only with a digest identity, exporter `--watch.auth.digest-file`", runDigest},
	{"TLS", "3 members serving `secureClientPort` (Netty, `ssl.clientAuth=need`, certificates made at test time); the exporter is given the secure ports only, with `--zookeeper.tls.ca-file`, `--zookeeper.tls.cert-file`, `--zookeeper.tls.key-file`, and watches a group over TLS", runTLS},
}

func runSingle(t *testing.T, m *matrix, name string) {
	r := m.start(t, name, 1, nil, nil)
	r.settleHealthy(t, r.expect(1, 0, ""))
	r.ens.Kill(0)
	r.record(t, "member killed", r.expect(1, 0, "", 0), alertOn("ZooKeeperMemberDown", 0), alertOn("ZooKeeperQuorumLost"), alertOn("ZooKeeperNoLeader"))
}

func runThree(t *testing.T, m *matrix, name string) {
	r := m.start(t, name, 3, func(o *zktest.Options) { o.Extra = map[string]string{"syncLimit": "150"} }, nil)
	healthy := func() truth { return r.expect(2, 0, "") }
	r.settleHealthy(t, healthy())

	leader := r.ens.Leader()
	f := (leader + 1) % 3
	lag := healthy()
	lag.lagOver = f
	conn := connect(t, []string{r.addrs[leader]}) // a client of the paused member would stall
	// A first write puts every follower into the leader's epoch, so the
	// lag below is a count of transactions, not an older epoch.
	if _, err := conn.Create("/lag", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	r.scrapeUntil(t, "first write applied", healthy())
	r.ens.Pause(f)
	if err := zktest.WriteChildren(conn, "/lag", 8000); err != nil {
		t.Fatal(err)
	}
	r.ens.Resume(f)
	// The resumed follower applies what it missed within a second: the
	// first scrapes after it answers again show its lag.
	r.record(t, "follower lagging under writes", lag, alertOn("ZooKeeperFollowerLagging", f))
	r.heal(t, healthy)

	r.ens.Pause(f)
	paused := r.expect(2, 0, "", f)
	// Without writes the leader has no proposal the paused follower fails
	// to acknowledge within syncLimit: it still counts it as synced.
	paused.ensemble["synced_followers"] = 2
	r.record(t, "member paused", paused, alertOn("ZooKeeperMemberDown", f), alertOn("ZooKeeperQuorumAtRisk"))
	r.heal(t, healthy)

	r.ens.Kill(f)
	r.record(t, "member killed", r.expect(2, 0, "", f), alertOn("ZooKeeperMemberDown", f), alertOn("ZooKeeperQuorumAtRisk"))
	r.heal(t, healthy)

	leader = killLeader(t, r.ens)
	r.record(t, "leader killed", r.expect(2, 0, "", leader), alertOn("ZooKeeperMemberDown", leader), alertOn("ZooKeeperQuorumAtRisk"))
	r.heal(t, healthy)

	runRestarts(t, r)

	leader = r.ens.Leader()
	other := (leader + 1) % 3
	r.ens.Kill(leader)
	r.ens.Kill(other)
	r.record(t, "quorum lost", r.expect(2, 0, "looking", leader, other),
		alertOn("ZooKeeperMemberDown", leader, other), alertOn("ZooKeeperQuorumLost"), alertOn("ZooKeeperNoLeader"))
}

func runFive(t *testing.T, m *matrix, name string) {
	r := m.start(t, name, 5, nil, nil)
	r.settleHealthy(t, r.expect(3, 0, ""))
	leader := killLeader(t, r.ens)
	r.record(t, "leader killed", r.expect(3, 0, "", leader), alertOn("ZooKeeperMemberDown", leader))
	second := r.ens.Leader()
	third := (second + 1) % 5
	if third == leader {
		third = (third + 1) % 5
	}
	r.ens.Kill(second)
	r.ens.Kill(third)
	r.record(t, "quorum lost", r.expect(3, 0, "looking", leader, second, third),
		alertOn("ZooKeeperMemberDown", leader, second, third), alertOn("ZooKeeperQuorumLost"), alertOn("ZooKeeperNoLeader"))
}

func runObserver(t *testing.T, m *matrix, name string) {
	r := m.start(t, name, 4, func(o *zktest.Options) { o.Observers = 1 }, nil)
	healthy := func() truth { return r.expect(2, 1, "") }
	r.settleHealthy(t, healthy())
	r.ens.Kill(3)
	r.record(t, "member killed (the observer)", r.expect(2, 1, "", 3), alertOn("ZooKeeperMemberDown", 3))
	r.heal(t, healthy)
	leader := killLeader(t, r.ens)
	r.record(t, "leader killed", r.expect(2, 1, "", leader), alertOn("ZooKeeperMemberDown", leader), alertOn("ZooKeeperQuorumAtRisk"))
}

func runReadOnly(t *testing.T, m *matrix, name string) {
	r := m.start(t, name, 3, func(o *zktest.Options) {
		o.Extra = map[string]string{"readonlymode.enabled": "true"}
		o.JVMFlags = []string{"-Dreadonlymode.enabled=true"}
	}, nil)
	r.settleHealthy(t, r.expect(2, 0, ""))
	leader := r.ens.Leader()
	other := (leader + 1) % 3
	r.ens.Kill(leader)
	r.ens.Kill(other)
	partitioned := 3 - leader - other
	r.record(t, "quorum lost (the partitioned member serves read-only)", r.expect(2, 0, "read-only", leader, other),
		alertOn("ZooKeeperMemberDown", leader, other), alertOn("ZooKeeperQuorumLost"), alertOn("ZooKeeperNoLeader"),
		[]firing{{alert: "ZooKeeperReadOnlyMode", member: partitioned, labels: []string{"state", "read-only"}}})
}

func runSrvrOnly(t *testing.T, m *matrix, name string) {
	r := m.start(t, name, 3, func(o *zktest.Options) { o.Whitelist = "srvr" }, nil)
	r.srvrOnly = true
	r.settleHealthy(t, r.expect(2, 0, ""))
	leader := killLeader(t, r.ens)
	r.record(t, "leader killed", r.expect(2, 0, "", leader), alertOn("ZooKeeperMemberDown", leader), alertOn("ZooKeeperQuorumAtRisk"))
}

func runAdmin(t *testing.T, m *matrix, name string) {
	r := m.start(t, name, 3, func(o *zktest.Options) { o.Whitelist = "-" }, func(e *zktest.Ensemble) []string {
		var admin []string
		for _, mb := range e.Members {
			admin = append(admin, strings.TrimPrefix(mb.AdminURL(), "http://"))
		}
		return []string{"--zookeeper.transport=admin", "--zookeeper.admin.servers=" + strings.Join(admin, ",")}
	})
	healthy := func() truth { return r.expect(2, 0, "") }
	r.settleHealthy(t, healthy())
	f := (r.ens.Leader() + 1) % 3
	r.ens.Kill(f)
	r.record(t, "member killed", r.expect(2, 0, "", f), alertOn("ZooKeeperMemberDown", f), alertOn("ZooKeeperQuorumAtRisk"))
	r.heal(t, healthy)
	leader := killLeader(t, r.ens)
	r.record(t, "leader killed", r.expect(2, 0, "", leader), alertOn("ZooKeeperMemberDown", leader), alertOn("ZooKeeperQuorumAtRisk"))
}

func runDigest(t *testing.T, m *matrix, name string) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "digest")
	cfg := filepath.Join(dir, "watch.yml")
	if err := os.WriteFile(secret, []byte("watcher:s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("groups:\n  - path: /app/workers\n    expected: [w1]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := m.start(t, name, 3, nil, func(e *zktest.Ensemble) []string {
		conn := connect(t, e.Addrs())
		if err := conn.AddAuth("digest", []byte("watcher:s3cret")); err != nil {
			t.Fatal(err)
		}
		acl := zk.DigestACL(zk.PermAll, "watcher", "s3cret")
		for _, p := range []string{"/app", "/app/workers"} {
			if _, err := conn.Create(p, nil, 0, acl); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := conn.Create("/app/workers/w1", []byte("h1"), zk.FlagEphemeral, acl); err != nil {
			t.Fatal(err)
		}
		// Without the identity the group cannot be read.
		anon := connect(t, e.Addrs())
		if _, _, err := anon.Children("/app/workers"); err != zk.ErrNoAuth {
			t.Fatalf("unauthenticated read of /app/workers: %v, want %v", err, zk.ErrNoAuth)
		}
		return []string{"--watch.config.file=" + cfg, "--watch.auth.digest-file=" + secret}
	})
	healthy := r.expect(2, 0, "")
	healthy.watch = true
	r.settleHealthy(t, healthy)
	leader := killLeader(t, r.ens)
	after := r.expect(2, 0, "", leader)
	after.watch = true
	r.record(t, "leader killed", after, alertOn("ZooKeeperMemberDown", leader), alertOn("ZooKeeperQuorumAtRisk"))
}

func runReconfig(t *testing.T, m *matrix, name string) {
	r := m.start(t, name, 3, func(o *zktest.Options) { o.Reconfig = true }, nil)
	r.settleHealthy(t, r.expect(2, 0, ""))
	conn := connect(t, r.addrs)
	added, err := r.ens.AddMember()
	if err != nil {
		t.Fatal(err)
	}
	// The new server joins as a non-voting follower; then it can be added.
	if err := zktest.WaitFor(60*time.Second, 200*time.Millisecond, func() error {
		_, err := conn.IncrementalReconfig([]string{r.ens.ServerLine(r.ens.Members[added])}, nil, -1)
		return err
	}); err != nil {
		t.Fatalf("reconfig add: %v", err)
	}
	if err := r.ens.WaitHealthy(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	r.addrs = r.ens.Addrs()
	r.record(t, "member added at run time", r.expect(3, 0, ""))

	gone := (r.ens.Leader() + 1) % len(r.addrs)
	if _, err := conn.IncrementalReconfig(nil, []string{fmt.Sprint(r.ens.Members[gone].ID)}, -1); err != nil {
		t.Fatalf("reconfig remove: %v", err)
	}
	r.ens.Kill(gone) // decommissioned
	if err := r.ens.WaitHealthy(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	after := r.expect(2, 0, "")
	after.states[gone] = "gone"
	after.ensemble["members"], after.ensemble["members_up"], after.ensemble["synced_followers"] = 3, 3, 2
	r.record(t, "member removed at run time", after)
}

func runTLS(t *testing.T, m *matrix, name string) {
	cfg := filepath.Join(t.TempDir(), "watch.yml")
	if err := os.WriteFile(cfg, []byte("groups:\n  - path: /app/workers\n    expected: [w1]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := m.start(t, name, 3, func(o *zktest.Options) { o.TLS = &zktest.TLSOptions{ClientAuth: "need"} }, func(e *zktest.Ensemble) []string {
		conn := connect(t, e.Addrs())
		for _, p := range []string{"/app", "/app/workers"} {
			if _, err := conn.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := conn.Create("/app/workers/w1", []byte("h1"), zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
		c := e.Certs
		return []string{"--watch.config.file=" + cfg,
			"--zookeeper.tls.ca-file=" + c.CAFile, "--zookeeper.tls.cert-file=" + c.ClientCert, "--zookeeper.tls.key-file=" + c.ClientKey}
	})
	expect := func(downs ...int) truth {
		w := r.expect(2, 0, "", downs...)
		w.watch = true
		return w
	}
	healthy := func() truth { return expect() }
	r.settleHealthy(t, healthy())
	f := (r.ens.Leader() + 1) % 3
	r.ens.Kill(f)
	r.record(t, "member killed", expect(f), alertOn("ZooKeeperMemberDown", f), alertOn("ZooKeeperQuorumAtRisk"))
	r.heal(t, healthy)
	leader := killLeader(t, r.ens)
	r.record(t, "leader killed", expect(leader), alertOn("ZooKeeperMemberDown", leader), alertOn("ZooKeeperQuorumAtRisk"))
}

// connect opens a ZooKeeper client closed at the end of the test.
func connect(t *testing.T, addrs []string) *zk.Conn {
	t.Helper()
	conn, _, err := zk.Connect(addrs, 4*time.Second, zk.WithLogInfo(false), zk.WithLogger(nopZKLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	return conn
}

// killLeader kills the leader, waits for a new one and returns the index of
// the one killed.
func killLeader(t *testing.T, e *zktest.Ensemble) int {
	t.Helper()
	leader := e.Leader()
	if leader < 0 {
		t.Fatal("no leader")
	}
	e.Kill(leader)
	if _, err := e.WaitLeaderOtherThan(leader, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	return leader
}
