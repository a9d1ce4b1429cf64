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
	"math"
	"strconv"
	"strings"
	"sync"

	dto "github.com/prometheus/client_model/go"

	"github.com/zkwatch/zkwatch/collector/internal/series"
	"github.com/zkwatch/zkwatch/internal/fourlw"
)

// providerKeys turns the labelled keys of ZooKeeper's Prometheus metrics
// provider into metrics named after the key, with the server label and the
// key's own labels (a provider label named server becomes exported_server).
//
// A summary arrives as quantile lines zk_X{...,quantile="0.5"} plus
// zk_X_count and zk_X_sum (labelled like the quantiles without quantile):
// it becomes the Prometheus summary zookeeper_X, named and scaled like the
// default provider's summaries (zk_fsynctime → zookeeper_fsynctime_seconds),
// so that the same alerts serve both providers. An empty window's NaN
// quantiles are left out. Other labelled keys keep the server's values:
// _total, _count and _sum keys are counters, the rest gauges.
type providerKeys struct {
	mu sync.Mutex
	// names holds, per metric, the label names it was first seen with: a
	// key of the same name with other labels would make the family
	// inconsistent and is dropped.
	names map[string]string
}

// providerSummary gathers one summary of one answer.
type providerSummary struct {
	key                string // zk_X
	names, values      []string
	count, sum         float64
	quantiles          []series.Quantile
	countSeen, sumSeen bool
}

// providerSample is a sample of a labelled key, added to the member's
// buffer after its flat fields.
type providerSample struct {
	fam       *series.Desc
	labels    []*dto.LabelPair
	value     float64
	summary   bool
	count     uint64
	quantiles []series.Quantile
}

func (s providerSample) addTo(b *series.Buf) {
	if s.summary {
		b.AddSummary(s.fam, s.labels, s.count, s.value, s.quantiles)
	} else {
		b.Add(s.fam, s.labels, s.value)
	}
}

// samples returns the samples of the labelled keys among fields, and the
// unlabelled keys that went into a summary (zk_X_count, zk_X_sum), which
// the caller must not export again.
func (p *providerKeys) samples(server string, fields []fourlw.Field, descs *descCache) ([]providerSample, map[string]bool) {
	labelled := false
	for _, f := range fields {
		labelled = labelled || len(f.Labels) > 0
	}
	if !labelled {
		return nil, nil
	}
	sums, order := p.summaries(server, fields)
	bases := map[string]bool{}
	for _, ps := range order {
		bases[ps.key] = true
	}
	used := map[string]bool{} // keys (with labels) that went into a summary
	skip := map[string]bool{}
	for _, f := range fields {
		base, part := summaryPart(f.Key)
		if part == "" || !f.Numeric || !bases[base] {
			continue
		}
		// Series of a summary without quantile lines of their own still
		// belong to it: a separate X_count would collide with it.
		names, values, _ := providerLabels(server, f.Key, f.Labels)
		id := seriesID(base, names, values)
		ps := sums[id]
		if ps == nil {
			ps = &providerSummary{key: base, names: names, values: values}
			sums[id] = ps
			order = append(order, ps)
		}
		if part == "_count" {
			ps.count, ps.countSeen = f.Value, true
		} else {
			ps.sum, ps.sumSeen = f.Value, true
		}
		used[seriesID(f.Key, names, values)] = true
		if len(f.Labels) == 0 {
			skip[f.Key] = true
		}
	}
	out := make([]providerSample, 0, len(order))
	for _, ps := range order {
		if s, ok := p.summarySample(ps, descs); ok {
			out = append(out, s)
		}
	}
	return append(out, p.plain(server, fields, used, skip, descs)...), skip
}

// summaries collects the quantile lines by series, in answer order.
func (p *providerKeys) summaries(server string, fields []fourlw.Field) (map[string]*providerSummary, []*providerSummary) {
	sums := map[string]*providerSummary{}
	var order []*providerSummary
	for _, f := range fields {
		names, values, q := providerLabels(server, f.Key, f.Labels)
		if q == "" || !f.Numeric {
			continue
		}
		id := seriesID(f.Key, names, values)
		ps := sums[id]
		if ps == nil {
			ps = &providerSummary{key: f.Key, names: names, values: values}
			sums[id] = ps
			order = append(order, ps)
		}
		if qv, err := strconv.ParseFloat(q, 64); err == nil && !math.IsNaN(f.Value) && len(ps.quantiles) < 32 {
			v := f.Value
			ps.quantiles = append(ps.quantiles, series.Quantile{Q: qv, V: v})
		}
	}
	return sums, order
}

