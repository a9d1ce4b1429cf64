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

package mixin_test

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// Metric names the zkwatch binaries expose. The mixin may only use these,
// Prometheus' own "up", and the recording rules it defines itself.
var (
	// exporterEnsembleMetrics come from the ensemble, mntr and meta collectors
	// of zookeeper_exporter, produced with only --zookeeper.servers set.
	exporterEnsembleMetrics = []string{
		"zookeeper_up", "zookeeper_probe_duration_seconds", "zookeeper_last_seen_timestamp_seconds",
		"zookeeper_server_state", "zookeeper_server_is_leader", "zookeeper_server_info",
		"zookeeper_zxid_epoch", "zookeeper_zxid_counter", "zookeeper_follower_zxid_lag",
		"zookeeper_follower_epoch_behind", "zookeeper_command_allowed",
		"zookeeper_ensemble_members", "zookeeper_ensemble_members_up", "zookeeper_ensemble_voters_up", "zookeeper_ensemble_leaders",
		"zookeeper_ensemble_quorum_size", "zookeeper_ensemble_has_quorum", "zookeeper_ensemble_synced_followers",
		"zookeeper_ensemble_leader_changes_total",
		"zookeeper_avg_latency_seconds", "zookeeper_max_latency_seconds", "zookeeper_min_latency_seconds",
		"zookeeper_readlatency_seconds_sum", "zookeeper_readlatency_seconds_count",
		"zookeeper_updatelatency_seconds_sum", "zookeeper_updatelatency_seconds_count",
		"zookeeper_outstanding_requests", "zookeeper_open_file_descriptor_count", "zookeeper_max_file_descriptor_count",
		"zookeeper_pending_syncs", "zookeeper_num_alive_connections", "zookeeper_watch_count", "zookeeper_znode_count",
		"zookeeper_approximate_data_size_bytes", "zookeeper_ephemerals_count", "zookeeper_packets_received_total",
		"zookeeper_packets_sent_total", "zookeeper_followers", "zookeeper_synced_followers",
		"zookeeper_scrape_collector_duration_seconds", "zookeeper_scrape_collector_success", "zookeeper_exporter_build_info",
		"zookeeper_uptime_seconds", "zookeeper_jvm_pause_time_seconds_sum", "zookeeper_fsynctime_seconds_sum",
		"zookeeper_fsynctime_max_seconds", "zookeeper_global_sessions", "zookeeper_local_sessions",
		"zookeeper_connection_rejected_total", "zookeeper_connection_drop_total", "zookeeper_throttled_ops_total",
		"zookeeper_request_throttle_wait_total", "zookeeper_auth_failed_total", "zookeeper_ensemble_auth_fail_total",
		"zookeeper_digest_mismatches_total",
		"zookeeper_fsynctime_seconds_count", "zookeeper_snapshottime_seconds_sum",
		"zookeeper_snapshottime_seconds_count", "zookeeper_election_time_seconds_sum", "zookeeper_election_time_seconds_count",
	}
	// providerMetrics come from labelled mntr keys of ZooKeeper's Prometheus
	// metrics provider (metricsProvider.exportJvmInfo), which the Debian build
	// used in tests lacks; collector.TestProviderLabelledKeys covers how such
	// keys become metrics.
	providerMetrics = []string{
		"zookeeper_jvm_memory_bytes_used", "zookeeper_jvm_memory_bytes_max", "zookeeper_jvm_gc_collection_seconds_sum",
	}
	// exporterWatchMetrics come from the watch collectors, which need a watch
	// configuration (--watch.group, --watch.config.file).
	exporterWatchMetrics = []string{
		"zookeeper_exporter_session_state", "zookeeper_exporter_session_expirations_total",
		"zookeeper_exporter_reconnects_total", "zookeeper_exporter_watch_events_total", "zookeeper_watch_synced",
		"zookeeper_group_members", "zookeeper_group_member_up", "zookeeper_group_member_changes_total",
		"zookeeper_group_member_since_timestamp_seconds", "zookeeper_group_last_change_timestamp_seconds",
		"zookeeper_group_member_info", "zookeeper_group_expected_members", "zookeeper_tasks", "zookeeper_workers",
		"zookeeper_worker_tasks", "zookeeper_task_oldest_unclaimed_seconds", "zookeeper_lock_held",
		"zookeeper_lock_waiters", "zookeeper_lock_held_seconds", "zookeeper_election_candidates",
		"zookeeper_election_has_leader", "zookeeper_election_leader_changes_total", "zookeeper_znode_exists",
		"zookeeper_znode_data_version", "zookeeper_znode_mtime_seconds", "zookeeper_znode_changes_total",
		"zookeeper_queue_depth", "zookeeper_watch_errors_total", "zookeeper_watch_dropped_members_total",
		"zookeeper_lock_holder_info", "zookeeper_election_leader_info",
	}
	receiverMetrics = []string{
		"zkwatch_receiver_webhook_requests_total", "zkwatch_receiver_notifications_total",
		"zkwatch_receiver_restarts_total", "zkwatch_receiver_incidents", "zkwatch_receiver_outbox_pending",
		"zkwatch_receiver_config_last_reload_successful",
		"zkwatch_receiver_ha_connected", "zkwatch_receiver_ha_claims_total",
		"zkwatch_receiver_dead_letters", "zkwatch_receiver_dead_letters_total",
		"zkwatch_receiver_maintenance_windows_past_max_duration",
	}
	agentMetrics = []string{
		"zkwatch_agent_registered", "zkwatch_agent_child_restarts_total", "zkwatch_agent_session_expirations_total",
		"zkwatch_agent_lock_held", "zkwatch_agent_tasks", "zkwatch_agent_conflicts_total",
		"zkwatch_agent_lock_held_info",
	}
	// applicationMetrics are the split-brain beliefs an application exports
	// itself (README, "Split-brain detection"): the agent has no election
	// mode, a Curator LeaderLatch user exports this one.
	applicationMetrics = []string{"zkwatch_agent_election_leader_info"}
	// exporterLoadMetrics come from the connections collector's top clients
	// (--collector.connections) and the guardrails collector (watched roots,
	// and the --zookeeper.jute-maxbuffer flag).
	exporterLoadMetrics = []string{
		"zookeeper_top_client_connections", "zookeeper_top_client_packets_received_total",
		"zookeeper_top_client_outstanding_requests", "zookeeper_top_client_max_latency_seconds",
		"zookeeper_watch_largest_data_bytes", "zookeeper_watch_largest_children", "zookeeper_jute_maxbuffer_bytes",
	}
	// prometheusMetrics are made by Prometheus itself, not by an exporter.
	prometheusMetrics = []string{
		"up", "prometheus_notifications_sent_total", "prometheus_notifications_errors_total",
		"prometheus_notifications_alertmanagers_discovered",
	}
)

