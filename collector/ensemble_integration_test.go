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
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/go-zookeeper/zk"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// sample is one scrape as name{label="value",...} → value, with labels in
// sorted order.
type sample map[string]float64

func scrape(t *testing.T, c prometheus.Collector) sample {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return sampleOf(mfs)
}

// sampleOf flattens gathered families into series keys and values.
func sampleOf(mfs []*dto.MetricFamily) sample {
	s := sample{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			key := mf.GetName()
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Gauge != nil:
				s[key] = m.GetGauge().GetValue()
			case m.Counter != nil:
				s[key] = m.GetCounter().GetValue()
			case m.Untyped != nil:
				s[key] = m.GetUntyped().GetValue()
			}
		}
	}
	return s
}

func srv(name, server string) string { return fmt.Sprintf("%s{server=%q}", name, server) }

func expect(s sample, want map[string]float64) error {
	for k, v := range want {
		got, ok := s[k]
		if !ok {
			return fmt.Errorf("%s missing", k)
		}
		if got != v {
			return fmt.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	return nil
}

// waitScrape scrapes until cond holds for a scrape, and returns it.
func waitScrape(t *testing.T, c prometheus.Collector, what string, cond func(sample) error) sample {
	t.Helper()
	var s sample
	err := zktest.WaitFor(30*time.Second, 100*time.Millisecond, func() error {
		s = scrape(t, c)
		return cond(s)
	})
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return s
}

func TestEnsembleRealThreeNodes(t *testing.T) {
	e := zktest.Start(t, 3)
	addrs := e.Addrs()
	col := newTestCollector(t, addrs, time.Second)

	s := waitScrape(t, col, "healthy ensemble", func(s sample) error {
		return expect(s, map[string]float64{
			"zookeeper_ensemble_members": 3, "zookeeper_ensemble_members_up": 3,
			"zookeeper_ensemble_leaders": 1, "zookeeper_ensemble_quorum_size": 2,
			"zookeeper_ensemble_has_quorum": 1, "zookeeper_ensemble_synced_followers": 2,
		})
	})
	if s["zookeeper_ensemble_leader_changes_total"] != 0 {
		t.Errorf("leader changes on a quiet ensemble: %v", s["zookeeper_ensemble_leader_changes_total"])
	}
	leader := e.Leader()
	for i, a := range addrs {
		isLeader := 0.0
		state := "follower"
		if i == leader {
			isLeader, state = 1, "leader"
		}
		if err := expect(s, map[string]float64{
			srv("zookeeper_up", a): 1, srv("zookeeper_server_is_leader", a): isLeader,
			fmt.Sprintf("zookeeper_server_state{server=%q,state=%q}", a, state):                                  1,
			fmt.Sprintf("zookeeper_server_info{server=%q,server_id=%q,version=%q}", a, fmt.Sprint(i+1), "3.8.0"): 1,
		}); err != nil {
			t.Error(err)
		}
	}

	t.Run("follower lag under write load", func(t *testing.T) {
		conn, _, err := zk.Connect(addrs, 4*time.Second, zk.WithLogInfo(false))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var writes int
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := conn.Create(fmt.Sprintf("/load-%d", i), []byte("x"), 0, zk.WorldACL(zk.PermAll)); err == nil {
					writes++
				}
			}
		}()
		maxLag := 0.0
		var scrapes int
		zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error {
			s := scrape(t, col)
			scrapes++
			for _, a := range addrs {
				if v, ok := s[srv("zookeeper_follower_zxid_lag", a)]; ok {
					if v < 0 {
						t.Errorf("negative lag %v on %s", v, a)
					}
					if v > maxLag {
						maxLag = v
					}
				}
			}
			if scrapes < 20 {
				return fmt.Errorf("only %d scrapes", scrapes)
			}
			return nil
		})
		close(stop)
		wg.Wait()
		t.Logf("%d writes, %d scrapes under load, max follower lag %v", writes, scrapes, maxLag)
		waitScrape(t, col, "lag back to zero after load", func(s sample) error {
			for i, a := range addrs {
				if i == leader {
					continue
				}
				if err := expect(s, map[string]float64{srv("zookeeper_follower_zxid_lag", a): 0, srv("zookeeper_follower_epoch_behind", a): 0}); err != nil {
					return err
				}
			}
			return nil
		})
	})

	t.Run("paused follower does not hold the scrape", func(t *testing.T) {
		follower := (leader + 1) % 3
		e.Pause(follower)
		defer e.Resume(follower)
		begin := time.Now()
		s := scrape(t, col)
		if d := time.Since(begin); d > 2*time.Second {
			t.Errorf("scrape took %s with a paused member and a 1s timeout", d)
		}
		if err := expect(s, map[string]float64{srv("zookeeper_up", addrs[follower]): 0, "zookeeper_ensemble_members_up": 2, "zookeeper_ensemble_leaders": 1}); err != nil {
			t.Error(err)
		}
		e.Resume(follower)
		waitScrape(t, col, "paused follower back", func(s sample) error {
			return expect(s, map[string]float64{"zookeeper_ensemble_members_up": 3, "zookeeper_ensemble_has_quorum": 1})
		})
	})

	t.Run("leader failover", func(t *testing.T) {
		before := scrape(t, col)["zookeeper_ensemble_leader_changes_total"]
		e.Kill(leader)
		s := waitScrape(t, col, "new leader", func(s sample) error {
			if err := expect(s, map[string]float64{"zookeeper_ensemble_leaders": 1, "zookeeper_ensemble_has_quorum": 1, srv("zookeeper_up", addrs[leader]): 0}); err != nil {
				return err
			}
			if s["zookeeper_ensemble_leader_changes_total"] <= before {
				return fmt.Errorf("leader changes still %v", s["zookeeper_ensemble_leader_changes_total"])
			}
			return nil
		})
		t.Logf("leader changes %v -> %v", before, s["zookeeper_ensemble_leader_changes_total"])
		if s[srv("zookeeper_server_is_leader", addrs[leader])] != 0 {
			t.Error("dead leader still reported as leader")
		}
	})

	t.Run("two of three down loses quorum", func(t *testing.T) {
		if err := e.WaitHealthy(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		other := e.Leader()
		if other < 0 {
			t.Fatal("no leader before second kill")
		}
		e.Kill(other)
		waitScrape(t, col, "quorum lost", func(s sample) error {
			return expect(s, map[string]float64{"zookeeper_ensemble_has_quorum": 0, "zookeeper_ensemble_leaders": 0, "zookeeper_ensemble_members_up": 1})
		})
		begin := time.Now()
		scrape(t, col)
		if d := time.Since(begin); d > 2*time.Second {
			t.Errorf("scrape of a broken ensemble took %s", d)
		}
	})
}

