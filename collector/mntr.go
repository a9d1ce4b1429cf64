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
	"bytes"
	"math"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	dto "github.com/prometheus/client_model/go"

	"github.com/zkwatch/zkwatch/collector/internal/series"
	"github.com/zkwatch/zkwatch/internal/fourlw"
)

// mntr.go is the path of one member's mntr answer, from its fields
// (fourlw.ParseMntr) to samples with types, base units and labels, in the
// order a reader follows it: mntrSamples, the classification of each key
// (the type table of mntr_keys.go decides; the family comes from the
// collector's series.Cache, once per key), then summaries. Labelled keys
// of the Prometheus metrics provider are mntr_labels.go's. The family is
// asked for where the type is decided and kept with the key's class, as a
// node_exporter collector makes its descriptors: handing typed fields to
// ensemble.go to look their families up would cost a lookup per field and
// scrape (about 400 per member), and the class cache is what keeps a
// member's answer cheap (BenchmarkMemberMntr).
//
// 3.6+ servers print their metrics framework as flat keys: counters and
// gauges as zk_<name>, summaries as zk_{avg,min,max,cnt,sum}_<name> plus
// zk_p{50,95,99,999}_<name>, and summary sets with their label folded into
// the name (zk_cnt_<sid>_learner_handler_qp_size,
// zk_cnt_<namespace>_write_per_namespace).

// descCache is what an ensemble collector keeps of mntr across scrapes:
// the mntr field set is large and stable, and classifying keys and
// building families and label pairs anew dominated a scrape's CPU time.
type descCache struct {
	series.Cache // the families and label pairs of every ensemble sample

	mu        sync.Mutex // guards the fields below
	sumPairs  map[summaryLabelKey][]*dto.LabelPair
	fields    map[string]*fieldInfo // keys of flat fields
	inSummary map[string]*fieldInfo // keys whose zk_cnt_ twin is present
	summaries map[string]*summaryMeta
	provider  providerKeys            // labelled keys (mntr_labels.go)
	layouts   map[string]*fieldLayout // by server
}

// mntrScratch is what one answer's summaries gather; pooled.
type mntrScratch struct {
	sums     []summaryValues
	sumIndex map[*summaryMeta]int
	hasCnt   map[string]bool // rest of each numeric zk_cnt_<rest> key
}

var mntrScratches = sync.Pool{New: func() any {
	return &mntrScratch{sumIndex: map[*summaryMeta]int{}, hasCnt: map[string]bool{}}
}}

// mntrSamples adds the samples of one server's mntr fields to b. Every
// sample carries the server label, and sets one label more.
func mntrSamples(server string, fields []fourlw.Field, descs *descCache, b *series.Buf) {
	sc := mntrScratches.Get().(*mntrScratch)
	defer mntrScratches.Put(sc)
	sc.sums = sc.sums[:0]
	clear(sc.sumIndex)
	serverLabels := descs.Labels([]string{"server"}, []string{server})
	// The metrics provider's labelled keys, and the flat keys its summaries took.
	provider, taken := descs.provider.samples(server, fields, descs)
	infos := descs.classes(server, fields, sc.hasCnt)
	for i, f := range fields {
		if !f.Numeric || len(f.Labels) > 0 || taken[f.Key] {
			continue
		}
		fi := infos[i]
		switch {
		case fi.skip:
		case fi.summary == nil:
			if fi.fam == nil || fi.unset && f.Value == -1 {
				continue
			}
			labels := serverLabels
			if fi.set != "" {
				labels = descs.Labels([]string{"server", fi.set}, []string{server, fi.setVal})
			}
			b.Add(fi.fam, labels, scaled(f.Value, fi.scale))
		default:
			i, ok := sc.sumIndex[fi.summary]
			if !ok {
				i = len(sc.sums)
				sc.sumIndex[fi.summary] = i
				sc.sums = append(sc.sums, summaryValues{meta: fi.summary})
			}
			sc.sums[i].add(fi.part, f.Value)
		}
	}
	for _, p := range provider {
		p.addTo(b)
	}
	sc.addSummaries(b, server, descs)
}

