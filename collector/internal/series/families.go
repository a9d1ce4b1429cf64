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
	"slices"
	"strings"
	"sync"

	dto "github.com/prometheus/client_model/go"
)

// Compare orders samples as the exposition does: by family name, then
// label values (label pairs are
// sorted by name, and a family's label names are fixed).
func Compare(a, b Sample) int {
	if a.Desc != b.Desc {
		return strings.Compare(a.Desc.name, b.Desc.name)
	}
	for i := range a.Labels {
		if i >= len(b.Labels) {
			return 1
		}
		if c := strings.Compare(a.Labels[i].GetValue(), b.Labels[i].GetValue()); c != 0 {
			return c
		}
	}
	return len(a.Labels) - len(b.Labels)
}

// Families holds the dto values of one scrape's families.
type Families struct {
	index    map[*Desc]int
	order    []*Desc // families in order of appearance
	byName   []*Desc
	offsets  []int
	samples  []Sample
	fams     []dto.MetricFamily
	out      []*dto.MetricFamily
	metrics  []dto.Metric
	ptrs     []*dto.Metric
	values   []float64
	gauges   []dto.Gauge
	counters []dto.Counter
	pooled   bool
}

// grow returns s resliced to n elements, reallocated only when too small.
// The elements are not cleared.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, n+n/4)
	}
	return s[:n]
}

var familyBufs = sync.Pool{New: func() any { return new(Families) }}

// NewFamilies returns room for a scrape's families; a pooled one is
// reused by later scrapes after Release.
func NewFamilies(pooled bool) *Families {
	if pooled {
		fb := familyBufs.Get().(*Families)
		fb.pooled = true
		return fb
	}
	return new(Families)
}

// Build turns the sink's samples into metric families sorted by name,
// their metrics sorted by label values, as a registry gathers them.
// Duplicates (a server repeating a key) keep the first. The families live
// in fb until it is reused.
func (fb *Families) Build(sink *Sink) []*dto.MetricFamily {
	ss, dups := fb.sorted(sink)
	if len(ss) == 0 {
		return nil
	}
	if dups {
		ss = slices.CompactFunc(ss, func(a, b Sample) bool { return Compare(a, b) == 0 })
	}
	nf := 1
	for i := 1; i < len(ss); i++ {
		if ss[i].Desc != ss[i-1].Desc {
			nf++
		}
	}
	fb.fams, fb.out = grow(fb.fams, nf), grow(fb.out, nf)
	fb.metrics, fb.ptrs, fb.values = grow(fb.metrics, len(ss)), grow(fb.ptrs, len(ss)), grow(fb.values, len(ss))
	fb.gauges, fb.counters = grow(fb.gauges, len(ss)), grow(fb.counters, len(ss))
	f, start := -1, 0
	for i := range ss {
		s := &ss[i]
		if i == 0 || s.Desc != ss[i-1].Desc {
			if f >= 0 {
				fb.fams[f].Metric = fb.ptrs[start:i:i]
			}
			f, start = f+1, i
			fam := &fb.fams[f]
			fam.Name, fam.Help, fam.Type, fam.Unit = &s.Desc.name, &s.Desc.help, &s.Desc.typ, nil
			fb.out[f] = fam
		}
		fb.ptrs[i] = fb.metric(i, s)
	}
	fb.fams[f].Metric = fb.ptrs[start:]
	return fb.out
}

// metric fills the i-th dto.Metric from s; every field is set, as the
// value may be a reused one.
func (fb *Families) metric(i int, s *Sample) *dto.Metric {
	m := &fb.metrics[i]
	m.Label, m.Gauge, m.Counter, m.Summary, m.Untyped, m.Histogram, m.TimestampMs = s.Labels, nil, nil, nil, nil, nil, nil
	fb.values[i] = s.Value
	switch s.Desc.typ {
	case dto.MetricType_SUMMARY:
		m.Summary = s.Summary
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

// sorted returns the sink's samples ordered by family name, then label
// values, duplicates next to each other in scrape order, and whether there
// are any: a counting sort by family (a scrape has a few hundred families),
// then a sort within each family.
func (fb *Families) sorted(sink *Sink) ([]Sample, bool) {
	if fb.index == nil {
		fb.index = map[*Desc]int{}
	}
	clear(fb.index)
	fb.order, fb.offsets = fb.order[:0], fb.offsets[:0]
	n := 0
	for _, b := range sink.bufs {
		for _, s := range b.samples {
			i, ok := fb.index[s.Desc]
			if !ok {
				i = len(fb.order)
				fb.index[s.Desc] = i
				fb.order = append(fb.order, s.Desc)
				fb.offsets = append(fb.offsets, 0)
			}
			fb.offsets[i]++
			n++
		}
	}
	// Offsets in name order.
	byName := append(fb.byName[:0], fb.order...)
	slices.SortFunc(byName, func(a, b *Desc) int { return strings.Compare(a.name, b.name) })
	fb.byName = byName
	off := 0
	for _, f := range byName {
		i := fb.index[f]
		c := fb.offsets[i]
		fb.offsets[i] = off
		off += c
	}
	ss := grow(fb.samples, n)
	fb.samples = ss
	for _, b := range sink.bufs {
		for _, s := range b.samples {
			i := fb.index[s.Desc]
			ss[fb.offsets[i]] = s
			fb.offsets[i]++
		}
	}
	dups := false
	for start := 0; start < n; {
		end := start + 1
		for end < n && ss[end].Desc == ss[start].Desc {
			end++
		}
		dups = sortFamily(ss[start:end]) || dups
		start = end
	}
	return ss, dups
}

// sortFamily sorts one family's samples by label values, stably, and tells
// whether two have the same labels. Families are small (one sample per
// member) or mostly come in order (a group's members), so input already in
// strict order is checked for first.
func sortFamily(ss []Sample) bool {
	strict := true
	for i := 1; i < len(ss) && strict; i++ {
		strict = Compare(ss[i-1], ss[i]) < 0
	}
	if strict {
		return false
	}
	if len(ss) > 16 {
		slices.SortStableFunc(ss, Compare)
	} else {
		for i := 1; i < len(ss); i++ {
			for j := i; j > 0 && Compare(ss[j-1], ss[j]) > 0; j-- {
				ss[j-1], ss[j] = ss[j], ss[j-1]
			}
		}
	}
	for i := 1; i < len(ss); i++ {
		if Compare(ss[i-1], ss[i]) == 0 {
			return true
		}
	}
	return false
}

// Release clears the references fb holds and, when pooled, pools it:
// nothing Build returned may be used afterwards.
func (fb *Families) Release() {
	if !fb.pooled {
		return
	}
	clear(fb.samples)
	clear(fb.order)
	clear(fb.byName)
	clear(fb.index)
	familyBufs.Put(fb)
}
