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
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/zkwatch/zkwatch/internal/fourlw"
)

// mntr turns the fields of mntr into metrics with types, base units and
// labels. 3.6+ servers print their metrics framework as flat keys:
// counters and gauges as zk_<name>, summaries as zk_{avg,min,max,cnt,sum}_<name>
// plus zk_p{50,95,99,999}_<name>, and summary sets with their label folded
// into the name (zk_cnt_<sid>_learner_handler_qp_size,
// zk_cnt_<namespace>_write_per_namespace).

// knownField describes a flat mntr field whose type or unit is known.
type knownField struct {
	name      string // metric name without namespace
	valueType prometheus.ValueType
	scale     float64 // multiply the raw value by this (ms → s)
}

const ms = 1e-3

var knownFields = map[string]knownField{
	"zk_avg_latency":                 {"avg_latency_seconds", prometheus.GaugeValue, ms},
	"zk_min_latency":                 {"min_latency_seconds", prometheus.GaugeValue, ms},
	"zk_max_latency":                 {"max_latency_seconds", prometheus.GaugeValue, ms},
	"zk_uptime":                      {"uptime_seconds", prometheus.GaugeValue, ms},
	"zk_leader_uptime":               {"leader_uptime_seconds", prometheus.GaugeValue, ms},
	"zk_approximate_data_size":       {"approximate_data_size_bytes", prometheus.GaugeValue, 1},
	"zk_watch_bytes":                 {"watch_bytes", prometheus.GaugeValue, 1},
	"zk_packets_received":            {"packets_received_total", prometheus.CounterValue, 1},
	"zk_packets_sent":                {"packets_sent_total", prometheus.CounterValue, 1},
	"zk_bytes_received_count":        {"received_bytes_total", prometheus.CounterValue, 1},
	"zk_response_bytes":              {"response_bytes_total", prometheus.CounterValue, 1},
	"zk_add_dead_watcher_stall_time": {"add_dead_watcher_stall_seconds_total", prometheus.CounterValue, ms},
}

// counterFields are monotonic counters of ZooKeeper's ServerMetrics; they
// get a _total suffix. Every other flat numeric field is a gauge.
var counterFields = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`auth_failed_count commit_count connection_drop_count
	connection_rejected connection_request_count connection_revalidate_count
	cnxn_closed_without_zk_server_running dead_watchers_cleared dead_watchers_queued
	diff_count digest_mismatches_count ensemble_auth_fail ensemble_auth_skip
	ensemble_auth_success insecure_admin_count large_requests_rejected
	learner_commit_received_count learner_proposal_received_count looking_count
	outstanding_changes_queued outstanding_changes_removed prep_processor_request_queued
	proposal_count quit_leading_due_to_disloyal_voter request_commit_queued
	request_throttle_wait_count requests_not_forwarded_to_commit_processor
	response_packet_cache_hits response_packet_cache_misses
	response_packet_get_children_cache_hits response_packet_get_children_cache_misses
	revalidate_count sessionless_connections_expired skip_learner_request_to_next_processor_count
	snap_count stale_replies stale_requests stale_requests_dropped stale_sessions_expired
	sync_processor_request_queued throttled_ops tls_handshake_exceeded
	unrecoverable_error_count unsuccessful_handshake fsync_threshold_exceed_count`) {
		counterFields["zk_"+k] = true
	}
}

var (
	summaryPrefixes = []string{"avg", "min", "max", "cnt", "sum", "p50", "p95", "p99", "p999"}
	// Summary-set names whose label is folded into the key.
	learnerSet   = regexp.MustCompile(`^(\d+)_(learner_handler_qp_\w+)$`)
	namespaceSet = regexp.MustCompile(`^(\w+)_((?:read|write)_per_namespace)$`)
)

// summaryMeta is what does not change between scrapes about a summary.
type summaryMeta struct {
	name                   string // metric name without namespace, with unit
	labelName, labelValue  string // "" or the summary-set label
	scale                  float64
	desc, minDesc, maxDesc *prometheus.Desc
}

