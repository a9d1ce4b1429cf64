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
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// The isolated scrape is what one scrape costs at Prometheus's interval
// (15–60 s): nothing reused from the previous scrape of the same exporter
// (connections, the probe), gzip asked as Prometheus asks. Every exporter
// is scraped in a new random order each round with isolatedGap between
// two scrapes, so that each one idles (targets × gap) between its own
// scrapes, longer than any reuse window. For each scrape the wall time is
// taken from the request to the last byte, and the CPU time of the
// exporter's processes (all threads, from schedstat, in ns) from the
// start of the scrape to the start of its next one, so that what it does
// after answering and while idle is counted.
const (
	// IsolatedEnv lists the zookeeper_exporter builds to measure instead
	// of the tree's, one per line: name|binary|flags separated by spaces
	// (a before/after comparison: see bench/NOTES.md).
	IsolatedEnv      = "ZKWATCH_ISOLATED"
	isolatedRounds   = 40
	isolatedWarmup   = 5
	isolatedGap      = 300 * time.Millisecond
	prometheusAccept = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1"
)

// isolatedTarget is one exporter set-up: its URLs (one per process) and
// the processes whose CPU time it is charged.
type isolatedTarget struct {
	name  string
	urls  []string
	pids  []int
	want  string // a line every answer carries
	wall  []time.Duration
	cpu   []time.Duration
	mark  time.Duration // CPU time at the start of the last scrape
	ticks [2]int64      // utime+stime at the start and end of the measured rounds
}

// gzipGet scrapes url as Prometheus does and returns the decompressed body.
func gzipGet(url string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", prometheusAccept)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if resp.Header.Get("Content-Encoding") != "gzip" {
		return string(raw), nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	body, err := io.ReadAll(zr)
	return string(body), err
}

// cpuTime sums the run time of every thread of pids, in ns (schedstat).
func cpuTime(pids []int) (time.Duration, error) {
	var total time.Duration
	for _, pid := range pids {
		tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
		if err != nil || len(tasks) == 0 {
			return 0, fmt.Errorf("no threads of pid %d", pid)
		}
		for _, t := range tasks {
			b, err := os.ReadFile(t)
			if err != nil {
				continue // the thread ended
			}
			ns, err := strconv.ParseInt(strings.Fields(string(b))[0], 10, 64)
			if err != nil {
				return 0, err
			}
			total += time.Duration(ns)
		}
	}
	return total, nil
}

// statTicks sums utime+stime of pids from /proc/<pid>/stat, in clock ticks.
func statTicks(pids []int) int64 {
	var n int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		n += u + s
	}
	return n
}

// scrape measures one round of t: every URL at once, the slowest counts.
func (t *isolatedTarget) scrape(measured bool) error {
	now, err := cpuTime(t.pids)
	if err != nil {
		return fmt.Errorf("%s: %w", t.name, err)
	}
	if measured && t.mark > 0 {
		t.cpu = append(t.cpu, now-t.mark)
	}
	t.mark = now
	var slow time.Duration
	for _, u := range t.urls {
		t0 := time.Now()
		body, err := gzipGet(u)
		slow = max(slow, time.Since(t0))
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		if !strings.Contains(body, t.want) {
			return fmt.Errorf("%s: answer lacks %q; it begins:\n%.1000s", t.name, t.want, body)
		}
	}
	if measured {
		t.wall = append(t.wall, slow)
	}
	return nil
}

