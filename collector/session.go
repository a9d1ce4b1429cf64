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

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/internal/treecache"
)

func init() {
	registerCollector("session", defaultEnabled, NewSessionCollector)
}

// sessionCollector exports the state of the shared watch sessions and of
// every watched root: synced, read errors, members left out by the cap.
// It exports nothing while nothing is watched.
type sessionCollector struct {
	watchCollector
	synced, errors, dropped typedDesc
}

// NewSessionCollector returns the watch session collector.
func NewSessionCollector(cfg Config, logger log.Logger) (Collector, error) {
	wc, err := newWatchCollector(cfg, logger)
	if err != nil {
		return nil, err
	}
	return &sessionCollector{
		watchCollector: wc,
		synced: newTypedDesc("watch_synced",
			"1 when the exporter's view of the root is current; 0 while it is blind (session suspended or lost) or has not read it yet. Gate alerts on it.", prometheus.GaugeValue, "root"),
		errors: newTypedDesc("watch_errors_total",
			"Failed reads under a watched root, by reason (acl, connection, bad_data, other).", prometheus.CounterValue, "root", "reason"),
		dropped: newTypedDesc("watch_dropped_members_total",
			"Children not tracked because the root has more than --watch.max-members.", prometheus.CounterValue, "root"),
	}, nil
}

// rootStats aggregates the caches behind one root label.
type rootStats struct {
	synced  bool
	errs    map[string]float64
	dropped float64
}

// Update implements Collector.
func (c *sessionCollector) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	ms := c.w.managers()
	if len(ms) == 0 {
		return nil
	}
	c.w.stats.Collect(ch, ms)
	roots := map[string]*rootStats{}
	c.w.each("", func(it watchItem) {
		if len(it.caches()) == 0 {
			return // polled, not watched (guardrails subtrees): nothing to sync
		}
		rs := roots[it.root()]
		if rs == nil {
			rs = &rootStats{synced: true, errs: map[string]float64{}}
			roots[it.root()] = rs
		}
		for _, lc := range it.caches() {
			rs.synced = rs.synced && lc.cache.Synced()
			errs, dropped := lc.cache.Errors()
			for reason, v := range errs {
				rs.errs[reason] += v
			}
			rs.dropped += dropped
		}
	})
	names := make([]string, 0, len(roots))
	for r := range roots {
		names = append(names, r)
	}
	sort.Strings(names)
	for _, r := range names {
		rs := roots[r]
		ch <- c.synced.mustNewConstMetric(boolFloat(rs.synced), r)
		// Every reason from the start, so that the first error is an
		// increase and not a new series.
		for _, reason := range treecache.Reasons {
			ch <- c.errors.mustNewConstMetric(rs.errs[reason], r, reason)
		}
		ch <- c.dropped.mustNewConstMetric(rs.dropped, r)
	}
	return nil
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
