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
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// The mntr fields are most of a scrape's series (about 400 per member of a
// 3.8 ensemble). Going through prometheus.Metric and the registry cost
// about ten allocations and a consistency check per series, each scrape.
// Instead, the ensemble collector builds them as series of cached
// families, and ZooKeeperCollector.Gather turns a scrape's series into
// dto.MetricFamily values with a handful of allocations. What the registry
// checked at every scrape is guaranteed by construction here: a family's
// name, type and label names are fixed when it is first created (famCache
// refuses a second family of the same name), label pairs come sorted from
// famCache, and duplicate series are dropped when the families are built.
// It pays at Prometheus's interval too: a quarter of an isolated scrape's
// CPU time (bench/NOTES.md, change 18).

// famDesc is a metric family built directly as dto values. It is
// immutable once created; the dto fields point into it.
type famDesc struct {
	name, help string
	typ        dto.MetricType
	labels     []string
	desc       *prometheus.Desc // for the prometheus.Collector path
}

func newFamDesc(name, help string, typ dto.MetricType, labels ...string) *famDesc {
	f := &famDesc{name: Namespace + "_" + name, help: help, typ: typ, labels: labels}
	f.desc = prometheus.NewDesc(f.name, help, labels, nil)
	return f
}

// famCache keeps a collector's families and label pairs across scrapes:
// a family is created once with its name, type and label names, and a
// name taken by another family of other type or labels is refused.
type famCache struct {
	mu       sync.Mutex
	fams     map[string]*famDesc
	pairs    map[string][]*dto.LabelPair
	famPairs map[famLabelKey][]*dto.LabelPair
	reserved map[string]bool // names of families built elsewhere
}

// famLabels returns the label pairs of a series of f (up to three labels
// are cached without building a key).
func (c *famCache) famLabels(f *famDesc, values ...string) []*dto.LabelPair {
	if len(values) > len(famLabelKey{}.values) {
		return c.labels(f.labels, values)
	}
	k := famLabelKey{fam: f}
	copy(k.values[:], values)
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.famPairs[k]; ok {
		return p
	}
	if c.famPairs == nil {
		c.famPairs = map[famLabelKey][]*dto.LabelPair{}
	}
	key := strings.Join(f.labels, "\xff") + "\xfe" + strings.Join(values, "\xff")
	p := c.labelsLocked(key, f.labels, values)
	c.famPairs[k] = p
	return p
}

type famLabelKey struct {
	fam    *famDesc
	values [3]string
}

// labels returns the label pairs for names and values, sorted by name as
// the exposition wants them. The result is shared and must not be changed.
func (c *famCache) labels(names, values []string) []*dto.LabelPair {
	key := strings.Join(names, "\xff") + "\xfe" + strings.Join(values, "\xff")
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.labelsLocked(key, names, values)
}

func (c *famCache) labelsLocked(key string, names, values []string) []*dto.LabelPair {
	if p, ok := c.pairs[key]; ok {
		return p
	}
	if c.pairs == nil {
		c.pairs = map[string][]*dto.LabelPair{}
	}
	p := makeLabelPairs(names, values)
	c.pairs[key] = p
	return p
}

// reserve records a family built elsewhere, so that no mntr field takes
// its name.
func (c *famCache) reserve(f *famDesc) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reserved == nil {
		c.reserved = map[string]bool{}
	}
	c.reserved[strings.TrimPrefix(f.name, Namespace+"_")] = true
}

// fam returns the family called zookeeper_<name>, creating it; nil when
// the name is taken (see famLocked).
func (c *famCache) fam(name, help string, typ dto.MetricType, labels ...string) *famDesc {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.famLocked(name, help, typ, labels...)
}

