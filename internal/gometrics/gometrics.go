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

// Package gometrics gathers the go_ metrics of client_golang's default Go
// collector (collectors.NewGoCollector(): same names, help, units, types,
// labels and values) without a registry: runtime/metrics is read into a
// reused sample buffer, the garbage collector's pauses into a reused
// debug.GCStats, and the families are built as dto values in a few slabs
// per gathering, so none of the registry's per-metric checks run.
package gometrics

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// The runtime/metrics samples read at every gathering: those the memstats
// families are computed from, then the three client_golang exposes as
// they are (go_gc_gogc_percent, go_gc_gomemlimit_bytes,
// go_sched_gomaxprocs_threads).
const (
	rmTinyAllocs = iota
	rmAllocsObjects
	rmFreesObjects
	rmAllocsBytes
	rmHeapObjects
	rmHeapGoal
	rmTotal
	rmHeapObjectsBytes
	rmHeapUnused
	rmHeapReleased
	rmHeapFree
	rmHeapStacks
	rmOSStacks
	rmMSpanInuse
	rmMSpanFree
	rmMCacheInuse
	rmMCacheFree
	rmProfBuckets
	rmMetaOther
	rmOther
	rmGOGC
	rmGOMemLimit
	rmGOMAXPROCS
	numRM
)

var rmNames = [numRM]string{
	rmTinyAllocs:       "/gc/heap/tiny/allocs:objects",
	rmAllocsObjects:    "/gc/heap/allocs:objects",
	rmFreesObjects:     "/gc/heap/frees:objects",
	rmAllocsBytes:      "/gc/heap/allocs:bytes",
	rmHeapObjects:      "/gc/heap/objects:objects",
	rmHeapGoal:         "/gc/heap/goal:bytes",
	rmTotal:            "/memory/classes/total:bytes",
	rmHeapObjectsBytes: "/memory/classes/heap/objects:bytes",
	rmHeapUnused:       "/memory/classes/heap/unused:bytes",
	rmHeapReleased:     "/memory/classes/heap/released:bytes",
	rmHeapFree:         "/memory/classes/heap/free:bytes",
	rmHeapStacks:       "/memory/classes/heap/stacks:bytes",
	rmOSStacks:         "/memory/classes/os-stacks:bytes",
	rmMSpanInuse:       "/memory/classes/metadata/mspan/inuse:bytes",
	rmMSpanFree:        "/memory/classes/metadata/mspan/free:bytes",
	rmMCacheInuse:      "/memory/classes/metadata/mcache/inuse:bytes",
	rmMCacheFree:       "/memory/classes/metadata/mcache/free:bytes",
	rmProfBuckets:      "/memory/classes/profiling/buckets:bytes",
	rmMetaOther:        "/memory/classes/metadata/other:bytes",
	rmOther:            "/memory/classes/other:bytes",
	rmGOGC:             "/gc/gogc:percent",
	rmGOMemLimit:       "/gc/gomemlimit:bytes",
	rmGOMAXPROCS:       "/sched/gomaxprocs:threads",
}

// reading is one gathering's values.
type reading struct {
	rm         [numRM]float64
	rmOK       [numRM]bool // false: not supported by this runtime
	goroutines float64
	threads    float64
	numGC      uint64
	pauseTotal float64
	quantiles  [5]float64 // minimum, 25th, 50th, 75th percentile, maximum pause
	lastGC     float64
}

// Gatherer gathers the go_ metrics of the running process.
type Gatherer struct {
	mu       sync.Mutex
	samples  [numRM]metrics.Sample // reused; the names are set once
	gc       debug.GCStats         // reused; its buffers are kept between readings
	families []family              // sorted by name
	info     []*dto.LabelPair      // go_info's version label
}

// New returns a Gatherer for the running process.
func New() *Gatherer {
	g := &Gatherer{families: newFamilies()}
	for i := range g.samples {
		g.samples[i].Name = rmNames[i]
	}
	g.gc.PauseQuantiles = make([]time.Duration, 5)
	name, v := "version", runtime.Version()
	g.info = []*dto.LabelPair{{Name: &name, Value: &v}}
	return g
}

// Gather implements prometheus.Gatherer: every value is read at the call.
func (g *Gatherer) Gather() ([]*dto.MetricFamily, error) {
	var r reading
	g.read(&r)
	return g.build(&r), nil
}

// read fills r as client_golang's Go collector reads its values.
func (g *Gatherer) read(r *reading) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r.goroutines = float64(runtime.NumGoroutine())
	n, _ := runtime.ThreadCreateProfile(nil)
	r.threads = float64(n)
	debug.ReadGCStats(&g.gc)
	r.numGC = uint64(g.gc.NumGC)
	r.pauseTotal = g.gc.PauseTotal.Seconds()
	for i, q := range g.gc.PauseQuantiles {
		r.quantiles[i] = q.Seconds()
	}
	r.lastGC = float64(g.gc.LastGC.UnixNano()) / 1e9
	metrics.Read(g.samples[:])
	for i := range g.samples {
		switch v := g.samples[i].Value; v.Kind() {
		case metrics.KindUint64:
			r.rm[i], r.rmOK[i] = float64(v.Uint64()), true
		case metrics.KindFloat64:
			r.rm[i], r.rmOK[i] = v.Float64(), true
		}
	}
}
