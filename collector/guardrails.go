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
	"cmp"
	"context"
	"errors"
	"fmt"
	"path"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/go-zookeeper/zk"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/internal/treecache"
	"github.com/zkwatch/zkwatch/internal/watchconfig"
	"github.com/zkwatch/zkwatch/internal/zksession"
)

// DefaultJuteMaxBuffer is ZooKeeper's default jute.maxbuffer (0xfffff
// bytes): a znode's data, or a request or answer, larger than this is
// refused, and a server that cannot read a proposal this large stops
// following.
const DefaultJuteMaxBuffer = 0xfffff

func init() {
	registerCollector("guardrails", defaultEnabled, NewGuardrailsCollector)
}

// guardrailsCollector reports, per watched root, the largest data and the
// most children among the nodes the watch collectors already read (the
// root and its tracked children): no request is sent for it.
type guardrailsCollector struct {
	watchCollector
	juteMaxBuffer                    float64
	maxBuffer, largestData, mostKids typedDesc
	polledNodes, truncated           typedDesc
}

// NewGuardrailsCollector returns the znode guardrails collector.
func NewGuardrailsCollector(cfg Config, logger log.Logger) (Collector, error) {
	jute := cmp.Or(cfg.JuteMaxBuffer, DefaultJuteMaxBuffer)
	if jute <= 0 {
		return nil, fmt.Errorf("jute.maxbuffer must be positive, not %d", jute)
	}
	wc, err := newWatchCollector(cfg, logger)
	if err != nil {
		return nil, err
	}
	return &guardrailsCollector{
		watchCollector: wc,
		juteMaxBuffer:  float64(jute),
		maxBuffer: newTypedDesc("jute_maxbuffer_bytes",
			"The members' jute.maxbuffer (--zookeeper.jute-maxbuffer): the largest znode data and request they accept.", prometheus.GaugeValue),
		largestData: newTypedDesc("watch_largest_data_bytes",
			"Largest data of the watched root and its tracked children, as last read.", prometheus.GaugeValue, "root"),
		mostKids: newTypedDesc("watch_largest_children",
			"Most children of the watched root or one of its tracked children, as last read.", prometheus.GaugeValue, "root"),
		polledNodes: newTypedDesc("guardrails_polled_nodes",
			"Znodes read by the last walk of a guardrails subtree (watch configuration, guardrails).", prometheus.GaugeValue, "root"),
		truncated: newTypedDesc("guardrails_truncated",
			"1 when the last walk of a guardrails subtree stopped at its max_nodes.", prometheus.GaugeValue, "root"),
	}, nil
}

// subtreeSize is the largest data and child count seen under one root.
type subtreeSize struct{ data, children int32 }

// sizeOf measures a cache's view: the root's stat and its children's.
func sizeOf(v *treecache.View) subtreeSize {
	var s subtreeSize
	if v.Exists {
		s = subtreeSize{data: v.Root.DataLength, children: max(v.Root.NumChildren, int32(v.Total))}
	}
	for _, n := range v.Children {
		s.data = max(s.data, n.DataLength)
		s.children = max(s.children, n.NumChildren)
	}
	return s
}

// Update implements Collector. A root both watched and polled is
// reported once, with the larger of each measure; jute.maxbuffer is
// exported beside any measured root.
func (c *guardrailsCollector) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	sizes := map[string]subtreeSize{}
	merge := func(root string, s subtreeSize) {
		old := sizes[root]
		sizes[root] = subtreeSize{data: max(old.data, s.data), children: max(old.children, s.children)}
	}
	c.w.each("", func(it watchItem) {
		if g, ok := it.(*guardrailItem); ok {
			walk, measured := g.result()
			if measured {
				merge(g.path, walk.size)
				ch <- c.polledNodes.mustNewConstMetric(float64(walk.nodes), g.path)
				ch <- c.truncated.mustNewConstMetric(boolFloat(walk.truncated), g.path)
			}
			return
		}
		for _, lc := range it.caches() {
			lc.cache.Read(func(v *treecache.View) {
				if v.Exists {
					merge(lc.path, sizeOf(v))
				}
			})
		}
	})
	// With nothing watched the watch collectors export nothing.
	if len(sizes) == 0 {
		return nil
	}
	ch <- c.maxBuffer.mustNewConstMetric(c.juteMaxBuffer)
	for root, s := range sizes {
		ch <- c.largestData.mustNewConstMetric(float64(s.data), root)
		ch <- c.mostKids.mustNewConstMetric(float64(s.children), root)
	}
	return nil
}

// guardrailItem polls a subtree no watch collector follows: every
// interval it walks it breadth first, one stat or children read at a
// time, at most maxDepth levels below the root and maxNodes nodes.
type guardrailItem struct {
	path     string
	sub      watchconfig.Subtree
	m        *zksession.Manager
	interval time.Duration
	stop     chan struct{}
	done     chan struct{}

	mu       sync.Mutex
	last     subtreeWalk
	measured bool // a walk has completed
}

// subtreeWalk is the result of one walk.
type subtreeWalk struct {
	size      subtreeSize
	nodes     int
	truncated bool
}

func (w *watcher) guardrailSpec(sub watchconfig.Subtree, interval time.Duration) itemSpec {
	return itemSpec{
		key: fmt.Sprintf("guardrail\x00%s\x00%d\x00%d\x00%s", sub.Path, sub.MaxDepth, sub.MaxNodes, interval),
		build: func(m *zksession.Manager) watchItem {
			g := &guardrailItem{path: sub.Path, sub: sub, m: m, interval: interval, stop: make(chan struct{}), done: make(chan struct{})}
			go g.run(log.With(w.logger, "guardrail", sub.Path))
			return g
		},
	}
}

func (g *guardrailItem) root() string           { return g.path }
func (g *guardrailItem) caches() []labeledCache { return nil }
func (g *guardrailItem) close()                 { close(g.stop); <-g.done }
func (g *guardrailItem) result() (subtreeWalk, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last, g.measured
}

func (g *guardrailItem) run(logger log.Logger) {
	defer close(g.done)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
		}
		walk, err := g.walk()
		if err != nil {
			level.Debug(logger).Log("msg", "guardrail walk failed, keeping the last result", "err", err)
		} else {
			g.mu.Lock()
			g.last, g.measured = walk, true
			g.mu.Unlock()
		}
		t.Reset(g.interval)
	}
}

// walk reads the subtree; a node deleted meanwhile is skipped.
func (g *guardrailItem) walk() (subtreeWalk, error) {
	type node struct {
		path  string
		depth int
	}
	var w subtreeWalk
	queue := []node{{g.m.Path(g.path), 0}}
	for len(queue) > 0 {
		select {
		case <-g.stop:
			return w, errors.New("stopped")
		default:
		}
		n := queue[0]
		queue = queue[1:]
		if w.nodes >= g.sub.MaxNodes {
			w.truncated = true
			break
		}
		ok, st, err := g.m.Conn().Exists(n.path)
		if err != nil {
			return w, err
		}
		if !ok {
			continue
		}
		w.nodes++
		w.size.data = max(w.size.data, st.DataLength)
		w.size.children = max(w.size.children, st.NumChildren)
		if st.NumChildren == 0 || n.depth >= g.sub.MaxDepth {
			continue
		}
		kids, _, err := g.m.Conn().Children(n.path)
		if errors.Is(err, zk.ErrNoNode) {
			continue
		}
		if err != nil {
			return w, err
		}
		for _, k := range kids {
			queue = append(queue, node{path.Join(n.path, k), n.depth + 1})
		}
	}
	return w, nil
}