// famLocked returns the family called zookeeper_<name>, creating it. A
// name already taken with another type or other label names gives nil: the
// field is left out rather than exposed inconsistently (which the registry
// used to reject at every scrape).
func (c *famCache) famLocked(name, help string, typ dto.MetricType, labels ...string) *famDesc {
	if c.reserved[name] {
		return nil
	}
	if f, ok := c.fams[name]; ok {
		if f.typ != typ || strings.Join(f.labels, ",") != strings.Join(labels, ",") {
			return nil
		}
		return f
	}
	if c.fams == nil {
		c.fams = map[string]*famDesc{}
	}
	f := newFamDesc(name, help, typ, labels...)
	c.fams[name] = f
	return f
}

// series is one sample of a scrape: a gauge or counter value, or a summary.
type series struct {
	fam     *famDesc
	labels  []*dto.LabelPair // shared, sorted by name
	value   float64
	summary *dto.Summary
}

// memberBuf holds the series one goroutine of a scrape builds, and the
// dto values of its summaries. Buffers are pooled: a scrape releases them
// once its answer is written.
type memberBuf struct {
	series   []series
	sums     []summaryValues
	sumIndex map[*summaryMeta]int
	hasCnt   map[string]bool
	dsums    []dto.Summary
	counts   []uint64
	floats   []float64
	dq       []dto.Quantile
	qptrs    []*dto.Quantile
}

var memberBufs = sync.Pool{New: func() any {
	return &memberBuf{sumIndex: map[*summaryMeta]int{}, hasCnt: map[string]bool{}}
}}

// grow returns s resliced to n elements, reallocated only when too small.
// The elements are not cleared.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, n+n/4)
	}
	return s[:n]
}

// seriesSink collects the member buffers of one scrape.
type seriesSink struct {
	mu   sync.Mutex
	bufs []*memberBuf
	pool bool // buffers come from and go back to the pools
}

// buf returns an empty buffer that belongs to the sink.
func (s *seriesSink) buf() *memberBuf {
	var b *memberBuf
	if s.pool {
		b = memberBufs.Get().(*memberBuf)
		b.series = b.series[:0]
	} else {
		b = &memberBuf{sumIndex: map[*summaryMeta]int{}, hasCnt: map[string]bool{}}
	}
	s.mu.Lock()
	s.bufs = append(s.bufs, b)
	s.mu.Unlock()
	return b
}

// release gives the sink's buffers back; nothing built from them may be
// used afterwards.
func (s *seriesSink) release() {
	if !s.pool {
		return
	}
	for _, b := range s.bufs {
		clear(b.series) // drop references to label pairs and summaries
		memberBufs.Put(b)
	}
	s.bufs = nil
}

// emitter appends a collector's series to one buffer of the scrape's sink.
type emitter struct {
	buf   *memberBuf
	descs *famCache
}

func newEmitter(sink *seriesSink, descs *famCache) *emitter {
	return &emitter{buf: sink.buf(), descs: descs}
}

// emit appends one gauge or counter of d with the label values in d's
// order. Without descs, the label pairs are built anew (for labels whose
// values come and go, which a cache would accumulate).
func (e *emitter) emit(d typedDesc, value float64, labelValues ...string) {
	var labels []*dto.LabelPair
	if e.descs != nil {
		labels = e.descs.famLabels(d.fam, labelValues...)
	} else {
		labels = makeLabelPairs(d.fam.labels, labelValues)
	}
	e.buf.series = append(e.buf.series, series{fam: d.fam, labels: labels, value: value})
}

// emitPairs appends one gauge of d with ready label pairs: sorted by name,
// valid UTF-8, and not changed afterwards.
func (e *emitter) emitPairs(d typedDesc, value float64, labels []*dto.LabelPair) {
	e.buf.series = append(e.buf.series, series{fam: d.fam, labels: labels, value: value})
}

// sendSeries runs collect into a sink of its own and sends what it built
// to ch as metrics: the prometheus.Collector path (tests, embedding) of a
// collector that builds series.
func sendSeries(ch chan<- prometheus.Metric, collect func(*seriesSink) error) error {
	sink := &seriesSink{}
	err := collect(sink)
	for _, b := range sink.bufs {
		for _, s := range b.series {
			ch <- seriesMetric{s}
		}
	}
	return err
}

