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
	"runtime/metrics"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
)

// family is one of the Go collector's families and how its value is
// computed from a reading.
type family struct {
	name, help, unit string
	typ              dto.MetricType
	value            func(r *reading) float64 // nil for the summary and go_info
}

// gauge and counter are client_golang's memstats families computed from
// runtime/metrics samples, help texts as client_golang words them.
func gauge(name, help string, f func(r *reading) float64) family {
	return family{name: "go_memstats_" + name, help: help, typ: dto.MetricType_GAUGE, value: f}
}

func counter(name, help string, f func(r *reading) float64) family {
	return family{name: "go_memstats_" + name, help: help, typ: dto.MetricType_COUNTER, value: f}
}

// sum adds runtime/metrics samples.
func sum(idx ...int) func(r *reading) float64 {
	return func(r *reading) float64 {
		var s float64
		for _, i := range idx {
			s += r.rm[i]
		}
		return s
	}
}

// memstats are the go_memstats_ families derived from runtime/metrics as
// client_golang's memStatsFromRM derives them.
func memstats() []family {
	return []family{
		gauge("alloc_bytes", "Number of bytes allocated in heap and currently in use. Equals to /memory/classes/heap/objects:bytes.", sum(rmHeapObjectsBytes)),
		counter("alloc_bytes_total", "Total number of bytes allocated in heap until now, even if released already. Equals to /gc/heap/allocs:bytes.", sum(rmAllocsBytes)),
		gauge("sys_bytes", "Number of bytes obtained from system. Equals to /memory/classes/total:byte.", sum(rmTotal)),
		counter("mallocs_total", "Total number of heap objects allocated, both live and gc-ed. Semantically a counter version for go_memstats_heap_objects gauge. Equals to /gc/heap/allocs:objects + /gc/heap/tiny/allocs:objects.", sum(rmAllocsObjects, rmTinyAllocs)),
		counter("frees_total", "Total number of heap objects frees. Equals to /gc/heap/frees:objects + /gc/heap/tiny/allocs:objects.", sum(rmFreesObjects, rmTinyAllocs)),
		gauge("heap_alloc_bytes", "Number of heap bytes allocated and currently in use, same as go_memstats_alloc_bytes. Equals to /memory/classes/heap/objects:bytes.", sum(rmHeapObjectsBytes)),
		gauge("heap_sys_bytes", "Number of heap bytes obtained from system. Equals to /memory/classes/heap/objects:bytes + /memory/classes/heap/unused:bytes + /memory/classes/heap/released:bytes + /memory/classes/heap/free:bytes.", sum(rmHeapObjectsBytes, rmHeapUnused, rmHeapReleased, rmHeapFree)),
		gauge("heap_idle_bytes", "Number of heap bytes waiting to be used. Equals to /memory/classes/heap/released:bytes + /memory/classes/heap/free:bytes.", sum(rmHeapReleased, rmHeapFree)),
		gauge("heap_inuse_bytes", "Number of heap bytes that are in use. Equals to /memory/classes/heap/objects:bytes + /memory/classes/heap/unused:bytes", sum(rmHeapObjectsBytes, rmHeapUnused)),
		gauge("heap_released_bytes", "Number of heap bytes released to OS. Equals to /memory/classes/heap/released:bytes.", sum(rmHeapReleased)),
		gauge("heap_objects", "Number of currently allocated objects. Equals to /gc/heap/objects:objects.", sum(rmHeapObjects)),
		gauge("stack_inuse_bytes", "Number of bytes obtained from system for stack allocator in non-CGO environments. Equals to /memory/classes/heap/stacks:bytes.", sum(rmHeapStacks)),
		gauge("stack_sys_bytes", "Number of bytes obtained from system for stack allocator. Equals to /memory/classes/heap/stacks:bytes + /memory/classes/os-stacks:bytes.", sum(rmHeapStacks, rmOSStacks)),
		gauge("mspan_inuse_bytes", "Number of bytes in use by mspan structures. Equals to /memory/classes/metadata/mspan/inuse:bytes.", sum(rmMSpanInuse)),
		gauge("mspan_sys_bytes", "Number of bytes used for mspan structures obtained from system. Equals to /memory/classes/metadata/mspan/inuse:bytes + /memory/classes/metadata/mspan/free:bytes.", sum(rmMSpanInuse, rmMSpanFree)),
		gauge("mcache_inuse_bytes", "Number of bytes in use by mcache structures. Equals to /memory/classes/metadata/mcache/inuse:bytes.", sum(rmMCacheInuse)),
		gauge("mcache_sys_bytes", "Number of bytes used for mcache structures obtained from system. Equals to /memory/classes/metadata/mcache/inuse:bytes + /memory/classes/metadata/mcache/free:bytes.", sum(rmMCacheInuse, rmMCacheFree)),
		gauge("buck_hash_sys_bytes", "Number of bytes used by the profiling bucket hash table. Equals to /memory/classes/profiling/buckets:bytes.", sum(rmProfBuckets)),
		gauge("gc_sys_bytes", "Number of bytes used for garbage collection system metadata. Equals to /memory/classes/metadata/other:bytes.", sum(rmMetaOther)),
		gauge("other_sys_bytes", "Number of bytes used for other system allocations. Equals to /memory/classes/other:bytes.", sum(rmOther)),
		gauge("next_gc_bytes", "Number of heap bytes when next garbage collection will take place. Equals to /gc/heap/goal:bytes.", sum(rmHeapGoal)),
		gauge("last_gc_time_seconds", "Number of seconds since 1970 of last garbage collection.", func(r *reading) float64 { return r.lastGC }),
	}
}

