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

package procmetrics

import (
	"encoding/binary"
	"io"
	"math"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"

	"github.com/zkwatch/zkwatch/internal/gometrics"
)

func upstream(t testing.TB) prometheus.Gatherer {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{ReportErrors: true}))
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
		m[mf.GetName()] = mf
	}
	return m
}

func value(mf *dto.MetricFamily) float64 {
	m := mf.GetMetric()[0]
	if m.Counter != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// TestMatchesProcessCollector compares a reading with client_golang's
// process collector read just before and just after it: the same
// families (name, help, type, no labels), values equal where they cannot
// change between readings and in between the two readings where they can.
func TestMatchesProcessCollector(t *testing.T) {
	up := upstream(t)
	g := New()
	// Keep a few extra descriptors open so that the count is not trivial.
	for range 5 {
		f, err := os.Open("/proc/self/stat")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
	}
	// Spend some CPU so that the CPU time is not 0.
	for x := 1.0; cpuUsed(t) < 0.03; x = math.Sqrt(x + 1) {
	}
	before := byName(t, up)
	ours := byName(t, g)
	after := byName(t, up)
	if len(ours) != len(before) || len(before) != 9 {
		t.Fatalf("got %d families, client_golang %d (want 9)", len(ours), len(before))
	}
	for name, want := range before {
		got, ok := ours[name]
		if !ok {
			t.Errorf("missing %s", name)
			continue
		}
		if got.GetHelp() != want.GetHelp() || got.GetType() != want.GetType() || len(got.GetMetric()) != 1 || len(got.GetMetric()[0].GetLabel()) != 0 {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
		lo, hi, v := value(want), value(after[name]), value(got)
		lo, hi = math.Min(lo, hi), math.Max(lo, hi)
		switch name {
		case "process_resident_memory_bytes", "process_virtual_memory_bytes":
			// The heap may grow or shrink between readings.
			lo, hi = lo*0.8, hi*1.2
		case "process_cpu_seconds_total":
			hi += 0.05 // a tick or a few between readings on a busy machine
		}
		if v < lo || v > hi || v == 0 && name != "process_network_receive_bytes_total" && name != "process_network_transmit_bytes_total" {
			t.Errorf("%s = %g, client_golang read %g before and %g after", name, v, value(want), value(after[name]))
		}
	}
}

func cpuUsed(t *testing.T) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func TestCountDirents(t *testing.T) {
	var b []byte
	for _, name := range []string{".", "..", "0", "1", "17"} {
		rec := make([]byte, (19+len(name)+1+7)/8*8)
		binary.NativeEndian.PutUint16(rec[16:], uint16(len(rec)))
		copy(rec[19:], name)
		b = append(b, rec...)
	}
	if n, err := countDirents(b); err != nil || n != 3 {
		t.Errorf("got %d, %v; want 3", n, err)
	}
	if _, err := countDirents(b[:len(b)-3]); err == nil {
		t.Error("truncated entry: no error")
	}
}

func TestIPExtOctets(t *testing.T) {
	b := []byte("TcpExt: A B\nTcpExt: 1 2\nIpExt: InNoRoutes InOctets OutOctets\nIpExt: 0 1234 5678\n")
	in, out, err := ipExtOctets(b)
	if err != nil || in != 1234 || out != 5678 {
		t.Errorf("got %g, %g, %v; want 1234, 5678", in, out, err)
	}
	if _, _, err := ipExtOctets([]byte("IpExt: InOctets OutOctets\nIpExt: 1\n")); err == nil {
		t.Error("values missing: no error")
	}
}

// BenchmarkGather compares a gathering of client_golang's process
// collector with this package's, and one of client_golang's default Go
// collector with internal/gometrics'.
func BenchmarkGather(b *testing.B) {
	goUpstream := prometheus.NewPedanticRegistry()
	goUpstream.MustRegister(collectors.NewGoCollector())
	for _, c := range []struct {
		name string
		g    prometheus.Gatherer
	}{{"client_golang", upstream(b)}, {"procmetrics", New()}, {"go/client_golang", goUpstream}, {"go/gometrics", gometrics.New()}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.g.Gather(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestFreshEveryGathering checks that the files kept open are read anew at
// every gathering: CPU time, network octets and open descriptors move
// between two gatherings of one Gatherer.
func TestFreshEveryGathering(t *testing.T) {
	g := New()
	before := byName(t, g)
	// CPU: spin for 100 ms of CPU time.
	for start := cpuTime(); cpuTime()-start < 100*time.Millisecond; {
	}
	// Network: 2 MB over loopback.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan int64)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- 0
			return
		}
		n, _ := io.Copy(io.Discard, c)
		c.Close()
		done <- n
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(make([]byte, 2<<20)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	<-done
	// Descriptors: ten more open files.
	for i := 0; i < 10; i++ {
		f, err := os.Open("/proc/self/stat")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
	}
	after := byName(t, g)
	for name, min := range map[string]float64{
		"process_cpu_seconds_total":            0.09,
		"process_network_receive_bytes_total":  2 << 20,
		"process_network_transmit_bytes_total": 2 << 20,
		"process_open_fds":                     10,
	} {
		b, a := before[name], after[name]
		if b == nil || a == nil {
			t.Errorf("%s missing", name)
			continue
		}
		if d := value(a) - value(b); d < min {
			t.Errorf("%s moved by %v between gatherings, want at least %v", name, d, min)
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
