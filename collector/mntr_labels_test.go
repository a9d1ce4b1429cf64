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
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/zkwatch/zkwatch/internal/fourlw"
)

// TestProviderLabelledKeys scrapes members whose mntr answers come from
// servers running the Prometheus metrics provider (fixtures from public
// server output): labelled keys become metrics with their labels.
func TestProviderLabelledKeys(t *testing.T) {
	_, addrs := fakeEnsemble(t, "provider-3.8.0", "provider-3.6.1", "provider-spaces")
	col := newTestCollector(t, addrs, 2*time.Second)
	s := scrape(t, col)
	key := func(name string, labels ...string) string {
		return fmt.Sprintf("%s{%s}", name, strings.Join(labels, ","))
	}
	a1, a2 := fmt.Sprintf("server=%q", addrs[1]), fmt.Sprintf("server=%q", addrs[2])
	if err := expect(s, map[string]float64{
		key("zookeeper_jvm_threads_state", a1, `state="RUNNABLE"`):                      15,
		key("zookeeper_jvm_memory_bytes_init", `area="nonheap"`, a1):                    7667712,
		key("zookeeper_jvm_gc_collection_seconds_sum", `gc="PS MarkSweep"`, a2):         4,
		key("zookeeper_jvm_memory_pool_allocated_bytes_total", `pool="Code Cache"`, a2): 5,
		srv("zookeeper_uptime_seconds", addrs[0]):                                       11.438,
	}); err != nil {
		t.Error(err)
	}
	for k := range s {
		// The 3.8.0 summaries' parts went into the summaries; quantile
		// lines without their _count (the quoted excerpts are cut) are left
		// out.
		// In the 3.6.1 excerpt zk_write_per_namespace is a summary (it has a
		// quantile line) whose parts are cut: none of it is exported.
		bad := strings.HasPrefix(k, "zookeeper_om_proposal_process_time_ms") && strings.Contains(k, addrs[0]) ||
			strings.HasPrefix(k, "zookeeper_write_per_namespace") ||
			strings.HasPrefix(k, "zookeeper_quorum_ack_latency") || strings.HasPrefix(k, "zookeeper_om_commit_process_time")
		if bad {
			t.Errorf("summary part exported on its own: %s", k)
		}
	}
	// A summary with an empty window: count and sum, no (NaN) quantiles.
	empty := `
# HELP zookeeper_om_proposal_process_time_seconds ZooKeeper mntr summary om_proposal_process_time_seconds.
# TYPE zookeeper_om_proposal_process_time_seconds summary
zookeeper_om_proposal_process_time_seconds_sum{server="` + addrs[0] + `"} 0
zookeeper_om_proposal_process_time_seconds_count{server="` + addrs[0] + `"} 0
`
	if err := testutil.CollectAndCompare(col, strings.NewReader(empty), "zookeeper_om_proposal_process_time_seconds"); err != nil {
		t.Error(err)
	}
	gc := `
# HELP zookeeper_jvm_gc_collection_seconds_count ZooKeeper mntr field zk_jvm_gc_collection_seconds_count.
# TYPE zookeeper_jvm_gc_collection_seconds_count counter
zookeeper_jvm_gc_collection_seconds_count{gc="PS MarkSweep",server="` + addrs[2] + `"} 3
zookeeper_jvm_gc_collection_seconds_count{gc="PS Scavenge",server="` + addrs[2] + `"} 1
`
	if err := testutil.CollectAndCompare(col, strings.NewReader(gc), "zookeeper_jvm_gc_collection_seconds_count"); err != nil {
		t.Error(err)
	}
}