// addSummaries adds the gathered summaries to b: each a Prometheus summary
// plus its minimum and maximum gauges.
func (sc *mntrScratch) addSummaries(b *series.Buf, server string, descs *descCache) {
	for i := range sc.sums {
		sv, sm := &sc.sums[i], sc.sums[i].meta
		if sm.fam == nil {
			continue
		}
		labels := descs.summaryLabels(server, sm)
		count := uint64(sv.count)
		// ZooKeeper prints quantiles, minimum and maximum of an empty window
		// as 0: leave them out.
		var qs [len(quantiles)]series.Quantile
		n := 0
		for j := range quantiles {
			if count > 0 && sv.haveQ[j] {
				qs[n] = series.Quantile{Q: quantiles[j], V: scaled(sv.quantiles[j], sm.scale)}
				n++
			}
		}
		b.AddSummary(sm.fam, labels, count, scaled(sv.sum, sm.scale), qs[:n])
		if count == 0 {
			continue // min and max of nothing are not zero
		}
		if sv.haveMin && sm.minFam != nil {
			b.Add(sm.minFam, labels, scaled(sv.min, sm.scale))
		}
		if sv.haveMax && sm.maxFam != nil {
			b.Add(sm.maxFam, labels, scaled(sv.max, sm.scale))
		}
	}
}

// fieldLayout is the key sequence of a member's last mntr answer and the
// class of each key. A member answers with the same keys in the same order
// scrape after scrape; the keys are interned, so comparing the sequence is
// comparing pointers, and the classes (which depend only on the keys and
// on which zk_cnt_ keys are numeric) are reused without a lookup.
type fieldLayout struct {
	mu      sync.Mutex
	keys    []string
	numeric []bool
	infos   []*fieldInfo
}

// same tells whether fields has the keys and numeric flags of l.
func (l *fieldLayout) same(fields []fourlw.Field) bool {
	if len(fields) != len(l.keys) {
		return false
	}
	for i := range fields {
		if unsafe.StringData(fields[i].Key) != unsafe.StringData(l.keys[i]) || len(fields[i].Key) != len(l.keys[i]) || fields[i].Numeric != l.numeric[i] {
			return false
		}
	}
	return true
}

// classes returns the class of each field of server's answer (nil for a
// field that is not numeric or has labels), from server's layout when the
// answer has the keys of the last one.
func (c *descCache) classes(server string, fields []fourlw.Field, hasCnt map[string]bool) []*fieldInfo {
	c.mu.Lock()
	if c.layouts == nil {
		c.layouts = map[string]*fieldLayout{}
	}
	l := c.layouts[server]
	if l == nil && len(c.layouts) < maxLayouts {
		l = &fieldLayout{}
		c.layouts[server] = l
	}
	c.mu.Unlock()
	// A concurrent scrape of the same member holds the layout: classify
	// without it.
	if l != nil && l.mu.TryLock() {
		defer l.mu.Unlock()
		if l.same(fields) {
			return l.infos
		}
	} else {
		l = nil
	}
	clear(hasCnt)
	for _, f := range fields {
		if rest, ok := strings.CutPrefix(f.Key, "zk_cnt_"); ok && f.Numeric {
			hasCnt[rest] = true
		}
	}
	infos := make([]*fieldInfo, len(fields))
	c.mu.Lock()
	for i, f := range fields {
		if f.Numeric && len(f.Labels) == 0 {
			infos[i] = c.fieldLocked(f.Key, hasCnt)
		}
	}
	c.mu.Unlock()
	if l != nil {
		l.keys, l.numeric, l.infos = l.keys[:0], l.numeric[:0], infos
		for _, f := range fields {
			l.keys, l.numeric = append(l.keys, f.Key), append(l.numeric, f.Numeric)
		}
	}
	return infos
}

// maxLayouts bounds the members whose layouts are kept (a /probe of
// changing targets).
const maxLayouts = 256

