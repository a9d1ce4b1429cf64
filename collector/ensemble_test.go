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

package collector

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

func fixtureAnswers(t *testing.T, prefix string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	for _, cmd := range []string{"ruok", "mntr", "srvr", "conf", "cons", "wchs", "isro"} {
		b, err := os.ReadFile(filepath.Join("..", "internal", "fourlw", "testdata", prefix+"."+cmd+".txt"))
		if err != nil {
			continue
		}
		m[cmd] = b
	}
	if len(m) == 0 {
		t.Fatalf("no fixtures for %s", prefix)
	}
	return m
}

func fakeEnsemble(t *testing.T, prefixes ...string) ([]*zktest.FakeServer, []string) {
	var servers []*zktest.FakeServer
	var addrs []string
	for _, p := range prefixes {
		f, err := zktest.NewFakeServer(fixtureAnswers(t, p))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(f.Close)
		servers = append(servers, f)
		addrs = append(addrs, f.Addr())
	}
	return servers, addrs
}

func newTestCollector(t *testing.T, addrs []string, timeout time.Duration) *ZooKeeperCollector {
	t.Helper()
	zk, err := New(Config{Servers: addrs, Timeout: timeout}, log.NewNopLogger(), "ensemble")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(zk.Close)
	return zk
}

// ensembleMetrics are the ensemble-level series compared in tests.
var ensembleMetrics = []string{
	"zookeeper_ensemble_members", "zookeeper_ensemble_members_up", "zookeeper_ensemble_leaders",
	"zookeeper_ensemble_quorum_size", "zookeeper_ensemble_has_quorum", "zookeeper_ensemble_leader_changes_total",
}