func TestEnsembleRealDefaultWhitelist(t *testing.T) {
	e := zktest.Start(t, 1, func(o *zktest.Options) { o.Whitelist = "-" })
	col := newTestCollector(t, e.Addrs(), 2*time.Second)
	a := e.Addrs()[0]
	waitScrape(t, col, "degraded to srvr", func(s sample) error {
		return expect(s, map[string]float64{
			srv("zookeeper_up", a): 1,
			fmt.Sprintf("zookeeper_command_allowed{command=%q,server=%q}", "mntr", a):  0,
			fmt.Sprintf("zookeeper_command_allowed{command=%q,server=%q}", "srvr", a):  1,
			fmt.Sprintf("zookeeper_server_state{server=%q,state=%q}", a, "standalone"): 1,
			"zookeeper_ensemble_has_quorum":                                            1, "zookeeper_ensemble_quorum_size": 1,
		})
	})
}

func TestEnsembleRealAdminTransport(t *testing.T) {
	e := zktest.Start(t, 3)
	admin := map[string]string{}
	for _, m := range e.Members {
		admin[m.Addr()] = strings.TrimPrefix(m.AdminURL(), "http://")
	}
	col, err := New(Config{Servers: e.Addrs(), Timeout: 2 * time.Second, Transport: "admin", AdminPorts: admin}, log.NewNopLogger(), "ensemble")
	if err != nil {
		t.Fatal(err)
	}
	defer col.Close()
	waitScrape(t, col, "admin transport", func(s sample) error {
		return expect(s, map[string]float64{
			"zookeeper_ensemble_members_up": 3, "zookeeper_ensemble_leaders": 1,
			"zookeeper_ensemble_has_quorum": 1, "zookeeper_ensemble_synced_followers": 2,
		})
	})
}

