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

package series

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// Sample is one sample of a scrape: a gauge or counter value, or a
// summary. Buf.Add and Buf.AddSummary build them.
type Sample struct {
	Desc    *Desc
	Labels  []*dto.LabelPair // shared, sorted by name
	Value   float64
	Summary *dto.Summary
}

// Metric returns s as a prometheus.Metric.
func (s Sample) Metric() prometheus.Metric { return metric{s} }

// Samples returns the samples added to b, in order; they must not be
// changed.
func (b *Buf) Samples() []Sample { return b.samples }

// Samples returns the samples added to s's buffers, buffer by buffer.
func (s *Sink) Samples() []Sample {
	var out []Sample
	for _, b := range s.bufs {
		out = append(out, b.samples...)
	}
	return out
}

// Buf holds the samples one goroutine of a scrape adds, and the dto
// values of its summaries. A Buf belongs to a Sink and lives until the
// Sink is released.
type Buf struct {
	samples []Sample
	sums    slab[dto.Summary]
	counts  slab[uint64]
	floats  slab[float64]
	qs      slab[dto.Quantile]
	qptrs   slab[*dto.Quantile]
}

// Add appends a gauge or counter sample of d with label pairs sorted by
// name (from a Cache, or LabelPairs), which are not changed afterwards.
func (b *Buf) Add(d *Desc, labels []*dto.LabelPair, value float64) {
	b.samples = append(b.samples, Sample{Desc: d, Labels: labels, Value: value})
}

// Quantile is one quantile of a summary.
type Quantile struct{ Q, V float64 }

// AddSummary appends a summary sample of d. Its dto values live in b.
func (b *Buf) AddSummary(d *Desc, labels []*dto.LabelPair, count uint64, sum float64, qs []Quantile) {
	s, c, f := &b.sums.take(1)[0], &b.counts.take(1)[0], b.floats.take(1+2*len(qs))
	*c, f[0] = count, sum
	s.SampleCount, s.SampleSum, s.Quantile, s.CreatedTimestamp = c, &f[0], nil, nil
	if len(qs) > 0 {
		dq, ptrs := b.qs.take(len(qs)), b.qptrs.take(len(qs))
		for i, q := range qs {
			f[1+2*i], f[2+2*i] = q.Q, q.V
			dq[i].Quantile, dq[i].Value = &f[1+2*i], &f[2+2*i]
			ptrs[i] = &dq[i]
		}
		s.Quantile = ptrs
	}
	b.samples = append(b.samples, Sample{Desc: d, Labels: labels, Summary: s})
}

func (b *Buf) reset() {
	clear(b.samples) // drop references to label pairs and summaries
	b.samples = b.samples[:0]
	b.sums.reset()
	b.counts.reset()
	b.floats.reset()
	b.qs.reset()
	b.qptrs.reset()
}

// slab hands out elements from chunks that never move, so pointers into
// them stay valid while more are taken; reset keeps the chunks for reuse.
type slab[T any] struct {
	chunks [][]T
	cur    int
}

const slabChunk = 256

// take returns n zeroed elements.
func (s *slab[T]) take(n int) []T {
	for ; s.cur < len(s.chunks); s.cur++ {
		c := s.chunks[s.cur]
		if len(c)+n <= cap(c) {
			s.chunks[s.cur] = c[:len(c)+n]
			return c[len(c) : len(c)+n : len(c)+n]
		}
	}
	c := make([]T, n, max(n, slabChunk))
	s.chunks = append(s.chunks, c)
	return c[:n:n]
}

func (s *slab[T]) reset() {
	for i, c := range s.chunks {
		clear(c)
		s.chunks[i] = c[:0]
	}
	s.cur = 0
}

var bufs = sync.Pool{New: func() any { return new(Buf) }}

// Sink collects the buffers of one scrape; collectors running at once
// each take buffers of their own.
type Sink struct {
	mu     sync.Mutex
	bufs   []*Buf
	pooled bool
}

// NewSink returns an empty sink. A pooled sink's buffers come from and go
// back to a pool: nothing built from them may be used after Release.
func NewSink(pooled bool) *Sink { return &Sink{pooled: pooled} }

// Buf returns an empty buffer that belongs to the sink.
func (s *Sink) Buf() *Buf {
	var b *Buf
	if s.pooled {
		b = bufs.Get().(*Buf)
	} else {
		b = new(Buf)
	}
	s.mu.Lock()
	s.bufs = append(s.bufs, b)
	s.mu.Unlock()
	return b
}

// Include adds the samples of o, which must outlive s (a probe's samples
// served again), to s.
func (s *Sink) Include(o *Sink) {
	b := s.Buf()
	for _, ob := range o.bufs {
		b.samples = append(b.samples, ob.samples...)
	}
}

// Release gives a pooled sink's buffers back.
func (s *Sink) Release() {
	if !s.pooled {
		return
	}
	for _, b := range s.bufs {
		b.reset()
		bufs.Put(b)
	}
	s.bufs = nil
}

// Emitter adds one collector's samples to a buffer of the scrape's sink,
// taking label pairs from a cache.
type Emitter struct {
	buf   *Buf
	cache *Cache
}

// NewEmitter returns an emitter into a new buffer of sink. Without a
// cache, label pairs are built anew at every Emit (for label values that
// come and go, which a cache would accumulate).
func NewEmitter(sink *Sink, cache *Cache) *Emitter {
	return &Emitter{buf: sink.Buf(), cache: cache}
}

// Emit adds a gauge or counter sample of d with the label values in d's
// order.
func (e *Emitter) Emit(d *Desc, value float64, labelValues ...string) {
	var labels []*dto.LabelPair
	if e.cache != nil {
		labels = e.cache.DescLabels(d, labelValues...)
	} else {
		labels = LabelPairs(d.labels, labelValues)
	}
	e.buf.Add(d, labels, value)
}

// EmitPairs adds a gauge or counter sample of d with ready label pairs
// (see Buf.Add).
func (e *Emitter) EmitPairs(d *Desc, value float64, labels []*dto.LabelPair) {
	e.buf.Add(d, labels, value)
}

// Send runs collect into a sink of its own and sends its samples to ch as
// metrics: the prometheus.Collector path (tests, embedding) of a
// collector that builds samples.
func Send(ch chan<- prometheus.Metric, collect func(*Sink) error) error {
	sink := NewSink(false)
	err := collect(sink)
	for _, b := range sink.bufs {
		for _, s := range b.samples {
			ch <- s.Metric()
		}
	}
	return err
}

// metric is a sample as a prometheus.Metric.
type metric struct{ s Sample }

func (m metric) Desc() *prometheus.Desc { return m.s.Desc.desc }

func (m metric) Write(out *dto.Metric) error {
	out.Label = m.s.Labels
	switch m.s.Desc.typ {
	case dto.MetricType_SUMMARY:
		out.Summary = m.s.Summary
	case dto.MetricType_COUNTER:
		out.Counter = &dto.Counter{Value: proto.Float64(m.s.Value)}
	default:
		out.Gauge = &dto.Gauge{Value: proto.Float64(m.s.Value)}
	}
	return nil
}
