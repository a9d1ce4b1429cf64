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
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/collector/internal/series"
)

// reusingEnsemble serves the ensemble collector's series from a probe that
// finished less than reuse ago, and lets concurrent scrapes share one probe
// in flight. A client polling /metrics for the watch collectors' view then
// waits for the ensemble only once per reuse period, and the ensemble is
// not probed more often than that whatever the number of scrapers. Every
// answer tells the age of the probe it shows.
type reusingEnsemble struct {
	*EnsembleCollector
	reuse time.Duration
	age   typedDesc

	mu   sync.Mutex // held while probing: later scrapes wait and reuse
	last *probeResult
}

// probeResult is one probe's samples, kept in a sink of its own.
type probeResult struct {
	done    time.Time
	samples *series.Sink
	err     error
}

func newReusingEnsemble(c *EnsembleCollector, reuse time.Duration) *reusingEnsemble {
	r := &reusingEnsemble{EnsembleCollector: c, reuse: reuse,
		age: newTypedDesc("ensemble_probe_age_seconds",
			"Age of the ensemble probe this answer shows: concurrent scrapes share one probe, and one that finished less than --zookeeper.probe-reuse ago is reused.",
			prometheus.GaugeValue)}
	c.mntr.Reserve(r.age.fam)
	return r
}

// Update implements Collector.
func (r *reusingEnsemble) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	return series.Send(ch, func(sink *series.Sink) error { return r.collectSeries(ctx, sink) })
}

// collectSeries implements seriesCollector: the samples of the last probe
// and its age.
func (r *reusingEnsemble) collectSeries(ctx context.Context, sink *series.Sink) error {
	res := r.result(ctx)
	sink.Include(res.samples)
	series.NewEmitter(sink, &r.mntr.Cache).Emit(r.age.fam, time.Since(res.done).Seconds())
	return res.err
}

// result returns a probe that finished less than r.reuse ago, probing
// when there is none.
func (r *reusingEnsemble) result(ctx context.Context) *probeResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last != nil && time.Since(r.last.done) < r.reuse {
		return r.last
	}
	// Buffers of its own, not pooled: scrapes read them until the next
	// probe replaces them.
	own := series.NewSink(false)
	err := r.EnsembleCollector.collectSeries(ctx, own)
	r.last = &probeResult{done: time.Now(), samples: own, err: err}
	return r.last
}