// makeLabelPairs returns label pairs sorted by name, values made valid
// UTF-8.
func makeLabelPairs(names, values []string) []*dto.LabelPair {
	p := make([]*dto.LabelPair, len(names))
	for i := range names {
		p[i] = &dto.LabelPair{Name: proto.String(names[i]), Value: proto.String(strings.ToValidUTF8(values[i], "\uFFFD"))}
	}
	slices.SortFunc(p, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
	return p
}

// compareSeries orders by family name, then label values (label pairs are
// sorted by name, and a family's label names are fixed).
func compareSeries(a, b series) int {
	if a.fam != b.fam {
		return strings.Compare(a.fam.name, b.fam.name)
	}
	for i := range a.labels {
		if i >= len(b.labels) {
			return 1
		}
		if c := strings.Compare(a.labels[i].GetValue(), b.labels[i].GetValue()); c != 0 {
			return c
		}
	}
	return len(a.labels) - len(b.labels)
}

// famBuf holds the dto values of one scrape's families; pooled.
type famBuf struct {
	index    map[*famDesc]int
	order    []*famDesc // families in order of appearance
	byName   []*famDesc
	offsets  []int
	series   []series
	fams     []dto.MetricFamily
	out      []*dto.MetricFamily
	metrics  []dto.Metric
	ptrs     []*dto.Metric
	values   []float64
	gauges   []dto.Gauge
	counters []dto.Counter
}

var famBufs = sync.Pool{New: func() any { return new(famBuf) }}

// families turns the sink's series into metric families sorted by name,
// their metrics sorted by label values, as a registry gathers them.
// Duplicates (a server repeating a key) keep the first. The families live
// in fb until it is reused.
func (fb *famBuf) families(sink *seriesSink) []*dto.MetricFamily {
	ss, dups := fb.sorted(sink)
	if len(ss) == 0 {
		return nil
	}
	if dups {
		ss = slices.CompactFunc(ss, func(a, b series) bool { return compareSeries(a, b) == 0 })
	}
	nf := 1
	for i := 1; i < len(ss); i++ {
		if ss[i].fam != ss[i-1].fam {
			nf++
		}
	}
	fb.fams, fb.out = grow(fb.fams, nf), grow(fb.out, nf)
	fb.metrics, fb.ptrs, fb.values = grow(fb.metrics, len(ss)), grow(fb.ptrs, len(ss)), grow(fb.values, len(ss))
	fb.gauges, fb.counters = grow(fb.gauges, len(ss)), grow(fb.counters, len(ss))
	f, start := -1, 0
	for i := range ss {
		s := &ss[i]
		if i == 0 || s.fam != ss[i-1].fam {
			if f >= 0 {
				fb.fams[f].Metric = fb.ptrs[start:i:i]
			}
			f, start = f+1, i
			fam := &fb.fams[f]
			fam.Name, fam.Help, fam.Type, fam.Unit = &s.fam.name, &s.fam.help, &s.fam.typ, nil
			fb.out[f] = fam
		}
		fb.ptrs[i] = fb.metric(i, s)
	}
	fb.fams[f].Metric = fb.ptrs[start:]
	return fb.out
}

// metric fills the i-th dto.Metric from s; every field is set, as the
// value may be a reused one.
func (fb *famBuf) metric(i int, s *series) *dto.Metric {
	m := &fb.metrics[i]
	m.Label, m.Gauge, m.Counter, m.Summary, m.Untyped, m.Histogram, m.TimestampMs = s.labels, nil, nil, nil, nil, nil, nil
	fb.values[i] = s.value
	switch s.fam.typ {
	case dto.MetricType_SUMMARY:
		m.Summary = s.summary
	case dto.MetricType_COUNTER:
		c := &fb.counters[i]
		c.Value, c.CreatedTimestamp, c.Exemplar = &fb.values[i], nil, nil
		m.Counter = c
	default:
		fb.gauges[i].Value = &fb.values[i]
		m.Gauge = &fb.gauges[i]
	}
	return m
}

// sorted returns the sink's series ordered by family name, then label
// values, duplicates next to each other in scrape order, and whether there
// are any: a counting sort by family (a scrape has a few hundred families),
// then a sort within each family.
func (fb *famBuf) sorted(sink *seriesSink) ([]series, bool) {
	if fb.index == nil {
		fb.index = map[*famDesc]int{}
	}
	clear(fb.index)
	fb.order, fb.offsets = fb.order[:0], fb.offsets[:0]
	n := 0
	for _, b := range sink.bufs {
		for _, s := range b.series {
			i, ok := fb.index[s.fam]
			if !ok {
				i = len(fb.order)
				fb.index[s.fam] = i
				fb.order = append(fb.order, s.fam)
				fb.offsets = append(fb.offsets, 0)
			}
			fb.offsets[i]++
			n++
		}
	}
	// Offsets in name order.
	byName := append(fb.byName[:0], fb.order...)
	slices.SortFunc(byName, func(a, b *famDesc) int { return strings.Compare(a.name, b.name) })
	fb.byName = byName
	off := 0
	for _, f := range byName {
		i := fb.index[f]
		c := fb.offsets[i]
		fb.offsets[i] = off
		off += c
	}
	ss := grow(fb.series, n)
	fb.series = ss
	for _, b := range sink.bufs {
		for _, s := range b.series {
			i := fb.index[s.fam]
			ss[fb.offsets[i]] = s
			fb.offsets[i]++
		}
	}
	dups := false
	for start := 0; start < n; {
		end := start + 1
		for end < n && ss[end].fam == ss[start].fam {
			end++
		}
		dups = sortFamily(ss[start:end]) || dups
		start = end
	}
	return ss, dups
}

// sortFamily sorts one family's series by label values, stably, and tells
// whether two have the same labels. Families are small (one series per
// member) or mostly come in order (a group's members), so input already in
// strict order is checked for first.
func sortFamily(ss []series) bool {
	strict := true
	for i := 1; i < len(ss) && strict; i++ {
		strict = compareSeries(ss[i-1], ss[i]) < 0
	}
	if strict {
		return false
	}
	if len(ss) > 16 {
		slices.SortStableFunc(ss, compareSeries)
	} else {
		for i := 1; i < len(ss); i++ {
			for j := i; j > 0 && compareSeries(ss[j-1], ss[j]) > 0; j-- {
				ss[j-1], ss[j] = ss[j], ss[j-1]
			}
		}
	}
	for i := 1; i < len(ss); i++ {
		if compareSeries(ss[i-1], ss[i]) == 0 {
			return true
		}
	}
	return false
}

// release clears the references the buffer holds and pools it.
func (fb *famBuf) release() {
	clear(fb.series)
	clear(fb.order)
	clear(fb.byName)
	clear(fb.index)
	famBufs.Put(fb)
}

// seriesMetric is a series as a prometheus.Metric, for the
// prometheus.Collector path (tests, embedding).
type seriesMetric struct{ s series }

func (m seriesMetric) Desc() *prometheus.Desc { return m.s.fam.desc }

func (m seriesMetric) Write(out *dto.Metric) error {
	out.Label = m.s.labels
	switch m.s.fam.typ {
	case dto.MetricType_SUMMARY:
		out.Summary = m.s.summary
	case dto.MetricType_COUNTER:
		out.Counter = &dto.Counter{Value: proto.Float64(m.s.value)}
	default:
		out.Gauge = &dto.Gauge{Value: proto.Float64(m.s.value)}
	}
	return nil
}
