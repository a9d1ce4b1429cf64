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

package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// Many ensembles, one exporter: real single-member ZooKeepers, each probed
// through one zookeeper_exporter's /probe (its default flags) as Prometheus
// scrapes a multi-target job: every target once per interval, the targets
// spread evenly over it, gzip and Prometheus's Accept and scrape-timeout
// headers, keep-alive. A fresh exporter process per step (a quarter, half
// and all of the ensembles) so that its memory is that step's; then the
// full step again with one ensemble paused (SIGSTOP), whose probes hang
// until the exporter's --zookeeper.timeout.
const (
	ManyEnsemblesEnv = "ZKWATCH_MANY_ENSEMBLES" // ensembles, default 100
	ManyIntervalEnv  = "ZKWATCH_MANY_INTERVAL"  // scrape interval, default 15s
	ManyRoundsEnv    = "ZKWATCH_MANY_ROUNDS"    // measured probes per target and step, default 4

	manyLaunchers = 3       // ensembles started at once
	manyMinMemory = 1 << 30 // stop starting ensembles below this much MemAvailable
	manyHeap      = "64m"
)

// manyJVMFlags keep 100 idle JVMs small: C1 only, few compiler and GC threads.
var manyJVMFlags = []string{"-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1", "-Xss512k"}

// startManyEnsembles starts up to n single-member ensembles, manyLaunchers
// at a time, and stops starting when the machine runs short of memory.
func startManyEnsembles(b *testing.B, n int) []*zktest.Ensemble {
	zktest.Require(b)
	var (
		mu   sync.Mutex
		ens  []*zktest.Ensemble
		errs []error
		wg   sync.WaitGroup
	)
	next := make(chan struct{})
	go func() {
		defer close(next)
		for i := 0; i < n && memAvailable() > manyMinMemory; i++ {
			next <- struct{}{}
		}
	}()
	for w := 0; w < manyLaunchers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				e, err := zktest.Launch(zktest.Options{Size: 1, Dir: b.TempDir(), Heap: manyHeap, JVMFlags: manyJVMFlags,
					Extra: map[string]string{"admin.enableServer": "false"}})
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					ens = append(ens, e)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, e := range ens {
		b.Cleanup(e.Stop)
	}
	if len(errs) > 0 {
		b.Fatalf("%d of %d ensembles did not start; first: %.500v", len(errs), n, errs[0])
	}
	if len(ens) < n {
		b.Logf("memory allowed %d of %d ensembles (MemAvailable %d MiB)", len(ens), n, memAvailable()>>20)
	}
	return ens
}

// memAvailable is /proc/meminfo's MemAvailable in bytes.
func memAvailable() int64 { return procField("/proc/meminfo", "MemAvailable:") }

// vmRSS is a process's resident set in bytes.
func vmRSS(pid int) int64 { return procField(fmt.Sprintf("/proc/%d/status", pid), "VmRSS:") }

// procField reads a "Name: value kB" line of a /proc file, in bytes.
func procField(path, name string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) >= 2 && fields[0] == name {
			v, _ := strconv.ParseInt(fields[1], 10, 64)
			return v << 10
		}
	}
	return 0
}

// manyStep is one step's measurements.
type manyStep struct {
	n, hung        int             // ensembles probed; the paused one's index, or -1
	wall, hungWall []time.Duration // healthy probes; the paused ensemble's
	failed         int             // healthy probes without zookeeper_up 1
	cpu, window    time.Duration   // exporter CPU over the measured window
	rssIdle, rss   int64           // before the first probe; after the last
	heapIdle, heap float64         // go_memstats_heap_inuse_bytes before the first probe; after the last
}

// manyProber scrapes like Prometheus: one keep-alive transport for the job,
// gzip, Prometheus's Accept, and its scrape timeout header (10 s).
type manyProber struct {
	client *http.Client
	base   string
}

func (p *manyProber) probe(target string) (time.Duration, string, error) {
	req, err := http.NewRequest(http.MethodGet, p.base+"/probe?target="+url.QueryEscape(target), nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Accept", prometheusAccept)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
	start := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		return time.Since(start), "", err
	}
	body, err := io.ReadAll(resp.Body) // the transport ungzips
	resp.Body.Close()
	d := time.Since(start)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s", resp.Status)
	}
	return d, string(body), err
}

// runManyStep starts a fresh exporter, probes every ensemble once (not
// measured), then rounds more times each at the interval, spread over it.
func runManyStep(b *testing.B, bin string, ens []*zktest.Ensemble, hung int, interval time.Duration, rounds int) manyStep {
	listen := freeAddrs(b, 1)[0]
	p := startProcess(b, fmt.Sprintf("zookeeper_exporter (%d ensembles)", len(ens)), bin,
		"--zookeeper.servers="+ens[0].Servers(), "--web.listen-address="+listen, "--log.level=warn")
	defer func() { _ = p.cmd.Process.Kill(); <-p.done }()
	pr := &manyProber{client: &http.Client{Timeout: 15 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: len(ens) + 1}}, base: "http://" + listen}
	if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error { _, err := get(pr.base + "/-/healthy"); return err }); err != nil {
		b.Fatalf("exporter did not come up: %v", err)
	}
	pid := p.cmd.Process.Pid
	st := manyStep{n: len(ens), hung: hung, rssIdle: vmRSS(pid), heapIdle: heapInuse(pr.base)}
	for _, e := range ens {
		_, _, _ = pr.probe(e.Servers())
	}
	cpu0, err := cpuTime([]int{pid})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	st.probeAll(pr, ens, interval, rounds, start)
	cpu1, err := cpuTime([]int{pid})
	if err != nil {
		b.Fatal(err)
	}
	st.cpu, st.window = cpu1-cpu0, time.Since(start)
	st.rss, st.heap = vmRSS(pid), heapInuse(pr.base)
	p.running(b)
	return st
}

