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

package series

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// TestCacheFamilyConsistent: a name is one family; asking for it with
// another type or other labels, or asking for a reserved name, gives nil.
func TestCacheFamilyConsistent(t *testing.T) {
	var c Cache
	a := c.Family("ns_a", "A.", dto.MetricType_GAUGE, "server")
	if a == nil || c.Family("ns_a", "other help", dto.MetricType_GAUGE, "server") != a {
		t.Fatal("the same family was not returned again")
	}
	if c.Family("ns_a", "A.", dto.MetricType_COUNTER, "server") != nil {
		t.Error("a second type for ns_a was accepted")
	}
	if c.Family("ns_a", "A.", dto.MetricType_GAUGE, "server", "x") != nil {
		t.Error("other labels for ns_a were accepted")
	}
	c.Reserve(NewDesc("ns_up", "Up.", dto.MetricType_GAUGE))
	if c.Family("ns_up", "Up.", dto.MetricType_GAUGE) != nil {
		t.Error("a reserved name was handed out")
	}
	if p, q := c.DescLabels(a, "s1"), c.DescLabels(a, "s1"); &p[0] != &q[0] {
		t.Error("label pairs were not cached")
	}
}

// TestFamiliesAsRegistry: samples added in any order, from several
// buffers, with a duplicate and more summaries than a slab chunk holds,
// give the exposition a pedantic registry gives for the same metrics.
func TestFamiliesAsRegistry(t *testing.T) {
	var c Cache
	g := c.Family("ns_g", "G.", dto.MetricType_GAUGE, "server", "b_label")
	cnt := c.Family("ns_c_total", "C.", dto.MetricType_COUNTER, "server")
	sum := c.Family("ns_s_seconds", "S.", dto.MetricType_SUMMARY, "server", "set")
	sink := NewSink(true)
	defer sink.Release()
	b1, b2 := sink.Buf(), sink.Buf()
	b2.Add(g, c.Labels([]string{"server", "b_label"}, []string{"m2", "y"}), 2)
	b1.Add(g, c.Labels([]string{"server", "b_label"}, []string{"m1", "x"}), 1)
	b1.Add(g, c.Labels([]string{"server", "b_label"}, []string{"m1", "x"}), 9) // dropped: the first stays
	b2.Add(cnt, c.DescLabels(cnt, "m2"), 5)
	var metrics []prometheus.Metric
	for i := range 3 * slabChunk / 2 {
		labels := c.DescLabels(sum, "m1", fmt.Sprintf("%04d", i))
		qs := []Quantile{{0.5, float64(i)}, {0.99, float64(2 * i)}}
		b1.AddSummary(sum, labels, uint64(i), float64(10*i), qs)
		metrics = append(metrics, prometheus.MustNewConstSummary(sum.PromDesc(), uint64(i), float64(10*i),
			map[float64]float64{0.5: float64(i), 0.99: float64(2 * i)}, "m1", fmt.Sprintf("%04d", i)))
	}
	metrics = append(metrics,
		prometheus.MustNewConstMetric(g.PromDesc(), prometheus.GaugeValue, 1, "m1", "x"),
		prometheus.MustNewConstMetric(g.PromDesc(), prometheus.GaugeValue, 2, "m2", "y"),
		prometheus.MustNewConstMetric(cnt.PromDesc(), prometheus.CounterValue, 5, "m2"))
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(constCollector(metrics))
	want, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	fb := NewFamilies(true)
	defer fb.Release()
	if w, g := render(t, want), render(t, fb.Build(sink)); w != g {
		t.Fatalf("registry:\n%s\nFamilies:\n%s", w, g)
	}
}

type constCollector []prometheus.Metric

func (c constCollector) Describe(chan<- *prometheus.Desc) {}
func (c constCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c {
		ch <- m
	}
}

func render(t *testing.T, mfs []*dto.MetricFamily) string {
	t.Helper()
	var b bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// TestSendAsMetrics: the prometheus.Collector path sends every sample
// with its family's descriptor.
func TestSendAsMetrics(t *testing.T) {
	d := NewDesc("ns_x", "X.", dto.MetricType_COUNTER, "l")
	ch := make(chan prometheus.Metric, 2)
	err := Send(ch, func(s *Sink) error {
		NewEmitter(s, nil).Emit(d, 3, "v")
		return nil
	})
	close(ch)
	if err != nil {
		t.Fatal(err)
	}
	m := <-ch
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		t.Fatal(err)
	}
	if m.Desc() != d.PromDesc() || out.GetCounter().GetValue() != 3 || out.GetLabel()[0].GetValue() != "v" {
		t.Fatalf("sent %v %v", m.Desc(), &out)
	}
}
