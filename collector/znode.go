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
	"sync"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/internal/treecache"
	"github.com/zkwatch/zkwatch/internal/zksession"
)

func init() {
	registerCollector("znode", defaultEnabled, NewZnodeCollector)
	registerCollector("queue", defaultEnabled, NewQueueCollector)
}

type znodeCollector struct {
	watchCollector
	exists, version, mtime, changes typedDesc
}

// NewZnodeCollector returns the collector of plain znodes (configuration
// nodes); it also exports zookeeper_znode_exists for every watched root.
func NewZnodeCollector(cfg Config, logger log.Logger) (Collector, error) {
	wc, err := newWatchCollector(cfg, logger)
	if err != nil {
		return nil, err
	}
	p := []string{"path"}
	return &znodeCollector{
		watchCollector: wc,
		exists: newTypedDesc("znode_exists",
			"1 if the watched znode exists (every watched root, not only plain znodes).", prometheus.GaugeValue, p...),
		version: newTypedDesc("znode_data_version",
			"Data version of the znode.", prometheus.GaugeValue, p...),
		mtime: newTypedDesc("znode_mtime_seconds",
			"Last modification time of the znode's data.", prometheus.GaugeValue, p...),
		changes: newTypedDesc("znode_changes_total",
			"Changes of the znode (data writes, creations, deletions) since the exporter started.", prometheus.CounterValue, p...),
	}, nil
}

// znodeItem counts changes of a plain node.
type znodeItem struct {
	simpleItem
	mu      sync.Mutex
	changes float64
}

func (z *znodeItem) onChange(v *treecache.View, changes []treecache.Change) {
	if !v.Initialized {
		return
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	for _, c := range changes {
		switch c.Kind {
		case treecache.RootCreated, treecache.RootDeleted:
			z.changes++
		case treecache.RootUpdated:
			if c.NewRoot.Czxid == c.OldRoot.Czxid && c.NewRoot.Version > c.OldRoot.Version {
				// Every write bumps the version, also those coalesced
				// between an event and the read that follows it.
				z.changes += float64(c.NewRoot.Version - c.OldRoot.Version)
			} else {
				z.changes++
			}
		}
	}
}

func (w *watcher) znodeSpec(p string) itemSpec {
	return itemSpec{
		key: "znode\x00" + p,
		build: func(m *zksession.Manager) watchItem {
			z := &znodeItem{}
			z.lc = w.newCache(m, p, treecache.Options{Mode: treecache.ModeNode, OnChange: z.onChange})
			return z
		},
	}
}

// Update implements Collector.
func (c *znodeCollector) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	seen := map[string]bool{}
	c.w.each("", func(it watchItem) {
		for _, lc := range it.caches() {
			if seen[lc.path] {
				continue
			}
			seen[lc.path] = true
			lc.cache.Read(func(v *treecache.View) {
				ch <- c.exists.mustNewConstMetric(boolFloat(v.Exists), lc.path)
			})
		}
	})
	c.w.each("znode", func(it watchItem) {
		z := it.(*znodeItem)
		z.lc.cache.Read(func(v *treecache.View) {
			if v.Exists {
				ch <- c.version.mustNewConstMetric(float64(v.Root.Version), z.lc.path)
				ch <- c.mtime.mustNewConstMetric(millis(v.Root.Mtime), z.lc.path)
			}
		})
		z.mu.Lock()
		ch <- c.changes.mustNewConstMetric(z.changes, z.lc.path)
		z.mu.Unlock()
	})
	return nil
}

type queueCollector struct {
	watchCollector
	depth typedDesc
}

// NewQueueCollector returns the collector of queue depths (children of a
// queue node, e.g. a Curator DistributedQueue).
func NewQueueCollector(cfg Config, logger log.Logger) (Collector, error) {
	wc, err := newWatchCollector(cfg, logger)
	if err != nil {
		return nil, err
	}
	return &queueCollector{
		watchCollector: wc,
		depth: newTypedDesc("queue_depth",
			"Items (children) in the queue.", prometheus.GaugeValue, "queue"),
	}, nil
}

func (w *watcher) queueSpec(p string) itemSpec {
	return itemSpec{
		key: "queue\x00" + p,
		build: func(m *zksession.Manager) watchItem {
			return &simpleItem{lc: w.newCache(m, p, treecache.Options{Mode: treecache.ModeCount})}
		},
	}
}

// Update implements Collector.
func (c *queueCollector) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	c.w.each("queue", func(it watchItem) {
		lc := it.caches()[0]
		lc.cache.Read(func(v *treecache.View) {
			ch <- c.depth.mustNewConstMetric(float64(v.Total), lc.path)
		})
	})
	return nil
}