// isolatedTargets starts zookeeper_exporter (the tree's build, or the
// builds IsolatedEnv lists) and the anchors, against servers.
func isolatedTargets(b *testing.B, servers string, members int) []*isolatedTarget {
	var specs []string
	for _, l := range strings.Split(os.Getenv(IsolatedEnv), "\n") {
		if strings.TrimSpace(l) != "" {
			specs = append(specs, strings.TrimSpace(l))
		}
	}
	if len(specs) == 0 {
		specs = []string{"zkwatch|" + buildExporter(b) + "|"}
	}
	listens := freeAddrs(b, len(specs)+1+members)
	var out []*isolatedTarget
	for i, s := range specs {
		parts := strings.SplitN(s, "|", 3)
		if len(parts) != 3 {
			b.Fatalf("%s: want name|binary|flags, got %q", IsolatedEnv, s)
		}
		args := append([]string{"--zookeeper.servers=" + servers, "--zookeeper.timeout=10s", "--web.listen-address=" + listens[i]}, strings.Fields(parts[2])...)
		p := startProcess(b, parts[0], parts[1], args...)
		out = append(out, &isolatedTarget{name: parts[0], urls: []string{"http://" + listens[i] + "/metrics"},
			pids: []int{p.cmd.Process.Pid}, want: fmt.Sprintf("zookeeper_ensemble_members_up %d\n", members)})
	}
	dir := anchorsDir()
	dabealu, carlpett := filepath.Join(dir, "dabealu_zookeeper_exporter"), filepath.Join(dir, "carlpett_zookeeper_exporter")
	if _, err := os.Stat(dabealu); err != nil {
		b.Logf("anchors not found in %s (set %s): measuring zookeeper_exporter only", dir, AnchorsEnv)
		return out
	}
	l := listens[len(specs)]
	p := startProcess(b, "dabealu", dabealu, "-zk-hosts", servers, "-listen", l, "-timeout", "10")
	out = append(out, &isolatedTarget{name: "dabealu", urls: []string{"http://" + l + "/metrics"}, pids: []int{p.cmd.Process.Pid}, want: "zk_up{"})
	c := &isolatedTarget{name: "carlpett", want: "zk_up 1\n"}
	for i, a := range strings.Split(servers, ",") {
		l := listens[len(specs)+1+i]
		p := startProcess(b, fmt.Sprintf("carlpett-%d", i+1), carlpett, "-zookeeper", a, "-bind-addr", l, "-reset-on-scrape=false")
		c.urls, c.pids = append(c.urls, "http://"+l+"/metrics"), append(c.pids, p.cmd.Process.Pid)
	}
	return append(out, c)
}

// BenchmarkIsolatedScrape3Members measures isolated scrapes (see above) of
// zookeeper_exporter and the anchors on one real 3-member ensemble.
func BenchmarkIsolatedScrape3Members(b *testing.B) {
	ens := startEnsemble(b, 3)
	targets := isolatedTargets(b, ens.Servers(), 3)
	for _, t := range targets {
		for _, u := range t.urls {
			if err := zktest.WaitFor(30*time.Second, 50*time.Millisecond, func() error { _, err := gzipGet(u); return err }); err != nil {
				b.Fatalf("%s did not come up: %v", t.name, err)
			}
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	round := func(measured bool) {
		for _, k := range rng.Perm(len(targets)) {
			if err := targets[k].scrape(measured); err != nil {
				b.Fatal(err)
			}
			time.Sleep(isolatedGap)
		}
	}
	for range isolatedWarmup {
		round(false)
	}
	for _, t := range targets {
		t.ticks[0] = statTicks(t.pids)
	}
	b.ResetTimer()
	for range b.N * isolatedRounds {
		round(true)
	}
	b.StopTimer()
	for _, t := range targets {
		t.ticks[1] = statTicks(t.pids)
		b.ReportMetric(ms(quantile(t.wall, 0.5)), t.name+"-ms")
		b.ReportMetric(ms(quantile(t.wall, 0.1)), t.name+"-p10-ms")
		b.ReportMetric(ms(quantile(t.wall, 0.9)), t.name+"-p90-ms")
		b.ReportMetric(ms(quantile(t.cpu, 0.5)), t.name+"-cpu-ms")
		b.ReportMetric(ms(quantile(t.cpu, 0.1)), t.name+"-cpu-p10-ms")
		b.ReportMetric(ms(quantile(t.cpu, 0.9)), t.name+"-cpu-p90-ms")
		// The same from utime+stime (10 ms ticks), over all rounds.
		b.ReportMetric(float64(t.ticks[1]-t.ticks[0])*10/float64(len(t.wall)), t.name+"-stat-cpu-ms")
	}
}