const runbookURLPattern = "https://github.com/zkwatch/zkwatch/blob/main/docs/runbook.md#%s"

var promqlParser = parser.NewParser(parser.Options{})

// repoPath returns a path relative to the repository root (tests run in mixin/).
func repoPath(parts ...string) string {
	return filepath.Join(append([]string{".."}, parts...)...)
}

// loadRules parses a rendered rule file with Prometheus' own rule loader,
// which validates expressions, durations, labels and annotation templates.
func loadRules(t *testing.T, name string) []rulefmt.Rule {
	t.Helper()
	rgs, errs := rulefmt.ParseFile(repoPath("alerts", name), false, model.UTF8Validation, promqlParser, promslog.NewNopLogger())
	for _, err := range errs {
		t.Errorf("%s: %v", name, err)
	}
	if rgs == nil {
		t.Fatalf("%s: no rule groups", name)
	}
	var rules []rulefmt.Rule
	for _, g := range rgs.Groups {
		rules = append(rules, g.Rules...)
	}
	if len(rules) == 0 {
		t.Fatalf("%s: no rules", name)
	}
	return rules
}

func alertRules(t *testing.T) []rulefmt.Rule     { return loadRules(t, "zookeeper-alerts.yaml") }
func recordingRules(t *testing.T) []rulefmt.Rule { return loadRules(t, "zookeeper-rules.yaml") }

// metricNames returns the metric names an expression selects.
func metricNames(t *testing.T, expr parser.Expr) []string {
	t.Helper()
	seen := map[string]bool{}
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel && name == "" {
				if m.Type != 0 { // labels.MatchEqual is 0
					t.Errorf("selector %s matches metric names by pattern; the name check cannot follow it", vs)
				}
				name = m.Value
			}
		}
		if name != "" {
			seen[name] = true
		}
		return nil
	})
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func set(lists ...[]string) map[string]bool {
	s := map[string]bool{}
	for _, l := range lists {
		for _, n := range l {
			s[n] = true
		}
	}
	return s
}

// knownMetrics is every name an expression may select: what the binaries
// expose, Prometheus' up, and the mixin's own recording rules.
func knownMetrics(t *testing.T) map[string]bool {
	known := set(exporterEnsembleMetrics, providerMetrics, exporterWatchMetrics, exporterLoadMetrics, receiverMetrics, agentMetrics, applicationMetrics, prometheusMetrics)
	for _, r := range recordingRules(t) {
		known[r.Record] = true
	}
	return known
}

var dashboardVariable = regexp.MustCompile(`\$(__rate_interval|__interval|__range|\{[a-z_]+\}|[a-z_]+)`)

// substituteVariables replaces Grafana variables with values that keep the
// query valid PromQL: durations for the interval variables, a regexp
// matching everything for the label variables.
func substituteVariables(expr string) string {
	return dashboardVariable.ReplaceAllStringFunc(expr, func(v string) string {
		switch strings.Trim(v, "${}") {
		case "__rate_interval", "__interval", "__range":
			return "5m"
		default:
			return ".+"
		}
	})
}

func readFile(t *testing.T, parts ...string) string {
	t.Helper()
	b, err := os.ReadFile(repoPath(parts...))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