// followersCaughtUp checks that every follower of the scrape is at lag 0
// and not behind by an epoch.
func followersCaughtUp(e *zktest.Ensemble) func(sample) error {
	return func(s sample) error {
		leader := e.Leader()
		if leader < 0 {
			return fmt.Errorf("no leader")
		}
		for i, a := range e.Addrs() {
			if i == leader || !e.Running(i) {
				continue
			}
			if err := expect(s, map[string]float64{
				srv("zookeeper_up", a): 1, srv("zookeeper_follower_zxid_lag", a): 0, srv("zookeeper_follower_epoch_behind", a): 0,
			}); err != nil {
				return err
			}
		}
		return nil
	}
}

// writeNodes creates parent and n children under it (zktest.WriteChildren).
func writeNodes(t *testing.T, conn *zk.Conn, parent string, n int) {
	t.Helper()
	if _, err := conn.Create(parent, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if err := zktest.WriteChildren(conn, parent, n); err != nil {
		t.Fatal(err)
	}
}

// TestEnsembleRealFollowerCatchUp: followers of a quiet ensemble, and after a
// failover without writes, are at lag 0 (their zxid is from the old epoch
// until the first write); a follower paused while the others take writes
// shows its real lag once resumed. syncLimit is raised so that the leader
// keeps the paused follower instead of dropping it after one second.
func TestEnsembleRealFollowerCatchUp(t *testing.T) {
	e := zktest.Start(t, 3, func(o *zktest.Options) { o.Extra = map[string]string{"syncLimit": "150"} })
	col := newTestCollector(t, e.Addrs(), time.Second)
	waitScrape(t, col, "quiet after start", followersCaughtUp(e))

	old := e.Leader()
	e.Kill(old)
	if _, err := e.WaitLeaderOtherThan(old, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	waitScrape(t, col, "failover without writes", followersCaughtUp(e))
	if err := e.Start(old); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitHealthy(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	waitScrape(t, col, "failover without writes, old leader back as follower", followersCaughtUp(e))

	conn, _, err := zk.Connect(e.Addrs(), 4*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	writeNodes(t, conn, "/after-failover", 200)
	s := waitScrape(t, col, "failover followed by writes", followersCaughtUp(e))
	leader := e.Leader()
	if c := s[srv("zookeeper_zxid_counter", e.Addrs()[leader])]; c < 200 {
		t.Errorf("leader zxid counter %v after 200 writes", c)
	}

	follower := (leader + 1) % 3
	fa := e.Addrs()[follower]
	// Write through the leader: a client of the paused follower would stall.
	lconn, _, err := zk.Connect([]string{e.Addrs()[leader]}, 4*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer lconn.Close()
	e.Pause(follower)
	writeNodes(t, lconn, "/while-paused", 6000)
	e.Resume(follower)
	// The resumed follower answers at once and needs a moment to apply
	// what it missed: scrape until it answers.
	s = waitScrape(t, col, "resumed follower answers", func(s sample) error {
		return expect(s, map[string]float64{srv("zookeeper_up", fa): 1})
	})
	if lag := s[srv("zookeeper_follower_zxid_lag", fa)]; lag <= 1000 {
		t.Errorf("resumed follower that missed 6000 writes shows lag %v (epoch_behind %v), want > 1000",
			lag, s[srv("zookeeper_follower_epoch_behind", fa)])
	} else {
		t.Logf("resumed follower lag %v", lag)
	}
	waitScrape(t, col, "resumed follower caught up", followersCaughtUp(e))
}