// TestProviderKeysConsistent feeds keys a registry could not expose
// together: the same series twice, a name with two label sets, a labelled
// name that is also a flat key, and a provider label named server. The
// scrape stays consistent.
func TestProviderKeysConsistent(t *testing.T) {
	fields, err := fourlw.ParseMntr([]byte("zk_a{x=\"1\"}\t1\nzk_a{x=\"1\"}\t2\nzk_a{y=\"1\"}\t3\nzk_b\t4\nzk_b{x=\"1\"}\t5\nzk_c{server=\"s\"}\t6\n"))
	if err != nil {
		t.Fatal(err)
	}
	var descs descCache
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(collectorFunc(func(ch chan<- prometheus.Metric) {
		for _, m := range mntrMetrics("m1:2181", fields, &descs) {
			ch <- m
		}
	}))
	want := `
# HELP zookeeper_a ZooKeeper mntr field zk_a.
# TYPE zookeeper_a gauge
zookeeper_a{server="m1:2181",x="1"} 1
# HELP zookeeper_b ZooKeeper mntr field zk_b.
# TYPE zookeeper_b gauge
zookeeper_b{server="m1:2181"} 4
# HELP zookeeper_c ZooKeeper mntr field zk_c.
# TYPE zookeeper_c gauge
zookeeper_c{exported_server="s",server="m1:2181"} 6
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// TestProviderSummaries: quantile lines with their _count and _sum become
// one Prometheus summary, named and scaled like the default provider's
// (times in milliseconds become seconds), labelled like the quantiles. The
// input is synthetic: the public excerpts of server output hold only empty
// windows.
func TestProviderSummaries(t *testing.T) {
	fields, err := fourlw.ParseMntr([]byte(strings.Join([]string{
		"zk_fsynctime{quantile=\"0.5\"}\t4.0", "zk_fsynctime{quantile=\"0.99\"}\t12.0",
		"zk_fsynctime_count\t5.0", "zk_fsynctime_sum\t20.0",
		"zk_write_per_namespace{key=\"app\",quantile=\"0.5\"}\t3.0",
		"zk_write_per_namespace_count{key=\"app\"}\t10.0", "zk_write_per_namespace_sum{key=\"app\"}\t40.0",
		"zk_write_per_namespace_count{key=\"other\"}\t1.0", "zk_write_per_namespace_sum{key=\"other\"}\t2.0", "",
	}, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	var descs descCache
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(collectorFunc(func(ch chan<- prometheus.Metric) {
		for _, m := range mntrMetrics("m1:2181", fields, &descs) {
			ch <- m
		}
	}))
	want := `
# HELP zookeeper_fsynctime_seconds ZooKeeper mntr summary fsynctime_seconds.
# TYPE zookeeper_fsynctime_seconds summary
zookeeper_fsynctime_seconds{server="m1:2181",quantile="0.5"} 0.004
zookeeper_fsynctime_seconds{server="m1:2181",quantile="0.99"} 0.012
zookeeper_fsynctime_seconds_sum{server="m1:2181"} 0.02
zookeeper_fsynctime_seconds_count{server="m1:2181"} 5
# HELP zookeeper_write_per_namespace ZooKeeper mntr summary write_per_namespace.
# TYPE zookeeper_write_per_namespace summary
zookeeper_write_per_namespace{namespace="app",server="m1:2181",quantile="0.5"} 3
zookeeper_write_per_namespace_sum{namespace="app",server="m1:2181"} 40
zookeeper_write_per_namespace_count{namespace="app",server="m1:2181"} 10
zookeeper_write_per_namespace_sum{namespace="other",server="m1:2181"} 2
zookeeper_write_per_namespace_count{namespace="other",server="m1:2181"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// FuzzProviderKeys feeds arbitrary labelled keys as the answers of two
// members (the input and the input's lines reversed) and wants a scrape
// that a registry accepts: no colliding names, types, help or label sets.
func FuzzProviderKeys(f *testing.F) {
	for _, n := range []string{"provider-3.8.0.mntr.txt", "provider-3.6.1.mntr.txt", "provider-spaces.mntr.txt"} {
		b, err := os.ReadFile(filepath.Join("..", "internal", "fourlw", "testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(providerSummaryInput))
	f.Fuzz(func(t *testing.T, data []byte) {
		parsed, err := fourlw.ParseMntr(data)
		if err != nil {
			return
		}
		var fields, reversed []fourlw.Field
		for _, fl := range parsed {
			if len(fl.Labels) > 0 {
				fields = append(fields, fl)
				reversed = append([]fourlw.Field{fl}, reversed...)
			}
		}
		if err := gatherMembers(fields, reversed); err != nil {
			t.Fatalf("%v\ninput:\n%s", err, data)
		}
	})
}

// TestProviderNextToDefaultProvider: a member with the metrics provider and
// one with the default provider (during a rolling change) share the summary
// families, whichever answers first.
func TestProviderNextToDefaultProvider(t *testing.T) {
	leader, err := os.ReadFile(filepath.Join("..", "internal", "fourlw", "testdata", "leader.mntr.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defaults, err := fourlw.ParseMntr(leader)
	if err != nil {
		t.Fatal(err)
	}
	provider, err := fourlw.ParseMntr([]byte(providerSummaryInput))
	if err != nil {
		t.Fatal(err)
	}
	for _, order := range [][2][]fourlw.Field{{defaults, provider}, {provider, defaults}} {
		if err := gatherMembers(order[0], order[1]); err != nil {
			t.Error(err)
		}
	}
}

// providerSummaryInput holds provider summaries whose names the default
// provider's summaries have too (synthetic values).
const providerSummaryInput = "zk_fsynctime{quantile=\"0.5\"}\t4.0\nzk_fsynctime_count\t5.0\nzk_fsynctime_sum\t20.0\n" +
	"zk_election_time{quantile=\"0.5\"}\t300.0\nzk_election_time_count\t1.0\nzk_election_time_sum\t300.0\n" +
	"zk_write_per_namespace{key=\"zookeeper\",quantile=\"0.5\"}\t3.0\nzk_write_per_namespace_count{key=\"zookeeper\"}\t1.0\n" +
	"zk_write_per_namespace_sum{key=\"zookeeper\"}\t3.0\nzk_jvm_threads_state{state=\"RUNNABLE\"}\t12.0\n"

// gatherMembers builds the mntr metrics of two members on one descriptor
// cache, in that order, and gathers them through a pedantic registry.
func gatherMembers(m1, m2 []fourlw.Field) error {
	var descs descCache
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(collectorFunc(func(ch chan<- prometheus.Metric) {
		for i, fields := range [][]fourlw.Field{m1, m2} {
			for _, m := range mntrMetrics(fmt.Sprintf("m%d:2181", i+1), fields, &descs) {
				ch <- m
			}
		}
	}))
	_, err := reg.Gather()
	return err
}