// probeAll probes target i at start + i×interval/n + k×interval, k < rounds.
func (st *manyStep) probeAll(pr *manyProber, ens []*zktest.Ensemble, interval time.Duration, rounds int, start time.Time) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, e := range ens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := fmt.Sprintf("zookeeper_up{server=%q} 1\n", e.Servers())
			for k := 0; k < rounds; k++ {
				time.Sleep(time.Until(start.Add(time.Duration(i)*interval/time.Duration(len(ens)) + time.Duration(k)*interval)))
				d, body, err := pr.probe(e.Servers())
				mu.Lock()
				switch {
				case i == st.hung:
					st.hungWall = append(st.hungWall, d)
				case err != nil || !strings.Contains(body, want):
					st.failed++
					st.wall = append(st.wall, d)
				default:
					st.wall = append(st.wall, d)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// heapInuse is the exporter's go_memstats_heap_inuse_bytes (0 when unknown).
func heapInuse(base string) float64 {
	body, err := get(base + "/metrics")
	if err != nil {
		return 0
	}
	v, _ := metricValue(body, "go_memstats_heap_inuse_bytes")
	return v
}

// metricValue is the value of the first sample of name in a text exposition.
func metricValue(body, name string) (float64, bool) {
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, err == nil
		}
	}
	return 0, false
}

// report adds one step's figures to the benchmark, prefixed (n25-, hung-).
func (st manyStep) report(b *testing.B, prefix string) {
	probes := len(st.wall) + len(st.hungWall)
	n := float64(st.n)
	cpuPerProbe := float64(st.cpu.Microseconds()) / float64(max(probes, 1))
	corePct := 100 * st.cpu.Seconds() / st.window.Seconds() / n
	rss, heap := float64(st.rss-st.rssIdle)/1024/n, (st.heap-st.heapIdle)/1024/n
	p50, p99, slow := ms(quantile(st.wall, 0.5)), ms(quantile(st.wall, 0.99)), ms(slowest(st.wall))
	b.ReportMetric(cpuPerProbe, prefix+"cpu-us/probe")
	b.ReportMetric(corePct, prefix+"cpu-%core/ensemble")
	b.ReportMetric(rss, prefix+"rss-KiB/ensemble")
	b.ReportMetric(heap, prefix+"heap-KiB/ensemble")
	b.ReportMetric(p50, prefix+"p50-ms")
	b.ReportMetric(p99, prefix+"p99-ms")
	b.ReportMetric(slow, prefix+"max-ms")
	b.ReportMetric(float64(st.failed), prefix+"failed")
	note := ""
	if st.hung >= 0 {
		paused := ms(quantile(st.hungWall, 0.5))
		b.ReportMetric(paused, prefix+"paused-ensemble-ms")
		note = fmt.Sprintf("  (1 paused: its probes %.0f ms median)", paused)
	}
	b.Logf("%-6s %4d ensembles  %5d probes  CPU %6.0f µs/probe %5.2f %%core/ensemble  RSS %6.0f KiB idle %+7.0f KiB/ensemble  heap %5.1f KiB/ensemble  p50 %6.2f ms p99 %6.2f ms max %7.2f ms  failed %d%s",
		strings.TrimSuffix(prefix, "-"), st.n, probes, cpuPerProbe, corePct, float64(st.rssIdle)/1024, rss, heap, p50, p99, slow, st.failed, note)
}

// BenchmarkProbeManyEnsembles: 100 real ensembles through one exporter's
// /probe at a 15 s interval (see the constants above for the knobs).
func BenchmarkProbeManyEnsembles(b *testing.B) {
	n := envOr(b, ManyEnsemblesEnv, 100, strconv.Atoi)
	interval := envOr(b, ManyIntervalEnv, 15*time.Second, time.ParseDuration)
	rounds := envOr(b, ManyRoundsEnv, 4, strconv.Atoi)
	bin := buildExporter(b)
	mem0, begin := memAvailable(), time.Now()
	ens := startManyEnsembles(b, n)
	b.Logf("%d single-member ensembles ready in %s, %d MiB of memory each (MemAvailable before and after)",
		len(ens), time.Since(begin).Round(time.Second), (mem0-memAvailable())>>20/int64(len(ens)))
	b.ResetTimer()
	var steps []int
	for _, k := range []int{len(ens) / 4, len(ens) / 2, len(ens)} {
		if k > 0 && (len(steps) == 0 || steps[len(steps)-1] != k) {
			steps = append(steps, k)
		}
	}
	for _, k := range steps {
		runManyStep(b, bin, ens[:k], -1, interval, rounds).report(b, fmt.Sprintf("n%d-", k))
	}
	ens[0].Pause(0)
	runManyStep(b, bin, ens, 0, interval, rounds).report(b, "hung-")
	ens[0].Resume(0)
	b.StopTimer()
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "load average at end: %.2f", loadAvg1())
	b.Log(buf.String())
}
