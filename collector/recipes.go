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
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/internal/treecache"
	"github.com/zkwatch/zkwatch/internal/zksession"
)

func init() {
	registerCollector("lock", defaultEnabled, NewLockCollector)
	registerCollector("election", defaultEnabled, NewElectionCollector)
}

// Curator recipes keep one ephemeral sequential child per contender, named
// [_c_<uuid>-]<marker><10-digit sequence>; the lowest sequence holds the
// lock or leads.
const (
	lockMarker  = "lock-"
	latchMarker = "latch-"
)

// recipeSeq returns the sequence number of a contender's node name.
func recipeSeq(name, marker string) (int64, bool) {
	i := strings.LastIndex(name, marker)
	if i < 0 {
		return 0, false
	}
	prefix, seq := name[:i], name[i+len(marker):]
	if prefix != "" && !strings.HasPrefix(prefix, "_c_") {
		return 0, false
	}
	if len(seq) < 10 {
		return 0, false
	}
	n, err := strconv.ParseInt(seq, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// contenders returns the valid contender names ordered by sequence.
func contenders(children map[string]*treecache.Node, marker string) []*treecache.Node {
	type entry struct {
		seq  int64
		node *treecache.Node
	}
	var es []entry
	for name, n := range children {
		if seq, ok := recipeSeq(name, marker); ok {
			es = append(es, entry{seq, n})
		}
	}
	sort.Slice(es, func(i, j int) bool {
		if es[i].seq != es[j].seq {
			return es[i].seq < es[j].seq
		}
		return es[i].node.Name < es[j].node.Name
	})
	out := make([]*treecache.Node, len(es))
	for i, e := range es {
		out[i] = e.node
	}
	return out
}

type lockCollector struct {
	watchCollector
	held, waiters, heldSeconds, holder typedDesc
}

// holderSession is the label value of the session owning a holder's or
// leader's node, in the hex form ZooKeeper's logs and the agent use, or ""
// for a node no session owns (not made by a recipe).
func holderSession(n *treecache.Node) string {
	if n.EphemeralOwner == 0 {
		return ""
	}
	return zksession.SessionHex(n.EphemeralOwner)
}

// NewLockCollector returns the collector of Curator InterProcessMutex locks.
func NewLockCollector(cfg Config, logger log.Logger) (Collector, error) {
	wc, err := newWatchCollector(cfg, logger)
	if err != nil {
		return nil, err
	}
	l := []string{"lock"}
	return &lockCollector{
		watchCollector: wc,
		held: newTypedDesc("lock_held",
			"1 if someone holds the lock.", prometheus.GaugeValue, l...),
		waiters: newTypedDesc("lock_waiters",
			"Contenders waiting for the lock.", prometheus.GaugeValue, l...),
		heldSeconds: newTypedDesc("lock_held_seconds",
			"Seconds since the current holder's node was created (0 when free).", prometheus.GaugeValue, l...),
		holder: newTypedDesc("lock_holder_info",
			"1 for the ZooKeeper session that owns the holder's node (no series when the lock is free); compare with the holders' zkwatch_agent_lock_held_info.",
			prometheus.GaugeValue, append(l, "session")...),
	}, nil
}

func (w *watcher) lockSpec(p string) itemSpec {
	return itemSpec{
		key: "lock\x00" + p,
		build: func(m *zksession.Manager) watchItem {
			return &simpleItem{lc: w.newCache(m, p, treecache.Options{Mode: treecache.ModeChildStat, MaxChildren: w.opts.MaxMembers})}
		},
	}
}

// Update implements Collector.
func (c *lockCollector) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	now := time.Now()
	c.w.each("lock", func(it watchItem) {
		lc := it.caches()[0]
		lc.cache.Read(func(v *treecache.View) {
			cs := contenders(v.Children, lockMarker)
			held, waiters, secs := 0.0, 0.0, 0.0
			if len(cs) > 0 {
				held = 1
				waiters = float64(len(cs) - 1)
				secs = max(0, now.Sub(time.UnixMilli(cs[0].Ctime)).Seconds())
				if s := holderSession(cs[0]); s != "" {
					ch <- c.holder.mustNewConstMetric(1, lc.path, s)
				}
			}
			ch <- c.held.mustNewConstMetric(held, lc.path)
			ch <- c.waiters.mustNewConstMetric(waiters, lc.path)
			ch <- c.heldSeconds.mustNewConstMetric(secs, lc.path)
		})
	})
	return nil
}

type electionCollector struct {
	watchCollector
	candidates, hasLeader, changes, leader typedDesc
}

// NewElectionCollector returns the collector of Curator LeaderLatch
// elections.
func NewElectionCollector(cfg Config, logger log.Logger) (Collector, error) {
	wc, err := newWatchCollector(cfg, logger)
	if err != nil {
		return nil, err
	}
	e := []string{"election"}
	return &electionCollector{
		watchCollector: wc,
		candidates: newTypedDesc("election_candidates",
			"Candidates taking part in the election.", prometheus.GaugeValue, e...),
		hasLeader: newTypedDesc("election_has_leader",
			"1 if the election has a leader.", prometheus.GaugeValue, e...),
		changes: newTypedDesc("election_leader_changes_total",
			"Times the leader changed to another candidate since the exporter started.", prometheus.CounterValue, e...),
		leader: newTypedDesc("election_leader_info",
			"1 for the ZooKeeper session that owns the leader's node (no series without a leader); compare with the leaders' zkwatch_agent_election_leader_info.",
			prometheus.GaugeValue, append(e, "session")...),
	}, nil
}

// electionItem tracks the leader to count changes.
type electionItem struct {
	simpleItem
	mu      sync.Mutex
	leader  string
	changes float64
}

func (e *electionItem) onChange(v *treecache.View, _ []treecache.Change) {
	cs := contenders(v.Children, latchMarker)
	if len(cs) == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if cs[0].Name != e.leader {
		if e.leader != "" && v.Initialized {
			e.changes++
		}
		e.leader = cs[0].Name
	}
}

func (w *watcher) electionSpec(p string) itemSpec {
	return itemSpec{
		key: "election\x00" + p,
		build: func(m *zksession.Manager) watchItem {
			e := &electionItem{}
			// ModeChildStat for the leader's session (ephemeralOwner).
			e.lc = w.newCache(m, p, treecache.Options{Mode: treecache.ModeChildStat, MaxChildren: w.opts.MaxMembers, OnChange: e.onChange})
			return e
		},
	}
}

// Update implements Collector.
func (c *electionCollector) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	c.w.each("election", func(it watchItem) {
		e := it.(*electionItem)
		e.lc.cache.Read(func(v *treecache.View) {
			cs := contenders(v.Children, latchMarker)
			n := len(cs)
			if n > 0 {
				if s := holderSession(cs[0]); s != "" {
					ch <- c.leader.mustNewConstMetric(1, e.lc.path, s)
				}
			}
			e.mu.Lock()
			changes := e.changes
			e.mu.Unlock()
			ch <- c.candidates.mustNewConstMetric(float64(n), e.lc.path)
			ch <- c.hasLeader.mustNewConstMetric(boolFloat(n > 0), e.lc.path)
			ch <- c.changes.mustNewConstMetric(changes, e.lc.path)
		})
	})
	return nil
}
