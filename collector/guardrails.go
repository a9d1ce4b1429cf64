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
	"fmt"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/internal/treecache"
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
}

// NewGuardrailsCollector returns the znode guardrails collector.
func NewGuardrailsCollector(cfg Config, logger log.Logger) (Collector, error) {
	jute := cmp.Or(cfg.JuteMaxBuffer, DefaultJuteMaxBuffer)
	if jute < 0 {
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

// Update implements Collector.
func (c *guardrailsCollector) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	ch <- c.maxBuffer.mustNewConstMetric(c.juteMaxBuffer)
	seen := map[string]bool{}
	c.w.each("", func(it watchItem) {
		for _, lc := range it.caches() {
			if seen[lc.path] {
				continue
			}
			seen[lc.path] = true
			lc.cache.Read(func(v *treecache.View) {
				if !v.Exists {
					return
				}
				s := sizeOf(v)
				ch <- c.largestData.mustNewConstMetric(float64(s.data), lc.path)
				ch <- c.mostKids.mustNewConstMetric(float64(s.children), lc.path)
			})
		}
	})
	return nil
}
