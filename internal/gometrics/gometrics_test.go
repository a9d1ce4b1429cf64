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

package gometrics

import (
	"math"
	"runtime"
	"runtime/debug"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
)

func upstream() prometheus.Gatherer {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	return reg
}

func byName(t testing.TB, g prometheus.Gatherer) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]*dto.MetricFamily{}
	for i, mf := range mfs {
		if i > 0 && mfs[i-1].GetName() >= mf.GetName() {
			t.Errorf("families not sorted: %s before %s", mfs[i-1].GetName(), mf.GetName())
		}
		if len(mf.GetMetric()) != 1 {
			t.Fatalf("%s: %d metrics, want 1", mf.GetName(), len(mf.GetMetric()))
		}
		m[mf.GetName()] = mf
	}
	return m
}

func value(mf *dto.MetricFamily) float64 {
	m := mf.GetMetric()[0]
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Summary != nil:
		return float64(m.GetSummary().GetSampleCount())
	}
	return m.GetGauge().GetValue()
}

func labels(mf *dto.MetricFamily) []string {
	var out []string
	for _, lp := range mf.GetMetric()[0].GetLabel() {
		out = append(out, lp.GetName()+"="+lp.GetValue())
	}
	return out
}

// TestMatchesGoCollector compares a reading with client_golang's default
// Go collector read just before and just after it: the same families
// (name, help, unit, type, labels), values equal where they cannot change
// between the readings, in between the two readings for counters and
// near them for gauges of memory that the readings themselves move.
func TestMatchesGoCollector(t *testing.T) {
	up, g := upstream(), New()
	runtime.GC() // so that the pause summary is not empty
	// No collection during the readings, and both gatherers warmed up,
	// so that the gauges of memory move only by the readings' own
	// allocations.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	byName(t, up)
	byName(t, g)
	before := byName(t, up)
	ours := byName(t, g)
	after := byName(t, up)
	if len(ours) != len(before) || len(before) != 29 {
		t.Fatalf("got %d families, client_golang %d (want 29)", len(ours), len(before))
	}
	for name, want := range before {
		got, ok := ours[name]
		if !ok {
			t.Errorf("missing %s", name)
			continue
		}
		if got.GetHelp() != want.GetHelp() || got.GetType() != want.GetType() || got.GetUnit() != want.GetUnit() ||
			!slices.Equal(labels(got), labels(want)) {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
		lo, hi, v := value(want), value(after[name]), value(got)
		lo, hi = math.Min(lo, hi), math.Max(lo, hi)
		if want.GetType() == dto.MetricType_GAUGE && name != "go_info" {
			// Memory moves with the readings' own allocations: by a
			// span or two of heap, a few objects.
			lo, hi = lo-16384, hi+16384
		}
		if v < lo || v > hi {
			t.Errorf("%s = %g, client_golang read %g before and %g after", name, v, value(want), value(after[name]))
		}
	}
	checkGCSummary(t, before["go_gc_duration_seconds"], ours["go_gc_duration_seconds"], after["go_gc_duration_seconds"])
}

// checkGCSummary: without a collection between the readings the pause
// summary is the same in all three.
func checkGCSummary(t *testing.T, before, ours, after *dto.MetricFamily) {
	b, o, a := before.GetMetric()[0].GetSummary(), ours.GetMetric()[0].GetSummary(), after.GetMetric()[0].GetSummary()
	if o.GetSampleCount() == 0 || o.GetSampleSum() <= 0 || len(o.GetQuantile()) != 5 {
		t.Fatalf("go_gc_duration_seconds after a GC: %v", o)
	}
	if b.GetSampleCount() != a.GetSampleCount() {
		t.Logf("a collection ran between the readings; summaries not compared")
		return
	}
	for i, q := range b.GetQuantile() {
		oq := o.GetQuantile()[i]
		if oq.GetQuantile() != q.GetQuantile() || oq.GetValue() != q.GetValue() {
			t.Errorf("quantile %d: got %v, want %v", i, oq, q)
		}
	}
	if o.GetSampleSum() != b.GetSampleSum() {
		t.Errorf("sum %g, want %g", o.GetSampleSum(), b.GetSampleSum())
	}
}

// TestFresh: every gathering reads the runtime again; a change of GOGC,
// GOMAXPROCS, goroutines and allocations shows in the next gathering.
func TestFresh(t *testing.T) {
	g := New()
	first := byName(t, g)
	defer debug.SetGCPercent(debug.SetGCPercent(57))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(runtime.NumCPU() + 3))
	stop := make(chan struct{})
	for range 100 {
		go func() { <-stop }()
	}
	defer close(stop)
	buf := make([][]byte, 0, 100)
	for range 100 {
		buf = append(buf, make([]byte, 10000))
	}
	runtime.GC()
	n1 := runtime.NumGoroutine()
	second := byName(t, g)
	n2 := runtime.NumGoroutine() // goroutines of an earlier test may still be ending
	runtime.KeepAlive(buf)
	if v := value(second["go_gc_gogc_percent"]); v != 57 {
		t.Errorf("go_gc_gogc_percent = %g, want 57", v)
	}
	if v := value(second["go_sched_gomaxprocs_threads"]); v != float64(runtime.NumCPU()+3) {
		t.Errorf("go_sched_gomaxprocs_threads = %g, want %d", v, runtime.NumCPU()+3)
	}
	if v := value(second["go_goroutines"]); v < 100 || v < float64(n2) || v > float64(n1) {
		t.Errorf("go_goroutines = %g, runtime counted %d before and %d after (100 started)", v, n1, n2)
	}
	if d := value(second["go_memstats_alloc_bytes_total"]) - value(first["go_memstats_alloc_bytes_total"]); d < 1e6 {
		t.Errorf("go_memstats_alloc_bytes_total grew by %g, want ≥ 1e6", d)
	}
	if value(second["go_gc_duration_seconds"]) <= value(first["go_gc_duration_seconds"]) {
		t.Error("go_gc_duration_seconds count did not grow after runtime.GC")
	}
	// The answers do not share values: the first one is unchanged.
	if value(first["go_gc_gogc_percent"]) == 57 {
		t.Error("the first answer changed with the second gathering")
	}
}