// fieldLocked returns the cached classification of key; c.mu is held.
func (c *descCache) fieldLocked(key string, hasCnt map[string]bool) *fieldInfo {
	if c.fields == nil {
		c.fields, c.inSummary, c.summaries = map[string]*fieldInfo{}, map[string]*fieldInfo{}, map[string]*summaryMeta{}
	}
	// A key's class depends on whether its summary's count is present in
	// this answer, so the two cases are cached apart.
	cache := c.fields
	if rest := strings.TrimPrefix(key, "zk_"); hasCnt[rest[strings.IndexByte(rest, '_')+1:]] {
		cache = c.inSummary
	}
	if fi, ok := cache[key]; ok {
		return fi
	}
	fi := c.classify(key, hasCnt)
	cache[key] = fi
	return fi
}

// fieldInfo is the cached classification of one mntr key.
type fieldInfo struct {
	summary *summaryMeta // nil for a flat field
	part    string       // avg, min, max, cnt, sum, p50, ...
	fam     *series.Desc // flat field; nil when its name is taken
	scale   float64
	skip    bool
	unset   bool   // -1 means no value yet (mntrKey.unset)
	set     string // label name of a gauge or counter set, else ""
	setVal  string // its value
}

var summaryPrefixes = []string{"avg", "min", "max", "cnt", "sum", "p50", "p95", "p99", "p999"}

// classify works out what an mntr key is. A key zk_<prefix>_<rest> belongs
// to a summary when the same answer has zk_cnt_<rest>.
func (c *descCache) classify(key string, hasCnt map[string]bool) *fieldInfo {
	for _, p := range summaryPrefixes {
		rest, ok := strings.CutPrefix(key, "zk_"+p+"_")
		if !ok || !hasCnt[rest] {
			continue
		}
		sm := c.summaries[rest]
		if sm == nil {
			sm = c.newSummary(rest)
			c.summaries[rest] = sm
		}
		return &fieldInfo{summary: sm, part: p, skip: p == "avg"} // avg = sum/count
	}
	fi := &fieldInfo{}
	var name string
	var typ dto.MetricType
	name, typ, fi.scale, fi.unset = flatField(key)
	labels, help := []string{"server"}, "ZooKeeper mntr field "+key+"."
	if v, set, ok := splitSet(strings.TrimPrefix(key, "zk_"), mntrSets); ok {
		k := mntrKeys["zk_"+set]
		fi.set, fi.setVal = k.set, v
		name, typ, fi.scale, fi.unset = flatField("zk_" + set)
		labels = append(labels, k.set)
		help = "ZooKeeper mntr fields zk_<" + k.set + ">_" + set + "."
	}
	fi.fam = c.Family(Namespace+"_"+name, help, typ, labels...)
	return fi
}

// summaryMeta is what does not change between scrapes about a summary.
type summaryMeta struct {
	name                  string // metric name without namespace, with unit
	labelName, labelValue string // "" or the summary-set label
	scale                 float64
	fam, minFam, maxFam   *series.Desc // nil when the name is taken by another family
}

func (c *descCache) newSummary(key string) *summaryMeta {
	sm := &summaryMeta{scale: 1}
	name := key
	if _, ok := mntrSummaries[key]; !ok {
		if v, set, ok := splitSet(key, summarySets); ok && (mntrSummaries[set].set != "learner_sid" || isDigits(v)) {
			sm.labelName, sm.labelValue, name = mntrSummaries[set].set, v, set
		}
	}
	name, sm.scale = summaryUnit(name)
	sm.name = name
	labels := []string{"server"}
	if sm.labelName != "" {
		labels = append(labels, sm.labelName)
	}
	help := "ZooKeeper mntr summary " + name + "."
	base, unit := splitUnit(name)
	sm.fam = c.Family(Namespace+"_"+name, help, dto.MetricType_SUMMARY, labels...)
	sm.minFam = c.Family(Namespace+"_"+base+"_min"+unit, help+" Minimum.", dto.MetricType_GAUGE, labels...)
	sm.maxFam = c.Family(Namespace+"_"+base+"_max"+unit, help+" Maximum.", dto.MetricType_GAUGE, labels...)
	return sm
}

