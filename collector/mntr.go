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
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

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
	quantileOf      = map[string]float64{"p50": 0.5, "p95": 0.95, "p99": 0.99, "p999": 0.999}
	// Summary-set names whose label is folded into the key.
	learnerSet   = regexp.MustCompile(`^(\d+)_(learner_handler_qp_\w+)$`)
	namespaceSet = regexp.MustCompile(`^(\w+)_((?:read|write)_per_namespace)$`)
)

// summary gathers the fields of one ZooKeeper summary.
type summary struct {
	name            string // metric name without namespace, with unit
	labelName       string // "" or the summary-set label
	labelValue      string
	scale           float64
	count, sum      float64
	min, max        float64
	haveMin, haveMx bool
	quantiles       map[float64]float64
}

// mntrMetrics builds the metrics of one server's mntr fields. Every metric
// carries the server label first, and, for summary sets, one label more.
func mntrMetrics(server string, fields []fourlw.Field, descs *descCache) []prometheus.Metric {
	byKey := make(map[string]fourlw.Field, len(fields))
	for _, f := range fields {
		if f.Numeric {
			byKey[f.Key] = f
		}
	}
	summaries := map[string]*summary{}
	var out []prometheus.Metric
	for _, f := range fields {
		if !f.Numeric {
			continue
		}
		if s, part := summaryOf(f.Key, byKey); s != "" {
			sm := summaries[s]
			if sm == nil {
				sm = newSummary(s)
				summaries[s] = sm
			}
			sm.add(part, f.Value)
			continue
		}
		name, vt, scale := flatField(f.Key)
		if name == "" {
			continue
		}
		out = append(out, prometheus.MustNewConstMetric(descs.get(name, "ZooKeeper mntr field "+f.Key+".", "server"), vt, f.Value*scale, server))
	}
	for _, sm := range summaries {
		labels := []string{"server"}
		values := []string{server}
		if sm.labelName != "" {
			labels = append(labels, sm.labelName)
			values = append(values, sm.labelValue)
		}
		help := "ZooKeeper mntr summary " + sm.name + "."
		q := make(map[float64]float64, len(sm.quantiles))
		for k, v := range sm.quantiles {
			q[k] = v * sm.scale
		}
		out = append(out, prometheus.MustNewConstSummary(descs.get(sm.name, help, labels...), uint64(sm.count), sm.sum*sm.scale, q, values...))
		base, unit := splitUnit(sm.name)
		if sm.haveMin {
			out = append(out, prometheus.MustNewConstMetric(descs.get(base+"_min"+unit, help+" Minimum.", labels...), prometheus.GaugeValue, sm.min*sm.scale, values...))
		}
		if sm.haveMx {
			out = append(out, prometheus.MustNewConstMetric(descs.get(base+"_max"+unit, help+" Maximum.", labels...), prometheus.GaugeValue, sm.max*sm.scale, values...))
		}
	}
	return out
}

// summaryOf returns the summary key (the part after zk_<prefix>_) and the
// prefix when key belongs to a summary, i.e. when zk_cnt_<rest> exists.
func summaryOf(key string, byKey map[string]fourlw.Field) (string, string) {
	for _, p := range summaryPrefixes {
		rest, ok := strings.CutPrefix(key, "zk_"+p+"_")
		if !ok {
			continue
		}
		if _, isSummary := byKey["zk_cnt_"+rest]; isSummary {
			return rest, p
		}
	}
	return "", ""
}

func newSummary(key string) *summary {
	sm := &summary{quantiles: map[float64]float64{}, scale: 1}
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
	return sm
}

func (sm *summary) add(part string, v float64) {
	switch part {
	case "cnt":
		sm.count = v
	case "sum":
		sm.sum = v
	case "min":
		sm.min, sm.haveMin = v, true
	case "max":
		sm.max, sm.haveMx = v, true
	case "avg": // derivable from sum and count
	default:
		sm.quantiles[quantileOf[part]] = v
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

// descCache keeps descriptors across scrapes: the mntr field set is large
// and stable, and building a Desc validates and hashes its name each time.
type descCache struct {
	mu    sync.Mutex
	descs map[string]*prometheus.Desc
}

func (c *descCache) get(name, help string, labels ...string) *prometheus.Desc {
	key := name + "\xff" + strings.Join(labels, "\xff")
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.descs[key]; ok {
		return d
	}
	if c.descs == nil {
		c.descs = map[string]*prometheus.Desc{}
	}
	d := prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
	c.descs[key] = d
	return d
}
