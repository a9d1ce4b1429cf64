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

package exposition

import (
	"bufio"
	"bytes"
	"math"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"
)

// edgeValues are the values expfmt formats specially, and a few that
// strconv formats with exponents.
var edgeValues = []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 1e-7, 1.5e21, 123456789012, -2.25,
	math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, math.SmallestNonzeroFloat64}

// textCases are families of every type writeText handles, with labels
// needing escaping, help needing escaping, timestamps and edge values.
func textCases() []*dto.MetricFamily {
	lp := func(kv ...string) []*dto.LabelPair {
		var out []*dto.LabelPair
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, &dto.LabelPair{Name: proto.String(kv[i]), Value: proto.String(kv[i+1])})
		}
		return out
	}
	typ := func(t dto.MetricType) *dto.MetricType { return &t }
	var gauges, counters, untyped, sums []*dto.Metric
	for i, v := range edgeValues {
		labels := lp("server", "zk1:2181", "x", []string{"", `a"b`, `c\d`, "e\nf", "ü", `\"` + "\n"}[i%6])
		if i%4 == 0 {
			labels = nil
		}
		gauges = append(gauges, &dto.Metric{Label: labels, Gauge: &dto.Gauge{Value: proto.Float64(v)}})
		counters = append(counters, &dto.Metric{Label: labels, Counter: &dto.Counter{Value: proto.Float64(v)}, TimestampMs: proto.Int64(int64(i) * -12345)})
		untyped = append(untyped, &dto.Metric{Label: labels, Untyped: &dto.Untyped{Value: proto.Float64(v)}})
		var qs []*dto.Quantile
		for _, q := range []float64{0.5, 0.9, 0.99, 1} {
			qs = append(qs, &dto.Quantile{Quantile: proto.Float64(q), Value: proto.Float64(v * q)})
		}
		sums = append(sums, &dto.Metric{Label: labels, Summary: &dto.Summary{SampleCount: proto.Uint64(uint64(i)), SampleSum: proto.Float64(v), Quantile: qs[:i%5]}})
	}
	return []*dto.MetricFamily{
		{Name: proto.String("zookeeper_g"), Help: proto.String(`help with \ and` + "\nnewline and \"quotes\""), Type: typ(dto.MetricType_GAUGE), Metric: gauges},
		{Name: proto.String("zookeeper_c_total"), Type: typ(dto.MetricType_COUNTER), Metric: counters},
		{Name: proto.String("zookeeper:u"), Help: proto.String(""), Type: typ(dto.MetricType_UNTYPED), Metric: untyped},
		{Name: proto.String("zookeeper_s_seconds"), Help: proto.String("s"), Type: typ(dto.MetricType_SUMMARY), Metric: sums},
	}
}

func expfmtText(t testing.TB, mf *dto.MetricFamily) string {
	var want bytes.Buffer
	if _, err := expfmt.MetricFamilyToText(&want, mf); err != nil {
		t.Fatal(err)
	}
	return want.String()
}

func ourText(t testing.TB, mf *dto.MetricFamily, size int) string {
	var got bytes.Buffer
	w := bufio.NewWriterSize(&got, size)
	if err := writeText(w, mf); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return got.String()
}

// TestTextMatchesExpfmt checks writeText byte for byte against expfmt, with
// a buffer that holds the answer and one far too small for it.
func TestTextMatchesExpfmt(t *testing.T) {
	_, registry := families(t)
	for _, mf := range append(textCases(), registry...) {
		if !simple(mf) || !legacyNames(mf) {
			t.Fatalf("%s: not a simple family", mf.GetName())
		}
		want := expfmtText(t, mf)
		for _, size := range []int{bufSize, 16} {
			if got := ourText(t, mf, size); got != want {
				t.Errorf("%s (buffer %d):\ngot\n%s\nwant\n%s", mf.GetName(), size, got, want)
			}
		}
	}
}

// TestNotSimpleGoesToExpfmt checks that what writeText does not handle is
// left to expfmt: histograms, families without metrics, metrics without
// their value, names that need quoting.
func TestNotSimpleGoesToExpfmt(t *testing.T) {
	g := dto.MetricType_GAUGE
	h := dto.MetricType_HISTOGRAM
	for _, mf := range []*dto.MetricFamily{
		{Name: proto.String("h"), Type: &h, Metric: []*dto.Metric{{Histogram: &dto.Histogram{}}}},
		{Name: proto.String("empty"), Type: &g},
		{Name: proto.String("novalue"), Type: &g, Metric: []*dto.Metric{{Counter: &dto.Counter{Value: proto.Float64(1)}}}},
	} {
		if simple(mf) {
			t.Errorf("%s: simple", mf.GetName())
		}
	}
	for _, n := range []string{"", "1abc", "a-b", "ü", "a b"} {
		if legacyName(n) {
			t.Errorf("legacyName(%q) = true", n)
		}
	}
	for _, n := range []string{"a", "a:b_1", "_x", ":y", "Z9"} {
		if !legacyName(n) {
			t.Errorf("legacyName(%q) = false", n)
		}
	}
}

// FuzzText compares writeText with expfmt for arbitrary help, label values
// and values.
func FuzzText(f *testing.F) {
	f.Add("help", "v", 1.5, uint64(3), 0.5)
	f.Add("a\\b\nc", "\"\\\n", math.Inf(-1), uint64(0), 0.99)
	f.Fuzz(func(t *testing.T, help, value string, v float64, count uint64, q float64) {
		typ := func(t dto.MetricType) *dto.MetricType { return &t }
		labels := []*dto.LabelPair{{Name: proto.String("server"), Value: proto.String(value)}}
		for _, mf := range []*dto.MetricFamily{
			{Name: proto.String("zookeeper_g"), Help: proto.String(help), Type: typ(dto.MetricType_GAUGE),
				Metric: []*dto.Metric{{Label: labels, Gauge: &dto.Gauge{Value: proto.Float64(v)}}}},
			{Name: proto.String("zookeeper_s"), Help: proto.String(help), Type: typ(dto.MetricType_SUMMARY),
				Metric: []*dto.Metric{{Label: labels, Summary: &dto.Summary{SampleCount: proto.Uint64(count), SampleSum: proto.Float64(v),
					Quantile: []*dto.Quantile{{Quantile: proto.Float64(q), Value: proto.Float64(v)}}}}}},
		} {
			if got, want := ourText(t, mf, 64), expfmtText(t, mf); got != want {
				t.Fatalf("got\n%q\nwant\n%q", got, want)
			}
		}
	})
}
