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

// Package procmetrics gathers the process_ metrics of client_golang's
// process collector (same names, help, types and values) at a fraction of
// its cost per scrape: on Linux it reads /proc/self/stat and
// /proc/self/net/netstat into a reused buffer, counts /proc/self/fd with
// getdents, asks getrlimit for the limits, reads the start time once, and
// hands the families to the caller without a registry's checks.
package procmetrics

import (
	dto "github.com/prometheus/client_model/go"
)

// Indexes of the values read, in the order of families.
const (
	cpuSeconds = iota
	maxFDs
	netReceive
	netTransmit
	openFDs
	resident
	startTime
	virtual
	virtualMax
	numValues
)

// families are the process_ metrics, sorted by name, as client_golang's
// process collector names and describes them.
var families = [numValues]struct {
	name, help string
	typ        dto.MetricType
}{
	cpuSeconds:  {"process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", dto.MetricType_COUNTER},
	maxFDs:      {"process_max_fds", "Maximum number of open file descriptors.", dto.MetricType_GAUGE},
	netReceive:  {"process_network_receive_bytes_total", "Number of bytes received by the process over the network.", dto.MetricType_COUNTER},
	netTransmit: {"process_network_transmit_bytes_total", "Number of bytes sent by the process over the network.", dto.MetricType_COUNTER},
	openFDs:     {"process_open_fds", "Number of open file descriptors.", dto.MetricType_GAUGE},
	resident:    {"process_resident_memory_bytes", "Resident memory size in bytes.", dto.MetricType_GAUGE},
	startTime:   {"process_start_time_seconds", "Start time of the process since unix epoch in seconds.", dto.MetricType_GAUGE},
	virtual:     {"process_virtual_memory_bytes", "Virtual memory size in bytes.", dto.MetricType_GAUGE},
	virtualMax:  {"process_virtual_memory_max_bytes", "Maximum amount of virtual memory available in bytes.", dto.MetricType_GAUGE},
}

// values are one reading; a value not read (its file could not be read or
// parsed) is left out of the answer, as the process collector leaves out
// what it cannot read.
type values struct {
	v  [numValues]float64
	ok [numValues]bool
}

func (vs *values) set(i int, v float64) { vs.v[i], vs.ok[i] = v, true }

// families turns the values into families sorted by name, allocated in
// one slab each for families, metrics and values.
func (vs *values) families() []*dto.MetricFamily {
	var (
		out   = make([]*dto.MetricFamily, 0, numValues)
		mfs   = make([]dto.MetricFamily, numValues)
		ms    = make([]dto.Metric, numValues)
		ptrs  = make([]*dto.Metric, numValues)
		gs    = make([]dto.Gauge, numValues)
		cs    = make([]dto.Counter, numValues)
		types = [...]dto.MetricType{dto.MetricType_COUNTER, dto.MetricType_GAUGE}
	)
	for i := range families {
		if !vs.ok[i] {
			continue
		}
		f := &families[i]
		m := &ms[i]
		typ := &types[1]
		if f.typ == dto.MetricType_COUNTER {
			typ = &types[0]
			cs[i].Value = &vs.v[i]
			m.Counter = &cs[i]
		} else {
			gs[i].Value = &vs.v[i]
			m.Gauge = &gs[i]
		}
		ptrs[i] = m
		mfs[i] = dto.MetricFamily{Name: &f.name, Help: &f.help, Type: typ, Metric: ptrs[i : i+1 : i+1]}
		out = append(out, &mfs[i])
	}
	return out
}