// fieldInfo is the cached classification of one mntr key.
type fieldInfo struct {
	summary *summaryMeta // nil for a flat field
	part    string       // avg, min, max, cnt, sum, p50, ...
	desc    *prometheus.Desc
	vt      prometheus.ValueType
	scale   float64
	skip    bool
}

// summaryValues gathers one scrape's values of a summary.
type summaryValues struct {
	count, sum, min, max float64
	haveMin, haveMax     bool
	quantiles            [4]float64
	haveQ                [4]bool
}

var quantileIndex = map[string]int{"p50": 0, "p95": 1, "p99": 2, "p999": 3}
var quantiles = [4]float64{0.5, 0.95, 0.99, 0.999}

// mntrMetrics builds the metrics of one server's mntr fields. Every metric
// carries the server label, and summary sets one label more.
func mntrMetrics(server string, fields []fourlw.Field, descs *descCache) []prometheus.Metric {
	hasCnt := make(map[string]bool, 64)
	for _, f := range fields {
		if rest, ok := strings.CutPrefix(f.Key, "zk_cnt_"); ok && f.Numeric {
			hasCnt[rest] = true
		}
	}
	serverLabels := descs.labels([]string{"server"}, []string{server})
	out := make([]prometheus.Metric, 0, len(fields))
	summaries := map[*summaryMeta]*summaryValues{}
	var order []*summaryMeta
	for _, f := range fields {
		if !f.Numeric {
			continue
		}
		fi := descs.field(f.Key, hasCnt)
		switch {
		case fi.skip:
		case fi.summary == nil:
			out = append(out, &constMetric{desc: fi.desc, labels: serverLabels, vt: fi.vt, value: f.Value * fi.scale})
		default:
			sv := summaries[fi.summary]
			if sv == nil {
				sv = &summaryValues{}
				summaries[fi.summary] = sv
				order = append(order, fi.summary)
			}
			sv.add(fi.part, f.Value)
		}
	}
	for _, sm := range order {
		sv := summaries[sm]
		names, values := []string{"server"}, []string{server}
		if sm.labelName != "" {
			names, values = append(names, sm.labelName), append(values, sm.labelValue)
		}
		labels := descs.labels(names, values)
		count, sum := uint64(sv.count), sv.sum*sm.scale
		dsum := &dto.Summary{SampleCount: &count, SampleSum: &sum}
		// ZooKeeper prints quantiles, minimum and maximum of an empty window
		// as 0: leave them out.
		if count > 0 {
			for i := range quantiles {
				if sv.haveQ[i] {
					v := sv.quantiles[i] * sm.scale
					dsum.Quantile = append(dsum.Quantile, &dto.Quantile{Quantile: &quantiles[i], Value: &v})
				}
			}
		}
		out = append(out, &constMetric{desc: sm.desc, labels: labels, summary: dsum})
		if count == 0 {
			continue // min and max of nothing are not zero
		}
		if sv.haveMin {
			out = append(out, &constMetric{desc: sm.minDesc, labels: labels, vt: prometheus.GaugeValue, value: sv.min * sm.scale})
		}
		if sv.haveMax {
			out = append(out, &constMetric{desc: sm.maxDesc, labels: labels, vt: prometheus.GaugeValue, value: sv.max * sm.scale})
		}
	}
	return out
}

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
	name, vt, scale := flatField(key)
	return &fieldInfo{desc: c.descLocked(name, "ZooKeeper mntr field "+key+".", "server"), vt: vt, scale: scale}
}