func TestEnsembleFixtures(t *testing.T) {
	servers, addrs := fakeEnsemble(t, "leader", "follower", "follower")
	// The second follower is one epoch behind while the leader has
	// committed 42 transactions in its epoch; the first 42 behind in the
	// same epoch.
	servers[0].Set("srvr", []byte("Zookeeper version: 3.8.0\nLatency min/avg/max: 0/1.5/20\nReceived: 5\nSent: 6\nConnections: 1\nOutstanding: 0\nZxid: 0x20000002a\nMode: leader\nNode count: 5\n"))
	servers[1].Set("srvr", []byte("Latency min/avg/max: 0/0.0/0\nZxid: 0x200000000\nMode: follower\n"))
	servers[2].Set("srvr", []byte("Latency min/avg/max: 0/0.0/0\nZxid: 0x1000000ff\nMode: follower\n"))
	zk := newTestCollector(t, addrs, 2*time.Second)

	want := `
# HELP zookeeper_ensemble_has_quorum 1 when exactly one leader has a majority of voters in sync.
# TYPE zookeeper_ensemble_has_quorum gauge
zookeeper_ensemble_has_quorum 1
# HELP zookeeper_ensemble_leader_changes_total Times the leader's identity or epoch changed between scrapes.
# TYPE zookeeper_ensemble_leader_changes_total counter
zookeeper_ensemble_leader_changes_total 0
# HELP zookeeper_ensemble_leaders Members reporting that they lead; anything but 1 is a problem.
# TYPE zookeeper_ensemble_leaders gauge
zookeeper_ensemble_leaders 1
# HELP zookeeper_ensemble_members Configured members of the ensemble.
# TYPE zookeeper_ensemble_members gauge
zookeeper_ensemble_members 3
# HELP zookeeper_ensemble_members_up Members that answered.
# TYPE zookeeper_ensemble_members_up gauge
zookeeper_ensemble_members_up 3
# HELP zookeeper_ensemble_quorum_size Voting members needed for a quorum.
# TYPE zookeeper_ensemble_quorum_size gauge
zookeeper_ensemble_quorum_size 2
`
	if err := testutil.CollectAndCompare(zk, strings.NewReader(want), ensembleMetrics...); err != nil {
		t.Error(err)
	}
	lag := `
# HELP zookeeper_follower_epoch_behind 1 when this follower has not synced with the leader, or is in an older epoch while the leader has committed in its new one.
# TYPE zookeeper_follower_epoch_behind gauge
zookeeper_follower_epoch_behind{server="` + addrs[1] + `"} 0
zookeeper_follower_epoch_behind{server="` + addrs[2] + `"} 1
# HELP zookeeper_follower_zxid_lag Transactions this follower is behind the leader; 0 for a follower synced with a leader that has not committed in its new epoch yet.
# TYPE zookeeper_follower_zxid_lag gauge
zookeeper_follower_zxid_lag{server="` + addrs[1] + `"} 42
zookeeper_follower_zxid_lag{server="` + addrs[2] + `"} 42
# HELP zookeeper_server_is_leader 1 when the member leads the ensemble (or runs standalone).
# TYPE zookeeper_server_is_leader gauge
zookeeper_server_is_leader{server="` + addrs[0] + `"} 1
zookeeper_server_is_leader{server="` + addrs[1] + `"} 0
zookeeper_server_is_leader{server="` + addrs[2] + `"} 0
`
	if err := testutil.CollectAndCompare(zk, strings.NewReader(lag), "zookeeper_follower_zxid_lag", "zookeeper_follower_epoch_behind", "zookeeper_server_is_leader"); err != nil {
		t.Error(err)
	}
	typed := `
# HELP zookeeper_avg_latency_seconds ZooKeeper mntr field zk_avg_latency.
# TYPE zookeeper_avg_latency_seconds gauge
zookeeper_avg_latency_seconds{server="` + addrs[0] + `"} 0
zookeeper_avg_latency_seconds{server="` + addrs[1] + `"} 0
zookeeper_avg_latency_seconds{server="` + addrs[2] + `"} 0
# HELP zookeeper_synced_followers ZooKeeper mntr field zk_synced_followers.
# TYPE zookeeper_synced_followers gauge
zookeeper_synced_followers{server="` + addrs[0] + `"} 2
`
	if err := testutil.CollectAndCompare(zk, strings.NewReader(typed), "zookeeper_avg_latency_seconds", "zookeeper_synced_followers"); err != nil {
		t.Error(err)
	}

	// Every metric is consistent and lint-clean under a pedantic registry.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(zk)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
		if strings.Contains(mf.GetName(), "_ms") {
			t.Errorf("%s: milliseconds left in a metric name", mf.GetName())
		}
	}
	for _, n := range []string{
		"zookeeper_packets_received_total", "zookeeper_approximate_data_size_bytes", "zookeeper_uptime_seconds",
		"zookeeper_fsynctime_seconds", "zookeeper_election_time_max_seconds", "zookeeper_learner_handler_qp_size",
		"zookeeper_write_per_namespace", "zookeeper_jvm_pause_time_seconds", "zookeeper_server_info",
		"zookeeper_command_allowed", "zookeeper_zxid_epoch", "zookeeper_scrape_collector_success",
	} {
		if !names[n] {
			t.Errorf("metric %s missing", n)
		}
	}
	// ZooKeeper's own gauge names ending in _count (zk_znode_count, ...) are
	// kept as every ZooKeeper dashboard knows them; anything else the linter
	// finds is a defect.
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Error(err)
	}
	for _, p := range problems {
		if !strings.Contains(p.Text, `"_count" suffix`) {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	}
	// Quantiles, minimum and maximum of an empty summary are left out.
	if n := testutil.CollectAndCount(zk, "zookeeper_fsynctime_max_seconds"); n != 0 {
		t.Errorf("maximum of an empty summary exported (%d series)", n)
	}
	// A labelled summary set keeps its label.
	if n := testutil.CollectAndCount(zk, "zookeeper_learner_handler_qp_size"); n != 2 {
		t.Errorf("learner_handler_qp_size series = %d, want 2 (one per learner)", n)
	}
}

