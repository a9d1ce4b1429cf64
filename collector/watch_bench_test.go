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
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/go-zookeeper/zk"
	dto "github.com/prometheus/client_model/go"

	"github.com/zkwatch/zkwatch/internal/treecache"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

// groupCache returns the cache of a watched group.
func groupCache(tb testing.TB, zc *ZooKeeperCollector, path string) *treecache.Cache {
	tb.Helper()
	w := zc.watcher
	w.mu.Lock()
	defer w.mu.Unlock()
	it, ok := w.items["group\x00"+path]
	if !ok {
		tb.Fatalf("group %s not watched", path)
	}
	return it.(*groupItem).lc.cache
}

// BenchmarkWatchDetectionLatency measures the time from the delete of an
// ephemeral member to its absence in the group collector's view, and to
// the view's smaller member count (zookeeper_group_members), over 1,000
// deletes on loopback.
func BenchmarkWatchDetectionLatency(b *testing.B) {
	const n = 1000
	e := zktest.Start(b, 1)
	servers := e.Addrs()
	actor := dial(b, servers)
	mkdirs(b, actor, "/bench/latency")
	wf := watchFlags{groups: []string{"/bench/latency"}}
	zc, err := New(Config{Servers: servers, Timeout: 5 * time.Second, Watch: wf.options()}, log.NewNopLogger(), "group")
	if err != nil {
		b.Fatal(err)
	}
	defer zc.Close()
	c := groupCache(b, zc, "/bench/latency")
	// seen reports whether the view lacks name and counts total members.
	seen := func(name string, total int) (absent, counted bool) {
		c.Read(func(v *treecache.View) {
			_, ok := v.Children[name]
			absent, counted = !ok, v.Total == total
		})
		return absent, counted
	}
	var lat, acked, counted []time.Duration
	b.ResetTimer()
	for iter := 0; iter < b.N; iter++ {
		b.StopTimer()
		for i := 0; i < n; i++ {
			mustCreate(b, actor, fmt.Sprintf("/bench/latency/m%04d", i), "h:1.2.3.4", zk.FlagEphemeral)
		}
		if err := zktest.WaitFor(60*time.Second, 5*time.Millisecond, func() error {
			var total int
			c.Read(func(v *treecache.View) { total = len(v.Children) })
			if total != n {
				return fmt.Errorf("%d members", total)
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		lat, acked, counted = lat[:0], acked[:0], counted[:0]
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("m%04d", i)
			begin := time.Now()
			if err := actor.Delete("/bench/latency/"+name, -1); err != nil {
				b.Fatal(err)
			}
			ack := time.Now()
			var gone, total time.Time
			for gone.IsZero() || total.IsZero() {
				if time.Since(begin) > 10*time.Second {
					b.Fatalf("delete of %s not seen", name)
				}
				absent, ok := seen(name, n-1-i)
				now := time.Now()
				if absent && gone.IsZero() {
					gone = now
				}
				if ok && total.IsZero() {
					total = now
				}
				time.Sleep(20 * time.Microsecond)
			}
			lat = append(lat, gone.Sub(begin))
			acked = append(acked, gone.Sub(ack))
			counted = append(counted, total.Sub(ack))
		}
	}
	// From the delete request, which includes the server's commit (an
	// fsync of its transaction log), and from the delete's reply.
	b.ReportMetric(quantileMs(lat, 0.5), "median-ms")
	b.ReportMetric(quantileMs(lat, 0.99), "p99-ms")
	b.ReportMetric(quantileMs(acked, 0.5), "after-ack-median-ms")
	b.ReportMetric(quantileMs(acked, 0.99), "after-ack-p99-ms")
	b.ReportMetric(quantileMs(counted, 0.5), "count-after-ack-median-ms")
	b.ReportMetric(quantileMs(counted, 0.99), "count-after-ack-p99-ms")
}

func quantileMs(ds []time.Duration, q float64) float64 {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return float64(s[int(float64(len(s)-1)*q)].Microseconds()) / 1000
}

// BenchmarkWatchScale100k watches 1,000 groups of 100 ephemeral members:
// initial sync time, heap per member and /metrics render time.
func BenchmarkWatchScale100k(b *testing.B) {
	const groups, perGroup = 1000, 100
	e := zktest.Start(b, 1)
	servers := e.Addrs()
	admin := dial(b, servers)
	var paths []string
	for g := 0; g < groups; g++ {
		p := fmt.Sprintf("/scale/g%04d", g)
		mkdirs(b, admin, p)
		paths = append(paths, p)
	}
	// Members are made by 8 sessions, 8 writers each.
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for s := 0; s < 8; s++ {
		conn := dial(b, servers)
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func(first int) {
				defer wg.Done()
				for g := first; g < groups; g += 64 {
					for m := 0; m < perGroup; m++ {
						data := fmt.Sprintf(`{"host":"host-%d-%d","ip":"10.%d.%d.%d"}`, g, m, g%256, m, g/256)
						if _, err := conn.Create(fmt.Sprintf("%s/member-%03d", paths[g], m), []byte(data), zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
							errs <- err
							return
						}
					}
				}
			}(s*8 + w)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	wf := watchFlags{groups: paths}
	b.ResetTimer()
	for iter := 0; iter < b.N; iter++ {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		stopProf := benchProfile(b, fmt.Sprintf("sync-%d", iter))
		cpu0 := cpuTimes(b, e)
		begin := time.Now()
		zc, err := New(Config{Servers: servers, Timeout: 30 * time.Second, Watch: wf.options()}, log.NewNopLogger(), "group", "session")
		if err != nil {
			b.Fatal(err)
		}
		caches := make([]*treecache.Cache, len(paths))
		for i, p := range paths {
			caches[i] = groupCache(b, zc, p)
		}
		if err := zktest.WaitFor(5*time.Minute, 10*time.Millisecond, func() error {
			for _, c := range caches {
				var ok bool
				c.Read(func(v *treecache.View) { ok = v.Synced && len(v.Children) == perGroup })
				if !ok {
					return fmt.Errorf("group %s not synced", c.Path())
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		sync := time.Since(begin)
		syncCPU := cpuTimes(b, e).sub(cpu0)
		stopProf()
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)

		// Rendering as /metrics does: Gather, then the text exposition.
		const renders = 5
		var renderTimes []time.Duration
		series := 0
		stopProf = benchProfile(b, fmt.Sprintf("render-%d", iter))
		cpu0 = cpuTimes(b, e)
		for r := 0; r < renders; r++ {
			start := time.Now()
			err := zc.GatherFunc(context.Background(), func(mfs []*dto.MetricFamily) error {
				series = 0
				for _, mf := range mfs {
					series += len(mf.GetMetric())
				}
				return writeText(&discardWriter{header: http.Header{}}, mfs)
			})
			if err != nil {
				b.Fatal(err)
			}
			renderTimes = append(renderTimes, time.Since(start))
		}
		renderCPU := cpuTimes(b, e).sub(cpu0)
		stopProf()
		zc.Close()
		b.ReportMetric(sync.Seconds(), "sync-s")
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(groups*perGroup), "heap-B/member")
		// The first render also pays for growing the heap; the median is
		// the steady state.
		b.ReportMetric(float64(renderTimes[0].Milliseconds()), "first-render-ms")
		b.ReportMetric(quantileMs(renderTimes, 0.5), "render-ms")
		b.ReportMetric(float64(series), "series")
		// CPU used during the sync by this process (the exporter's side)
		// and by the server, and per render by this process.
		b.ReportMetric(syncCPU.process.Seconds(), "sync-cpu-s")
		b.ReportMetric(syncCPU.server.Seconds(), "sync-server-cpu-s")
		b.ReportMetric(float64(renderCPU.process.Milliseconds())/renders, "render-cpu-ms")
	}
}

// cpuUse is the CPU time used so far by this process and by the server.
type cpuUse struct{ process, server time.Duration }

func (u cpuUse) sub(v cpuUse) cpuUse { return cpuUse{u.process - v.process, u.server - v.server} }

func cpuTimes(b *testing.B, e *zktest.Ensemble) cpuUse {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	server, err := e.CPUTime(0)
	if err != nil {
		b.Fatal(err)
	}
	return cpuUse{time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), server}
}

// benchProfile writes a CPU profile of a phase to
// $ZKWATCH_BENCH_PROFILE_DIR/name.cpu when that variable is set.
func benchProfile(b *testing.B, name string) (stop func()) {
	dir := os.Getenv("ZKWATCH_BENCH_PROFILE_DIR")
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, name+".cpu"))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Error(err)
		}
	}
}