func (c *descCache) newSummary(key string) *summaryMeta {
	sm := &summaryMeta{scale: 1}
	name := key
	if m := learnerSet.FindStringSubmatch(key); m != nil {
		sm.labelName, sm.labelValue, name = "learner_sid", m[1], m[2]
	} else if m := namespaceSet.FindStringSubmatch(key); m != nil {
		sm.labelName, sm.labelValue, name = "namespace", m[1], m[2]
	}
	switch {
	case strings.HasSuffix(name, "_ms"):
		name, sm.scale = strings.TrimSuffix(name, "_ms")+"_seconds", ms
	case strings.HasSuffix(name, "latency"), strings.HasSuffix(name, "time"):
		name, sm.scale = name+"_seconds", ms
	case strings.HasSuffix(name, "_size") && strings.Contains(name, "proposal"):
		name += "_bytes"
	}
	sm.name = name
	labels := []string{"server"}
	if sm.labelName != "" {
		labels = append(labels, sm.labelName)
	}
	help := "ZooKeeper mntr summary " + name + "."
	base, unit := splitUnit(name)
	sm.desc = c.descLocked(name, help, labels...)
	sm.minDesc = c.descLocked(base+"_min"+unit, help+" Minimum.", labels...)
	sm.maxDesc = c.descLocked(base+"_max"+unit, help+" Maximum.", labels...)
	return sm
}

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

// flatField names a flat numeric field and gives its type and scale.
func flatField(key string) (string, prometheus.ValueType, float64) {
	if k, ok := knownFields[key]; ok {
		return k.name, k.valueType, k.scale
	}
	name := strings.ToLower(strings.TrimPrefix(key, "zk_"))
	if counterFields[key] {
		return strings.TrimSuffix(name, "_count") + "_total", prometheus.CounterValue, 1
	}
	return name, prometheus.GaugeValue, 1
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

// descCache keeps descriptors and label pairs across scrapes: the mntr
// field set is large and stable, and building descriptors and label pairs
// anew dominated the CPU time of a scrape.
type descCache struct {
	mu        sync.Mutex
	descs     map[string]*prometheus.Desc
	pairs     map[string][]*dto.LabelPair
	fields    map[string]*fieldInfo // keys of flat fields
	inSummary map[string]*fieldInfo // keys whose zk_cnt_ twin is present
	summaries map[string]*summaryMeta
}

// field returns the cached classification of key.
func (c *descCache) field(key string, hasCnt map[string]bool) *fieldInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
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

// labels returns the label pairs for names and values, sorted by name as
// the exposition wants them. The result is shared and must not be changed.
func (c *descCache) labels(names, values []string) []*dto.LabelPair {
	key := strings.Join(names, "\xff") + "\xfe" + strings.Join(values, "\xff")
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.pairs[key]; ok {
		return p
	}
	if c.pairs == nil {
		c.pairs = map[string][]*dto.LabelPair{}
	}
	p := make([]*dto.LabelPair, len(names))
	for i := range names {
		p[i] = &dto.LabelPair{Name: &names[i], Value: proto.String(strings.ToValidUTF8(values[i], "\uFFFD"))}
	}
	sort.Slice(p, func(i, j int) bool { return p[i].GetName() < p[j].GetName() })
	c.pairs[key] = p
	return p
}

// constMetric is a prometheus.Metric whose label pairs come from descCache.
type constMetric struct {
	desc    *prometheus.Desc
	labels  []*dto.LabelPair
	vt      prometheus.ValueType
	value   float64
	summary *dto.Summary
}

func (m *constMetric) Desc() *prometheus.Desc { return m.desc }

func (m *constMetric) Write(out *dto.Metric) error {
	out.Label = m.labels
	switch {
	case m.summary != nil:
		out.Summary = m.summary
	case m.vt == prometheus.CounterValue:
		out.Counter = &dto.Counter{Value: &m.value}
	default:
		out.Gauge = &dto.Gauge{Value: &m.value}
	}
	return nil
}

func (c *descCache) get(name, help string, labels ...string) *prometheus.Desc {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.descLocked(name, help, labels...)
}

func (c *descCache) descLocked(name, help string, labels ...string) *prometheus.Desc {
	key := name + "\xff" + strings.Join(labels, "\xff")
	if d, ok := c.descs[key]; ok {
		return d
	}
	if c.descs == nil {
		c.descs = map[string]*prometheus.Desc{}
	}
	d := newDesc(name, help, labels...)
	c.descs[key] = d
	return d
}