func TestEnsembleDegraded(t *testing.T) {
	// Default whitelist (srvr only): still up, state and zxid from srvr,
	// command_allowed tells what to whitelist.
	f, _ := zktest.NewFakeServer(map[string][]byte{"srvr": fixtureAnswers(t, "standalone")["srvr"]})
	defer f.Close()
	zk := newTestCollector(t, []string{f.Addr()}, 2*time.Second)
	want := `
# HELP zookeeper_command_allowed 1 when the member allows the four-letter word (or admin command), 0 when its whitelist refuses it.
# TYPE zookeeper_command_allowed gauge
zookeeper_command_allowed{command="conf",server="` + f.Addr() + `"} 0
zookeeper_command_allowed{command="mntr",server="` + f.Addr() + `"} 0
zookeeper_command_allowed{command="srvr",server="` + f.Addr() + `"} 1
# HELP zookeeper_up 1 when the member answered (imok, or a valid mntr/srvr), 0 otherwise.
# TYPE zookeeper_up gauge
zookeeper_up{server="` + f.Addr() + `"} 1
`
	if err := testutil.CollectAndCompare(zk, strings.NewReader(want), "zookeeper_command_allowed", "zookeeper_up"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(zk, "zookeeper_avg_latency_seconds"); n != 1 {
		t.Errorf("srvr fallback latency missing")
	}

	// A leader with leaderServes=no answers imok and "not serving": with
	// followers around it is the leader, not down.
	_, addrs := fakeEnsemble(t, "follower", "follower", "leaderserves-no")
	zk = newTestCollector(t, addrs, 2*time.Second)
	want = `
# HELP zookeeper_ensemble_leaders Members reporting that they lead; anything but 1 is a problem.
# TYPE zookeeper_ensemble_leaders gauge
zookeeper_ensemble_leaders 1
# HELP zookeeper_ensemble_members_up Members that answered.
# TYPE zookeeper_ensemble_members_up gauge
zookeeper_ensemble_members_up 3
`
	if err := testutil.CollectAndCompare(zk, strings.NewReader(want), "zookeeper_ensemble_leaders", "zookeeper_ensemble_members_up"); err != nil {
		t.Error(err)
	}
}

func TestEnsembleBadServers(t *testing.T) {
	garbage, _ := zktest.NewFakeServer(map[string][]byte{
		"mntr": []byte("<html>not zookeeper</html>"), "srvr": []byte("HTTP/1.1 400 Bad Request\r\n"),
		"conf": []byte("\x00\x01\x02"), "ruok": []byte("nope"),
	})
	defer garbage.Close()
	hung, _ := zktest.NewFakeServer(map[string][]byte{})
	hung.Hang(true)
	defer hung.Close()
	servers := []string{garbage.Addr(), hung.Addr(), "127.0.0.1:1"}
	zk := newTestCollector(t, servers, 300*time.Millisecond)
	begin := time.Now()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(zk)
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("scrape took %s with a hung member and timeout 300ms", d)
	}
	want := `
# HELP zookeeper_ensemble_members_up Members that answered.
# TYPE zookeeper_ensemble_members_up gauge
zookeeper_ensemble_members_up 0
# HELP zookeeper_ensemble_has_quorum 1 when exactly one leader has a majority of voters in sync.
# TYPE zookeeper_ensemble_has_quorum gauge
zookeeper_ensemble_has_quorum 0
`
	if err := testutil.CollectAndCompare(zk, strings.NewReader(want), "zookeeper_ensemble_members_up", "zookeeper_ensemble_has_quorum"); err != nil {
		t.Error(err)
	}
	// A fresh collector scraped once counts one error of each kind.
	zk = newTestCollector(t, servers, 300*time.Millisecond)
	want = `
# HELP zookeeper_probe_errors_total Failed probes of the member by reason.
# TYPE zookeeper_probe_errors_total counter
zookeeper_probe_errors_total{reason="garbage",server="` + garbage.Addr() + `"} 1
zookeeper_probe_errors_total{reason="refused",server="127.0.0.1:1"} 1
zookeeper_probe_errors_total{reason="timeout",server="` + hung.Addr() + `"} 1
`
	if err := testutil.CollectAndCompare(zk, strings.NewReader(want), "zookeeper_probe_errors_total"); err != nil {
		t.Error(err)
	}
}

