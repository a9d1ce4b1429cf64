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

import "strings"

// The type table of mntr keys (and of the AdminServer's monitor command,
// which prints the same keys without zk_), written from ZooKeeper's own
// code at the release tags: the mntr command of 3.4 and 3.5, and from 3.6
// on the registrations of ServerMetrics (metricsContext.getCounter,
// getSummary, getSummarySet, getCounterSet) and of the servers
// (registerGauge, registerGaugeSet). A key the table lacks (a ZooKeeper
// newer than the table) is exported as a gauge.

// keyType is how ZooKeeper registers a flat mntr key.
type keyType uint8

const (
	gaugeKey keyType = iota
	// counterKey: getCounter, or a ServerStats count that only grows until
	// srst (packets_received, auth_failed_count, ...), which ZooKeeper
	// registers with registerGauge. Counters get _total.
	counterKey
	textKey // version, server_state, peer_state: not a metric
)

// mntrKey is one row of the table.
type mntrKey struct {
	typ keyType
	// since and until are the first and last releases printing the key
	// ("" until: still printed).
	since, until string
	name         string  // metric name without namespace, when not derived from the key
	scale        float64 // 0 for 1; ms for milliseconds
	// unset: -1 means "no value yet" (BufferStats before the first
	// proposal or response); such a value gives no sample.
	unset bool
	// set names the label of a gauge or counter set: the key is
	// zk_<label value>_<name> (quota metrics per namespace).
	set string
}

// summaryKey is a registered summary (getSummary) or summary set
// (getSummarySet). In mntr a summary is zk_{avg,min,max,cnt,sum}_X, plus
// zk_p{50,95,99,999}_X for the ADVANCED ones; a set folds its label into
// X as <label value>_<name>.
type summaryKey struct {
	since string
	set   string // label name of a summary set, else ""
}

func keys(kt keyType, since string, names ...string) map[string]mntrKey {
	m := make(map[string]mntrKey, len(names))
	for _, n := range names {
		m["zk_"+n] = mntrKey{typ: kt, since: since}
	}
	return m
}

// mntrKeys is the table of flat keys.
var mntrKeys = func() map[string]mntrKey {
	m := map[string]mntrKey{
		"zk_version":      {typ: textKey, since: "3.4.0"},
		"zk_server_state": {typ: textKey, since: "3.4.0"},
		"zk_peer_state":   {typ: textKey, since: "3.6.0"},
		"zk_avg_latency":  {since: "3.4.0", name: "avg_latency_seconds", scale: ms},
		"zk_min_latency":  {since: "3.4.0", name: "min_latency_seconds", scale: ms},
		"zk_max_latency":  {since: "3.4.0", name: "max_latency_seconds", scale: ms},
		// ServerStats counts; 3.6+ registers them as gauges.
		"zk_packets_received":             {typ: counterKey, since: "3.4.0"},
		"zk_packets_sent":                 {typ: counterKey, since: "3.4.0"},
		"zk_auth_failed_count":            {typ: counterKey, since: "3.6.3"},
		"zk_fsync_threshold_exceed_count": {typ: counterKey, since: "3.4.13", until: "3.4.14"},
		"zk_approximate_data_size":        {since: "3.4.0", name: "approximate_data_size_bytes"},
		"zk_num_alive_connections":        {since: "3.4.4"},
		"zk_followers":                    {since: "3.4.0", until: "3.5.10"}, // 3.6+: zk_learners
		"zk_uptime":                       {since: "3.6.0", name: "uptime_seconds", scale: ms},
		"zk_leader_uptime":                {since: "3.6.0", name: "leader_uptime_seconds", scale: ms},
		// Counters with their own names.
		"zk_bytes_received_count":        {typ: counterKey, since: "3.6.0", name: "received_bytes_total"},
		"zk_add_dead_watcher_stall_time": {typ: counterKey, since: "3.6.0", name: "add_dead_watcher_stall_seconds_total", scale: ms},
		"zk_response_bytes":              {typ: counterKey, since: "3.7.0", name: "response_bytes_total"},
		"zk_watch_bytes":                 {typ: counterKey, since: "3.7.0", name: "watch_bytes_total"},
	}
	for k, v := range keys(gaugeKey, "3.4.0", "outstanding_requests", "znode_count", "watch_count",
		"ephemerals_count", "open_file_descriptor_count", "max_file_descriptor_count",
		"synced_followers", "pending_syncs") {
		m[k] = v
	}
	// Leader only in 3.4 and 3.5; client response sizes in the 3.5
	// AdminServer's monitor, and in mntr from 3.6.
	for _, n := range []string{"last", "min", "max"} {
		m["zk_"+n+"_proposal_size"] = mntrKey{since: "3.4.13", unset: true}
		m["zk_"+n+"_client_response_size"] = mntrKey{since: "3.5.0", unset: true}
	}
	for k, v := range keys(gaugeKey, "3.6.0", "connection_drop_probability", "global_sessions",
		"local_sessions", "learners", "outstanding_tls_handshake", "quorum_size",
		"synced_non_voting_followers", "synced_observers", "observer_master_id") {
		m[k] = v
	}
	for k, v := range keys(gaugeKey, "3.6.3", "non_mtls_local_conn_count", "non_mtls_remote_conn_count") {
		m[k] = v
	}
	for k, v := range keys(counterKey, "3.6.0", "commit_count", "connection_drop_count",
		"connection_rejected", "connection_request_count", "connection_revalidate_count",
		"dead_watchers_cleared", "dead_watchers_queued", "diff_count", "digest_mismatches_count",
		"ensemble_auth_fail", "ensemble_auth_skip", "ensemble_auth_success", "large_requests_rejected",
		"learner_commit_received_count", "learner_proposal_received_count", "looking_count",
		"outstanding_changes_queued", "outstanding_changes_removed", "prep_processor_request_queued",
		"proposal_count", "quit_leading_due_to_disloyal_voter", "request_commit_queued",
		"request_throttle_wait_count", "response_packet_cache_hits", "response_packet_cache_misses",
		"response_packet_get_children_cache_hits", "response_packet_get_children_cache_misses",
		"revalidate_count", "sessionless_connections_expired", "snap_count", "stale_replies",
		"stale_requests", "stale_requests_dropped", "stale_sessions_expired",
		"sync_processor_request_queued", "tls_handshake_exceeded", "unrecoverable_error_count") {
		m[k] = v
	}
	for k, v := range keys(counterKey, "3.7.0", "cnxn_closed_without_zk_server_running",
		"insecure_admin_count", "requests_not_forwarded_to_commit_processor",
		"skip_learner_request_to_next_processor_count", "throttled_ops", "unsuccessful_handshake") {
		m[k] = v
	}
	for k, v := range keys(counterKey, "3.9.0", "restore_error_count", "restore_rate_limited_count",
		"snapshot_error_count", "snapshot_rate_limited_count") {
		m[k] = v
	}
	// Quota metrics per namespace (only once a quota is set).
	for _, n := range []string{"quota_count_limit", "quota_bytes_limit", "quota_count_usage", "quota_bytes_usage"} {
		m["zk_"+n+"_per_namespace"] = mntrKey{since: "3.8.0", set: "namespace"}
	}
	m["zk_quota_exceeded_error_per_namespace"] = mntrKey{typ: counterKey, since: "3.8.0", set: "namespace"}
	return m
}()

