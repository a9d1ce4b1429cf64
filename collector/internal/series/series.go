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

// Package series builds a scrape's samples as metric families directly,
// for the collectors with the most series (the ensemble's mntr fields,
// about 400 per member, and process groups of up to 100,000 members).
// It is to those collectors what prometheus.MustNewConstMetric and the
// registry are to the others:
//
//	d := series.NewDesc("zookeeper_up", "...", dto.MetricType_GAUGE, "server")
//	e := series.NewEmitter(sink, cache)   // once per collector and scrape
//	e.Emit(d, 1, addr)                    // one sample
//
// and at the end of the scrape Families turns the Sink's samples into
// dto.MetricFamily values sorted as a registry gathers them.
//
// Going through prometheus.Metric and the registry cost about ten
// allocations and a consistency check per sample, each scrape. What the
// registry checked is guaranteed by construction here: a family's name,
// type and label names are fixed when it is created (a Cache refuses a
// second family of the same name with other type or labels), label pairs
// come sorted by name, and duplicate samples are dropped when the
// families are built. It pays at Prometheus's interval: a quarter of an
// isolated scrape's CPU time (bench/NOTES.md, change 18).
package series

import (
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// Desc is a metric family: its name, help, type and label names. It is
// immutable once created; the families built from it point into it.
type Desc struct {
	name, help string
	typ        dto.MetricType
	labels     []string
	desc       *prometheus.Desc // for the prometheus.Collector path
}

// NewDesc returns the family fqName (namespace included) of type typ
// with the given label names, in the order Emit takes their values.
func NewDesc(fqName, help string, typ dto.MetricType, labels ...string) *Desc {
	return &Desc{name: fqName, help: help, typ: typ, labels: labels,
		desc: prometheus.NewDesc(fqName, help, labels, nil)}
}

// Name returns the family's name.
func (d *Desc) Name() string { return d.name }

// Type returns the family's type.
func (d *Desc) Type() dto.MetricType { return d.typ }

// PromDesc returns the family as a client_golang descriptor.
func (d *Desc) PromDesc() *prometheus.Desc { return d.desc }

// Cache keeps a collector's families and label pairs across scrapes: the
// mntr field set is large and stable, and building families and label
// pairs anew dominated a scrape's CPU time. The zero value is empty.
type Cache struct {
	mu       sync.Mutex
	fams     map[string]*Desc
	pairs    map[string][]*dto.LabelPair
	famPairs map[famLabelKey][]*dto.LabelPair
	reserved map[string]bool // names of families built elsewhere
}

type famLabelKey struct {
	fam    *Desc
	values [3]string
}

// Family returns the family fqName, creating it. A name taken
// with another type or other label names, or reserved, gives nil: the
// caller leaves the sample out rather than expose it inconsistently
// (which a registry would reject at every scrape).
func (c *Cache) Family(fqName, help string, typ dto.MetricType, labels ...string) *Desc {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reserved[fqName] {
		return nil
	}
	if f, ok := c.fams[fqName]; ok {
		if f.typ != typ || !slices.Equal(f.labels, labels) {
			return nil
		}
		return f
	}
	if c.fams == nil {
		c.fams = map[string]*Desc{}
	}
	f := NewDesc(fqName, help, typ, labels...)
	c.fams[fqName] = f
	return f
}

// Reserve records a family built elsewhere (with NewDesc), so that Family
// never hands out its name.
func (c *Cache) Reserve(d *Desc) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reserved == nil {
		c.reserved = map[string]bool{}
	}
	c.reserved[d.name] = true
}

// Labels returns the label pairs for names and values, sorted by name as
// the exposition wants them. The result is shared and must not be changed.
func (c *Cache) Labels(names, values []string) []*dto.LabelPair {
	key := strings.Join(names, "\xff") + "\xfe" + strings.Join(values, "\xff")
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.labelsLocked(key, names, values)
}

// DescLabels returns the label pairs of a sample of d with the label
// values in d's order; up to three values are looked up without building
// a key.
func (c *Cache) DescLabels(d *Desc, values ...string) []*dto.LabelPair {
	if len(values) > len(famLabelKey{}.values) {
		return c.Labels(d.labels, values)
	}
	k := famLabelKey{fam: d}
	copy(k.values[:], values)
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.famPairs[k]; ok {
		return p
	}
	if c.famPairs == nil {
		c.famPairs = map[famLabelKey][]*dto.LabelPair{}
	}
	key := strings.Join(d.labels, "\xff") + "\xfe" + strings.Join(values, "\xff")
	p := c.labelsLocked(key, d.labels, values)
	c.famPairs[k] = p
	return p
}

func (c *Cache) labelsLocked(key string, names, values []string) []*dto.LabelPair {
	if p, ok := c.pairs[key]; ok {
		return p
	}
	if c.pairs == nil {
		c.pairs = map[string][]*dto.LabelPair{}
	}
	p := LabelPairs(names, values)
	c.pairs[key] = p
	return p
}

// LabelPairs returns new label pairs sorted by name, values made valid
// UTF-8.
func LabelPairs(names, values []string) []*dto.LabelPair {
	p := make([]*dto.LabelPair, len(names))
	for i := range names {
		p[i] = &dto.LabelPair{Name: proto.String(names[i]), Value: proto.String(strings.ToValidUTF8(values[i], "\uFFFD"))}
	}
	slices.SortFunc(p, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
	return p
}