// summaryLabels returns the label pairs of a summary of server.
func (c *descCache) summaryLabels(server string, sm *summaryMeta) []*dto.LabelPair {
	k := summaryLabelKey{server, sm}
	c.mu.Lock()
	p, ok := c.sumPairs[k]
	c.mu.Unlock()
	if ok {
		return p
	}
	if sm.labelName == "" {
		p = c.Labels([]string{"server"}, []string{server})
	} else {
		p = c.Labels([]string{"server", sm.labelName}, []string{server, sm.labelValue})
	}
	c.mu.Lock()
	if c.sumPairs == nil {
		c.sumPairs = map[summaryLabelKey][]*dto.LabelPair{}
	}
	c.sumPairs[k] = p
	c.mu.Unlock()
	return p
}

type summaryLabelKey struct {
	server string
	sm     *summaryMeta
}

// summaryValues gathers one scrape's values of a summary.
type summaryValues struct {
	meta                 *summaryMeta
	count, sum, min, max float64
	haveMin, haveMax     bool
	quantiles            [4]float64
	haveQ                [4]bool
}

var quantileIndex = map[string]int{"p50": 0, "p95": 1, "p99": 2, "p999": 3}
var quantiles = [4]float64{0.5, 0.95, 0.99, 0.999}

func (sv *summaryValues) add(part string, v float64) {
	switch part {
	case "cnt":
		sv.count = v
	case "sum":
		sv.sum = v
	case "min":
		sv.min, sv.haveMin = v, true
	case "max":
		sv.max, sv.haveMax = v, true
	default:
		if i, ok := quantileIndex[part]; ok {
			sv.quantiles[i], sv.haveQ[i] = v, true
		}
	}
}

// flatField names a flat numeric field from the type table and gives its
// type, scale and whether -1 means "no value yet". Counters get _total
// (a trailing _count gives way to it); keys the table lacks are gauges.
func flatField(key string) (name string, typ dto.MetricType, scale float64, unset bool) {
	k := mntrKeys[key]
	name, scale = k.name, k.scale
	if scale == 0 {
		scale = 1
	}
	if name == "" {
		name = strings.ToLower(strings.TrimPrefix(key, "zk_"))
		if k.typ == counterKey {
			name = strings.TrimSuffix(name, "_count") + "_total"
		}
	}
	if k.typ == counterKey {
		return name, dto.MetricType_COUNTER, scale, k.unset
	}
	return name, dto.MetricType_GAUGE, scale, k.unset
}

// summaryUnit names a summary in base units and gives the scale of its
// values: ZooKeeper measures times in milliseconds.
func summaryUnit(name string) (string, float64) {
	switch {
	case strings.HasSuffix(name, "_ms"):
		return strings.TrimSuffix(name, "_ms") + "_seconds", ms
	case strings.HasSuffix(name, "latency"), strings.HasSuffix(name, "time"):
		return name + "_seconds", ms
	case strings.HasSuffix(name, "_size") && strings.Contains(name, "proposal"):
		return name + "_bytes", 1
	}
	return name, 1
}

// splitUnit splits a trailing base unit off a metric name.
func splitUnit(name string) (string, string) {
	for _, u := range []string{"_seconds", "_bytes"} {
		if b, ok := strings.CutSuffix(name, u); ok {
			return b, u
		}
	}
	return name, ""
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

const ms = 1e-3

// scaled converts v to base units. Milliseconds are converted in decimal,
// by shifting the exponent of v's shortest decimal form: 5052 ms is
// 5.052 s as ZooKeeper wrote it, where 5052*1e-3 prints as
// 5.0520000000000005 and 0.9/1000 as 0.0009000000000000001.
func scaled(v, scale float64) float64 {
	if scale != ms || v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return v * scale
	}
	var buf [40]byte
	b := strconv.AppendFloat(buf[:0], v, 'e', -1, 64)
	i := bytes.IndexByte(b, 'e')
	exp, err := strconv.Atoi(string(b[i+1:]))
	if err != nil {
		return v * scale
	}
	b = strconv.AppendInt(b[:i+1], int64(exp-3), 10)
	r, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return v * scale
	}
	return r
}