// summarySample builds the summary; false when its labels clash.
func (p *providerKeys) summarySample(ps *providerSummary, descs *descCache) (providerSample, bool) {
	name, scale := summaryUnit(strings.ToLower(strings.TrimPrefix(ps.key, "zk_")))
	// A summary needs its count and sum (a cut answer may lack them).
	if !ps.countSeen || !ps.sumSeen || !p.consistent(name, ps.names, true) {
		return providerSample{}, false
	}
	count := uint64(0)
	if ps.count > 0 && ps.count < math.MaxInt64 {
		count = uint64(ps.count)
	}
	for i, q := range ps.quantiles {
		ps.quantiles[i].V = scaled(q.V, scale)
	}
	// The default provider's summary of the same name has this help: a
	// member of either kind may come first.
	fam := descs.Family(Namespace+"_"+name, "ZooKeeper mntr summary "+name+".", dto.MetricType_SUMMARY, ps.names...)
	if fam == nil {
		return providerSample{}, false
	}
	return providerSample{fam: fam, labels: descs.Labels(ps.names, ps.values), summary: true,
		count: count, value: scaled(ps.sum, scale), quantiles: ps.quantiles}, true
}

// plain builds the labelled keys that are not part of a summary.
func (p *providerKeys) plain(server string, fields []fourlw.Field, used, flatUsed map[string]bool, descs *descCache) []providerSample {
	var out []providerSample
	flat := map[string]bool{}
	for _, f := range fields {
		if len(f.Labels) == 0 && !flatUsed[f.Key] {
			flat[f.Key] = true
		}
	}
	seen := map[string]bool{}
	for _, f := range fields {
		names, values, q := providerLabels(server, f.Key, f.Labels)
		id := seriesID(f.Key, names, values)
		// Quantiles went into summaries; a name that is also a flat key, a
		// repeated series or a clashing label set would break the family.
		if len(f.Labels) == 0 || !f.Numeric || q != "" || used[id] || flat[f.Key] || seen[id] {
			continue
		}
		seen[id] = true
		name := strings.ToLower(strings.TrimPrefix(f.Key, "zk_"))
		if !p.consistent(name, names, false) {
			continue
		}
		typ := dto.MetricType_GAUGE
		if _, part := summaryPart(f.Key); part != "" || strings.HasSuffix(name, "_total") {
			typ = dto.MetricType_COUNTER
		}
		// The help of a flat field of that name: another member may print
		// it unlabelled.
		if fam := descs.Family(Namespace+"_"+name, "ZooKeeper mntr field "+f.Key+".", typ, names...); fam != nil {
			out = append(out, providerSample{fam: fam, labels: descs.Labels(names, values), value: f.Value})
		}
	}
	return out
}

// providerLabels returns the label names and values of a series of key
// (server first, the quantile label left out) and the quantile, if any. The
// label of a summary set (key) is named as the default provider's
// summaries name it (namespace, learner_sid).
func providerLabels(server, key string, labels []fourlw.Label) (names, values []string, quantile string) {
	names, values = []string{"server"}, []string{server}
	base, _ := summaryPart(key)
	for _, l := range labels {
		switch {
		case l.Name == "quantile":
			quantile = l.Value
			continue
		case l.Name == "server":
			l.Name = "exported_server"
		case l.Name == "key" && strings.HasSuffix(base, "_per_namespace"):
			l.Name = "namespace"
		case l.Name == "key" && strings.HasPrefix(base, "zk_learner_handler_qp_"):
			l.Name = "learner_sid"
		}
		names, values = append(names, l.Name), append(values, l.Value)
	}
	return names, values, quantile
}

// The key is folded to lower case as the metric name is: keys that differ
// only in case are one series (the first is kept).
func seriesID(key string, names, values []string) string {
	return strings.ToLower(key) + "\xff" + strings.Join(names, "\xff") + "\xfe" + strings.Join(values, "\xff")
}

// summaryPart splits zk_X_count or zk_X_sum into zk_X and the suffix.
func summaryPart(key string) (string, string) {
	for _, s := range []string{"_count", "_sum"} {
		if base, ok := strings.CutSuffix(key, s); ok {
			return base, s
		}
	}
	return key, ""
}

// consistent records the label names of a metric on first sight and
// reports whether names are those. A summary N and a plain N_count or N_sum
// (from another member's answer) would collide: the first seen wins.
func (p *providerKeys) consistent(metric string, names []string, summary bool) bool {
	joined := strings.Join(names, ",")
	if summary {
		joined = "summary:" + joined
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.names == nil {
		p.names = map[string]string{}
	}
	if prev, ok := p.names[metric]; ok {
		return prev == joined
	}
	base, part := summaryPart(metric)
	switch {
	case summary && (p.names[metric+"_count"] != "" || p.names[metric+"_sum"] != ""):
		return false
	case !summary && part != "" && strings.HasPrefix(p.names[base], "summary:"):
		return false
	case len(p.names) >= maxProviderNames:
		return false
	}
	p.names[metric] = joined
	return true
}

// maxProviderNames bounds the names remembered, against servers inventing
// keys.
const maxProviderNames = 5000