// newFamilies lists the families sorted by name. The three exposed as
// runtime/metrics gives them take their help from the runtime, as
// client_golang does, and are left out where the runtime lacks them.
func newFamilies() []family {
	fs := append(memstats(),
		family{name: "go_gc_duration_seconds", help: "A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.", typ: dto.MetricType_SUMMARY},
		family{name: "go_goroutines", help: "Number of goroutines that currently exist.", typ: dto.MetricType_GAUGE, value: func(r *reading) float64 { return r.goroutines }},
		family{name: "go_info", help: "Information about the Go environment.", typ: dto.MetricType_GAUGE},
		family{name: "go_threads", help: "Number of OS threads created.", typ: dto.MetricType_GAUGE, value: func(r *reading) float64 { return r.threads }},
	)
	exposed := map[string]struct {
		name, unit string
		idx        int
	}{
		rmNames[rmGOGC]:       {"go_gc_gogc_percent", "percent", rmGOGC},
		rmNames[rmGOMemLimit]: {"go_gc_gomemlimit_bytes", "bytes", rmGOMemLimit},
		rmNames[rmGOMAXPROCS]: {"go_sched_gomaxprocs_threads", "threads", rmGOMAXPROCS},
	}
	for _, d := range metrics.All() {
		e, ok := exposed[d.Name]
		if !ok || d.Cumulative || (d.Kind != metrics.KindUint64 && d.Kind != metrics.KindFloat64) {
			continue
		}
		fs = append(fs, family{
			name: e.name, help: d.Description + " Sourced from " + d.Name + ".", unit: e.unit,
			typ: dto.MetricType_GAUGE, value: sum(e.idx),
		})
	}
	slices.SortFunc(fs, func(a, b family) int { return strings.Compare(a.name, b.name) })
	return fs
}

// Quantile ranks of go_gc_duration_seconds, as client_golang gives them.
var ranks = [5]float64{0, 0.25, 0.5, 0.75, 1}

// build turns a reading into families, allocated in one slab each for
// families, metrics, values and the summary's quantiles.
func (g *Gatherer) build(r *reading) []*dto.MetricFamily {
	n := len(g.families)
	var (
		out  = make([]*dto.MetricFamily, n)
		mfs  = make([]dto.MetricFamily, n)
		ms   = make([]dto.Metric, n)
		ptrs = make([]*dto.Metric, n)
		vals = make([]float64, n+len(ranks))
		gs   = make([]dto.Gauge, n)
		cs   = make([]dto.Counter, n)
	)
	for i := range g.families {
		f := &g.families[i]
		m := &ms[i]
		switch f.typ {
		case dto.MetricType_SUMMARY:
			m.Summary = g.summary(r, vals[n:], &vals[i])
		case dto.MetricType_COUNTER:
			vals[i] = f.value(r)
			cs[i].Value = &vals[i]
			m.Counter = &cs[i]
		default:
			vals[i] = 1 // go_info
			if f.value != nil {
				vals[i] = f.value(r)
			} else {
				m.Label = g.info
			}
			gs[i].Value = &vals[i]
			m.Gauge = &gs[i]
		}
		ptrs[i] = m
		mfs[i] = dto.MetricFamily{Name: &f.name, Help: &f.help, Type: &f.typ, Metric: ptrs[i : i+1 : i+1]}
		if f.unit != "" {
			mfs[i].Unit = &f.unit
		}
		out[i] = &mfs[i]
	}
	return out
}

// summary is go_gc_duration_seconds: q holds the quantiles' values, sum
// the pause total.
func (g *Gatherer) summary(r *reading, q []float64, sum *float64) *dto.Summary {
	qs := make([]dto.Quantile, len(ranks))
	qps := make([]*dto.Quantile, len(ranks))
	for i := range ranks {
		q[i] = r.quantiles[i]
		qs[i] = dto.Quantile{Quantile: &ranks[i], Value: &q[i]}
		qps[i] = &qs[i]
	}
	*sum = r.pauseTotal
	count := r.numGC
	return &dto.Summary{SampleCount: &count, SampleSum: sum, Quantile: qps}
}