// TestEnsembleFollowerCatchUp decides lag from answers captured on a real
// quiet 3-member ensemble (quiet-*: right after start; failover-*: after the
// leader was killed, no write since). Followers there show a zxid of an
// older epoch than the leader's (epoch, 0), yet are synced.
func TestEnsembleFollowerCatchUp(t *testing.T) {
	only := func(cmds ...string) func(t *testing.T, f *zktest.FakeServer, prefix string) {
		return func(t *testing.T, f *zktest.FakeServer, prefix string) {
			answers := fixtureAnswers(t, prefix)
			for cmd := range answers {
				f.Set(cmd, []byte(cmd+" is not executed because it is not in the whitelist.\n"))
			}
			for _, cmd := range cmds {
				f.Set(cmd, answers[cmd])
			}
		}
	}
	replace := func(cmd, old, new string) func(t *testing.T, f *zktest.FakeServer, prefix string) {
		return func(t *testing.T, f *zktest.FakeServer, prefix string) {
			b := fixtureAnswers(t, prefix)[cmd]
			if !strings.Contains(string(b), old) {
				t.Fatalf("%s.%s lacks %q", prefix, cmd, old)
			}
			f.Set(cmd, []byte(strings.Replace(string(b), old, new, 1)))
		}
	}
	type edit func(t *testing.T, f *zktest.FakeServer, prefix string)
	for _, tc := range []struct {
		name     string
		prefixes []string
		edits    map[int]edit
		// per follower (index into prefixes): lag (-1: not exported), epoch_behind
		lag    map[int]float64
		behind map[int]float64
	}{
		{name: "quiet after start", prefixes: []string{"quiet-leader", "quiet-follower", "quiet-follower"},
			lag: map[int]float64{1: 0, 2: 0}, behind: map[int]float64{1: 0, 2: 0}},
		{name: "failover without writes", prefixes: []string{"failover-leader", "failover-follower"},
			lag: map[int]float64{1: 0}, behind: map[int]float64{1: 0}},
		{name: "srvr only, quiet", prefixes: []string{"quiet-leader", "quiet-follower"},
			edits: map[int]edit{0: only("srvr"), 1: only("srvr")},
			lag:   map[int]float64{1: 0}, behind: map[int]float64{1: 0}},
		{name: "follower still synchronizing", prefixes: []string{"failover-leader", "failover-follower"},
			edits: map[int]edit{1: replace("mntr", "following - broadcast", "following - synchronization")},
			lag:   map[int]float64{1: -1}, behind: map[int]float64{1: 1}},
		{name: "leader committed in the new epoch, follower still in the old one", prefixes: []string{"failover-leader", "failover-follower"},
			edits: map[int]edit{0: replace("srvr", "Zxid: 0x200000000", "Zxid: 0x200000007")},
			lag:   map[int]float64{1: 7}, behind: map[int]float64{1: 1}},
		{name: "srvr only, leader committed in the new epoch", prefixes: []string{"failover-leader", "failover-follower"},
			edits: map[int]edit{0: func(t *testing.T, f *zktest.FakeServer, p string) {
				only("srvr")(t, f, p)
				replace("srvr", "Zxid: 0x200000000", "Zxid: 0x200000007")(t, f, p)
			}, 1: only("srvr")},
			lag: map[int]float64{1: 7}, behind: map[int]float64{1: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			servers, addrs := fakeEnsemble(t, tc.prefixes...)
			for i, e := range tc.edits {
				e(t, servers[i], tc.prefixes[i])
			}
			s := scrape(t, newTestCollector(t, addrs, 2*time.Second))
			if strings.HasPrefix(tc.name, "srvr only") {
				if err := expect(s, map[string]float64{fmt.Sprintf("zookeeper_command_allowed{command=%q,server=%q}", "mntr", addrs[1]): 0}); err != nil {
					t.Fatal(err)
				}
			}
			for i, want := range tc.lag {
				got, ok := s[srv("zookeeper_follower_zxid_lag", addrs[i])]
				if want < 0 && ok {
					t.Errorf("follower %d: lag %v exported for a follower that has not synced", i, got)
				}
				if want >= 0 && (!ok || got != want) {
					t.Errorf("follower %d: lag %v (exported %v), want %v", i, got, ok, want)
				}
			}
			for i, want := range tc.behind {
				if got, ok := s[srv("zookeeper_follower_epoch_behind", addrs[i])]; !ok || got != want {
					t.Errorf("follower %d: epoch_behind %v (exported %v), want %v", i, got, ok, want)
				}
			}
		})
	}
}