// mntrSets are the keys of mntrKeys that are gauge or counter sets.
var mntrSets = func() []string {
	var s []string
	for k, v := range mntrKeys {
		if v.set != "" {
			s = append(s, strings.TrimPrefix(k, "zk_"))
		}
	}
	return s
}()

// mntrSummaries is the table of summaries by name (without zk_ and prefix).
var mntrSummaries = func() map[string]summaryKey {
	m := map[string]summaryKey{}
	add := func(since, set string, names string) {
		for _, n := range strings.Fields(names) {
			m[n] = summaryKey{since: since, set: set}
		}
	}
	add("3.6.0", "", `close_session_prep_time commit_commit_proc_req_queued commit_process_time
	commit_propagation_latency concurrent_request_processing_in_commit_processor
	connection_token_deficit dbinittime dead_watchers_cleaner_latency election_time
	follower_sync_time fsynctime local_write_committed_time_ms netty_queued_buffer_capacity
	node_changed_watch_count node_children_watch_count node_created_watch_count
	node_deleted_watch_count om_commit_process_time_ms om_proposal_process_time_ms
	pending_session_queue_size prep_process_time prep_processor_queue_size
	prep_processor_queue_time_ms propagation_latency proposal_ack_creation_latency
	proposal_latency quorum_ack_latency read_commit_proc_issued read_commit_proc_req_queued
	read_commitproc_time_ms read_final_proc_time_ms readlatency reads_after_write_in_session_queue
	reads_issued_from_session_queue requests_in_session_queue server_write_committed_time_ms
	session_queues_drained snapshottime startup_snap_load_time startup_txns_load_time
	startup_txns_loaded sync_process_time sync_processor_batch_size
	sync_processor_queue_and_flush_time_ms sync_processor_queue_flush_time_ms
	sync_processor_queue_size sync_processor_queue_time_ms
	time_waiting_empty_pool_in_commit_processor_read_ms updatelatency
	write_batch_time_in_commit_processor write_commit_proc_issued write_commit_proc_req_queued
	write_commitproc_time_ms write_final_proc_time_ms`)
	add("3.6.2", "", "inflight_diff_count inflight_snap_count jvm_pause_time_ms")
	add("3.7.0", "", `leader_unavailable_time learner_request_processor_queue_size
	proposal_process_time request_throttle_queue_time_ms socket_closing_time unavailable_time`)
	add("3.7.1", "", "observer_sync_time")
	add("3.9.0", "", "restore_time")
	add("3.6.0", "learner_sid", "ack_latency learner_handler_qp_size learner_handler_qp_time_ms")
	add("3.6.0", "namespace", "read_per_namespace write_per_namespace")
	return m
}()

// splitSet splits the label value of a set off rest (<value>_<name>) when
// name is a set of table (a name key of mntrSummaries, or a gauge or
// counter set); ok is false otherwise.
func splitSet(rest string, sets []string) (value, name string, ok bool) {
	for _, s := range sets {
		if v, found := strings.CutSuffix(rest, "_"+s); found && v != "" {
			return v, s, true
		}
	}
	return "", "", false
}

// summarySets are the names of the summary sets of mntrSummaries.
var summarySets = func() []string {
	var s []string
	for n, v := range mntrSummaries {
		if v.set != "" {
			s = append(s, n)
		}
	}
	return s
}()
