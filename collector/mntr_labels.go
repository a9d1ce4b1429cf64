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
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/internal/fourlw"
)

// providerKeys turns the labelled keys of ZooKeeper's Prometheus metrics
// provider (zk_jvm_threads_state{state="RUNNABLE"},
// zk_fsynctime{quantile="0.99"}, ...) into metrics named after the key,
// with the server label and the key's own labels. Values are exported as
// the server prints them (no unit conversion): _total, _count and _sum
// keys are counters, the rest gauges; quantile lines stay gauges with
// their quantile label, and an empty window's NaN quantile is left out.
type providerKeys struct {
	mu sync.Mutex
	// names holds, per metric name, the label names it was first seen
	// with: a key of the same name with other labels would make the
	// family inconsistent and is dropped.
	names map[string]string
}

// metrics returns the metrics of the labelled fields among fields. flat
// holds the keys of the unlabelled fields, whose names a labelled key may
// not take.
func (p *providerKeys) metrics(server string, fields []fourlw.Field, descs *descCache) []prometheus.Metric {
	var out []prometheus.Metric
	var flat, seen map[string]bool
	for _, f := range fields {
		if len(f.Labels) == 0 || !f.Numeric {
			continue
		}
		if flat == nil {
			flat, seen = map[string]bool{}, map[string]bool{}
			for _, g := range fields {
				if len(g.Labels) == 0 {
					flat[g.Key] = true
				}
			}
		}
		names, values := []string{"server"}, []string{server}
		quantile := false
		for _, l := range f.Labels {
			n := l.Name
			if n == "server" {
				n = "exported_server"
			}
			quantile = quantile || n == "quantile"
			names, values = append(names, n), append(values, l.Value)
		}
		id := f.Key + "\xff" + strings.Join(names, "\xff") + "\xfe" + strings.Join(values, "\xff")
		if flat[f.Key] || seen[id] || quantile && math.IsNaN(f.Value) || !p.consistent(f.Key, names) {
			continue
		}
		seen[id] = true
		name := strings.ToLower(strings.TrimPrefix(f.Key, "zk_"))
		vt := prometheus.GaugeValue
		if !quantile && (strings.HasSuffix(name, "_total") || strings.HasSuffix(name, "_count") || strings.HasSuffix(name, "_sum")) {
			vt = prometheus.CounterValue
		}
		desc := descs.get(name, "ZooKeeper metrics provider key "+f.Key+".", names...)
		out = append(out, &constMetric{desc: desc, labels: descs.labels(names, values), vt: vt, value: f.Value})
	}
	return out
}

// consistent records the label names of key on first sight and reports
// whether names are those.
func (p *providerKeys) consistent(key string, names []string) bool {
	joined := strings.Join(names, ",")
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.names == nil {
		p.names = map[string]string{}
	}
	if prev, ok := p.names[key]; ok {
		return prev == joined
	}
	if len(p.names) >= maxProviderNames {
		return false
	}
	p.names[key] = joined
	return true
}

// maxProviderNames bounds the names remembered, against servers inventing
// keys.
const maxProviderNames = 5000