// TestEnsembleFollowsDynamicConfig: with a dynamic configuration (conf lists
// client addresses), a member added at run time is probed though not given,
// and a removed one is dropped; members and quorum follow the leader's conf.
func TestEnsembleFollowsDynamicConfig(t *testing.T) {
	servers, addrs := fakeEnsemble(t, "quiet-leader", "quiet-follower", "quiet-follower", "quiet-follower")
	conf := func(id int, members ...int) []byte {
		var b strings.Builder
		fmt.Fprintf(&b, "serverId=%d\nmembership: \n", id)
		for _, m := range members {
			fmt.Fprintf(&b, "server.%d=127.0.0.1:1:2:participant;%s\n", m+1, addrs[m])
		}
		b.WriteString("version=100000001\n")
		return []byte(b.String())
	}
	setAll := func(members ...int) {
		for i, s := range servers {
			s.Set("conf", conf(i+1, members...))
		}
	}
	setAll(0, 1, 2)
	zk := newTestCollector(t, addrs[:2], 2*time.Second) // member 3 not given
	probed := func(s sample) []string {
		var out []string
		for _, a := range addrs {
			if _, ok := s[srv("zookeeper_up", a)]; ok {
				out = append(out, a)
			}
		}
		return out
	}
	scrape(t, zk) // learns the configuration
	s := scrape(t, zk)
	if got := probed(s); len(got) != 3 || got[2] != addrs[2] {
		t.Errorf("probed %v, want the given two and member 3 from the configuration", got)
	}
	if err := expect(s, map[string]float64{"zookeeper_ensemble_members": 3, "zookeeper_ensemble_quorum_size": 2, "zookeeper_ensemble_members_up": 3}); err != nil {
		t.Error(err)
	}

	// Member 4 added, member 2 removed.
	setAll(0, 2, 3)
	scrape(t, zk)
	s = scrape(t, zk)
	if got := probed(s); len(got) != 3 || got[0] != addrs[0] || got[1] != addrs[2] || got[2] != addrs[3] {
		t.Errorf("probed %v, want members 1, 3 and 4", got)
	}
	if err := expect(s, map[string]float64{"zookeeper_ensemble_members": 3, "zookeeper_ensemble_quorum_size": 2, "zookeeper_ensemble_members_up": 3}); err != nil {
		t.Error(err)
	}

	// A static configuration (no client addresses) keeps the given list.
	_, addrs = fakeEnsemble(t, "quiet-leader", "quiet-follower", "quiet-follower")
	zk = newTestCollector(t, addrs[:2], 2*time.Second)
	scrape(t, zk)
	if got := probed(scrape(t, zk)); len(got) != 2 {
		t.Errorf("static configuration: probed %v, want the given two", got)
	}
}
