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
		key("zookeeper_write_per_namespace_sum", `key="cluster"`, a1):                   64,
		key("zookeeper_jvm_gc_collection_seconds_sum", `gc="PS MarkSweep"`, a2):         4,
		key("zookeeper_jvm_memory_pool_allocated_bytes_total", `pool="Code Cache"`, a2): 5,
		key("zookeeper_write_per_namespace", `key="solrcloud7"`, `quantile="0.5"`, a2):  141,
		srv("zookeeper_uptime_seconds", addrs[0]):                                       11.438,
	}); err != nil {
		t.Error(err)
	}
	for k := range s {
		// An empty window's quantiles (NaN) are left out.
		if strings.HasPrefix(k, "zookeeper_om_proposal_process_time_ms{") || strings.HasPrefix(k, "zookeeper_quorum_ack_latency{") {
			t.Errorf("NaN quantile exported: %s", k)
		}
	}
	gc := `
# HELP zookeeper_jvm_gc_collection_seconds_count ZooKeeper metrics provider key zk_jvm_gc_collection_seconds_count.
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
# HELP zookeeper_a ZooKeeper metrics provider key zk_a.
# TYPE zookeeper_a gauge
zookeeper_a{server="m1:2181",x="1"} 1
# HELP zookeeper_b ZooKeeper mntr field zk_b.
# TYPE zookeeper_b gauge
zookeeper_b{server="m1:2181"} 4
# HELP zookeeper_c ZooKeeper metrics provider key zk_c.
# TYPE zookeeper_c gauge
zookeeper_c{exported_server="s",server="m1:2181"} 6
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// collectorFunc is an unchecked collector around a function.
type collectorFunc func(ch chan<- prometheus.Metric)

func (f collectorFunc) Describe(chan<- *prometheus.Desc)    {}
func (f collectorFunc) Collect(ch chan<- prometheus.Metric) { f(ch) }
