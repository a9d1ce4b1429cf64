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
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/zkwatch/zkwatch/collector"
	"github.com/zkwatch/zkwatch/internal/fourlw"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

// AnchorsEnv names the directory holding the anchor exporters' binaries;
// by default they are looked for in ../shared/anchors from the repository root.
const AnchorsEnv = "ZKWATCH_ANCHORS"

const (
	warmupRounds   = 100
	measuredRounds = 300
	settle         = 10 * time.Millisecond
	scrapeTimeout  = 30 * time.Second
)

func anchorsDir() string {
	if d := os.Getenv(AnchorsEnv); d != "" {
		return d
	}
	// Benchmarks run in the package directory, one below the repository root.
	return filepath.Join("..", "..", "shared", "anchors")
}

// process is a started exporter; it is killed when the benchmark ends.
type process struct {
	name string
	cmd  *exec.Cmd
	out  bytes.Buffer  // read only after done
	done chan struct{} // closed when the process has exited
	err  error
}

func startProcess(b *testing.B, name, bin string, args ...string) *process {
	b.Helper()
	p := &process{name: name, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	// Killed with the benchmark binary even when a -timeout panic skips
	// the cleanup below.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		b.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	b.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if b.Failed() {
			b.Logf("%s output (last 2 KiB):\n%s", name, tail(p.out.Bytes(), 2048))
		}
	})
	return p
}

// running fails the benchmark when p has exited, e.g. because another
// process took its port: its port might then answer for someone else.
func (p *process) running(b *testing.B) {
	select {
	case <-p.done:
		b.Fatalf("%s exited: %v\n%s", p.name, p.err, tail(p.out.Bytes(), 2048))
	default:
	}
}

func tail(s []byte, n int) []byte {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// freeAddrs returns n distinct free 127.0.0.1 addresses.
func freeAddrs(b *testing.B, n int) []string {
	b.Helper()
	ports, err := zktest.FreePorts(n)
	if err != nil {
		b.Fatal(err)
	}
	addrs := make([]string, n)
	for i, p := range ports {
		addrs[i] = fmt.Sprintf("127.0.0.1:%d", p)
	}
	return addrs
}

// client keeps connections alive between scrapes, as Prometheus does, and
// asks every exporter for uncompressed text format so that all do the same
// work.
var client = &http.Client{
	Timeout:   scrapeTimeout,
	Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 4},
}

func get(url string) (string, error) {
	var b bytes.Buffer
	err := getInto(url, &b)
	return b.String(), err
}

// getInto scrapes url into b, as Prometheus does: the text format, the
// body read into a buffer kept from the previous scrape of the target.
func getInto(url string, b *bytes.Buffer) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b.Reset()
	if _, err := b.ReadFrom(resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %.200s", url, resp.Status, b.Bytes())
	}
	return nil
}

// target is one measured thing: an exporter set-up whose /metrics URLs
// (one per process) are scraped concurrently, a round taking as long as the
// slowest, or a bare request pattern (measure).
type target struct {
	name    string
	urls    []string
	check   func(bodies []string) error // the answers carry ZooKeeper metrics
	measure func() (time.Duration, error)
	times   []time.Duration
	last    []string
	bufs    []bytes.Buffer // one per URL, reused
}

// round measures t once and records the time.
func (t *target) round() error {
	if t.measure != nil {
		d, err := t.measure()
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		t.times = append(t.times, d)
		return nil
	}
	if t.bufs == nil {
		t.bufs = make([]bytes.Buffer, len(t.urls))
	}
	durs := make([]time.Duration, len(t.urls))
	errs := make([]error, len(t.urls))
	run := func(i int) {
		t0 := time.Now()
		errs[i] = getInto(t.urls[i], &t.bufs[i])
		durs[i] = time.Since(t0)
	}
	if len(t.urls) == 1 {
		run(0)
	} else {
		var wg sync.WaitGroup
		for i := range t.urls {
			wg.Add(1)
			go func() { defer wg.Done(); run(i) }()
		}
		wg.Wait()
	}
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
	}
	t.times = append(t.times, slowest(durs))
	bodies := make([]string, len(t.urls))
	for i := range bodies {
		bodies[i] = t.bufs[i].String()
	}
	t.last = bodies
	if err := t.check(bodies); err != nil {
		return fmt.Errorf("%s: %w; its answer begins:\n%.1500s", t.name, err, bodies[0])
	}
	return nil
}

func slowest(d []time.Duration) time.Duration {
	var m time.Duration
	for _, x := range d {
		m = max(m, x)
	}
	return m
}

// fourlwRound sends every command in cmds to every member at once, each on
// its own connection as ZooKeeper's four-letter words require, and returns
// the slowest round trip. With mntr alone it is the floor for any exporter
// that asks every member.
func fourlwRound(addrs []string, cmds ...string) (time.Duration, error) {
	n := len(addrs) * len(cmds)
	durs := make([]time.Duration, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		addr, cmd := addrs[i/len(cmds)], cmds[i%len(cmds)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
			defer cancel()
			t0 := time.Now()
			out, err := fourlw.Do(ctx, addr, cmd, 0)
			durs[i] = time.Since(t0)
			if err == nil && !bytes.Contains(out, []byte("Mode")) && !bytes.Contains(out, []byte("zk_server_state")) {
				err = fmt.Errorf("%s %s: unexpected answer %.200q", addr, cmd, out)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return slowest(durs), nil
}

// inProcess returns a target scraping the ensemble collector inside the
// benchmark process: the exporter's work without its HTTP server and
// process boundary.
func inProcess(b *testing.B, addrs []string) *target {
	zk, err := collector.New(collector.Config{Servers: addrs, Timeout: 10 * time.Second}, log.NewNopLogger(), "ensemble")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { zk.Close() })
	want := fmt.Sprintf("zookeeper_ensemble_members_up %d\n", len(addrs))
	return &target{name: "zkwatch-inproc", measure: func() (time.Duration, error) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header.Set("Accept", "text/plain;version=0.0.4")
		t0 := time.Now()
		// What /probe does, without the HTTP server.
		err := zk.GatherFunc(req.Context(), func(mfs []*dto.MetricFamily) error {
			g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return mfs, nil })
			promhttp.HandlerFor(g, promhttp.HandlerOpts{}).ServeHTTP(rec, req)
			return nil
		})
		if err != nil {
			return 0, err
		}
		d := time.Since(t0)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) {
			return 0, fmt.Errorf("status %d, answer lacks %q", rec.Code, want)
		}
		return d, nil
	}}
}

// containsAll reports the first wanted string missing from body.
func containsAll(body string, want ...string) error {
	for _, w := range want {
		if !strings.Contains(body, w) {
			return fmt.Errorf("answer (%d bytes) lacks %q", len(body), w)
		}
	}
	return nil
}

// samples counts the sample lines of a text exposition.
func samples(bodies []string) int {
	n := 0
	for _, body := range bodies {
		for _, l := range strings.Split(body, "\n") {
			if l != "" && l[0] != '#' {
				n++
			}
		}
	}
	return n
}

// quantile returns the q-quantile (nearest rank) of d.
func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func buildExporter(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "zookeeper_exporter")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/zookeeper_exporter")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build zookeeper_exporter: %v\n%s", err, out)
	}
	return bin
}

// waitUp waits until every URL of t answers 200.
func waitUp(b *testing.B, t *target) {
	b.Helper()
	for _, u := range t.urls {
		if err := zktest.WaitFor(30*time.Second, 50*time.Millisecond, func() error {
			_, err := get(u)
			return err
		}); err != nil {
			b.Fatalf("%s did not come up: %v", t.name, err)
		}
	}
}

// startTargets starts zookeeper_exporter and, when their binaries exist,
// the anchor exporters against ens, and waits until all of them answer.
func startTargets(b *testing.B, ens *zktest.Ensemble) []*target {
	addrs := ens.Addrs()
	n := len(addrs)
	// All listen addresses at once, so that they differ.
	listens := freeAddrs(b, n+2)
	var procs []*process
	ours := &target{name: "zkwatch"}
	var targets []*target
	{
		listen := listens[0]
		bin := buildExporter(b)
		procs = append(procs, startProcess(b, "zookeeper_exporter", bin, "--zookeeper.servers="+ens.Servers(),
			"--zookeeper.timeout=10s", "--web.listen-address="+listen,
			// Every measured scrape probes the ensemble.
			"--zookeeper.probe-reuse=0"))
		ours.urls = []string{"http://" + listen + "/metrics"}
		want := []string{fmt.Sprintf("zookeeper_ensemble_members_up %d\n", n), "zookeeper_ensemble_leaders 1\n", "zookeeper_znode_count{"}
		for _, a := range addrs {
			want = append(want, fmt.Sprintf("zookeeper_up{server=%q} 1\n", a))
		}
		ours.check = func(bodies []string) error { return containsAll(bodies[0], want...) }
		// The same collector through /probe, where the exporter adds no
		// go_/process_ metrics of its own.
		probe := &target{name: "zkwatch-probe", check: ours.check,
			urls: []string{"http://" + listen + "/probe?target=" + url.QueryEscape(ens.Servers())}}
		targets = append(targets, ours, probe)
	}

	dir := anchorsDir()
	dabealu := filepath.Join(dir, "dabealu_zookeeper_exporter")
	carlpett := filepath.Join(dir, "carlpett_zookeeper_exporter")
	_, errD := os.Stat(dabealu)
	_, errC := os.Stat(carlpett)
	if errD != nil || errC != nil {
		b.Logf("anchors: exporter binaries not found in %s (set %s): measuring zookeeper_exporter and the mntr floor only", dir, AnchorsEnv)
	} else {
		d := &target{name: "dabealu"}
		listen := listens[1]
		procs = append(procs, startProcess(b, "dabealu", dabealu, "-zk-hosts", ens.Servers(), "-listen", listen, "-timeout", "10"))
		d.urls = []string{"http://" + listen + "/metrics"}
		var dwant []string
		for _, a := range addrs {
			dwant = append(dwant, fmt.Sprintf("zk_up{zk_host=%q} 1\n", a))
		}
		dwant = append(dwant, "zk_znode_count{")
		d.check = func(bodies []string) error { return containsAll(bodies[0], dwant...) }

		c := &target{name: "carlpett"}
		for i, a := range addrs {
			listen := listens[2+i]
			procs = append(procs, startProcess(b, fmt.Sprintf("carlpett-%d", i+1), carlpett, "-zookeeper", a, "-bind-addr", listen, "-reset-on-scrape=false"))
			c.urls = append(c.urls, "http://"+listen+"/metrics")
		}
		c.check = func(bodies []string) error {
			for _, body := range bodies {
				if err := containsAll(body, "zk_up 1\n", "zk_znode_count "); err != nil {
					return err
				}
			}
			return nil
		}
		targets = append(targets, d, c)
	}
	for _, t := range targets {
		waitUp(b, t)
	}
	for _, p := range procs {
		p.running(b)
	}
	return targets
}

// startEnsemble starts a real ensemble, trying again when a start fails: on
// a busy machine another process may take one of the free ports chosen
// before ZooKeeper binds it, and one lost port should not cost the run.
func startEnsemble(b *testing.B, n int) *zktest.Ensemble {
	zktest.Require(b)
	const attempts = 3
	for i := 1; ; i++ {
		begin := time.Now()
		e, err := zktest.Launch(zktest.Options{Size: n, Dir: b.TempDir()})
		if err == nil {
			b.Cleanup(e.Stop)
			b.Logf("%d-member ensemble %s ready in %s", n, e.Servers(), time.Since(begin).Round(time.Millisecond))
			return e
		}
		if i == attempts {
			b.Fatalf("start %d-member ensemble (attempt %d of %d): %v", n, i, attempts, err)
		}
		b.Logf("start %d-member ensemble (attempt %d of %d): %.300v", n, i, attempts, err)
	}
}

// benchmarkSideBySide scrapes every exporter and sends bare four-letter
// words to the same ensemble, interleaved in a random order per round after warming
// the JVMs and the exporters, and reports medians and p99s in milliseconds.
// Besides the exporters it measures, to show where a scrape's time goes:
// zkwatch-probe (the same exporter's /probe of the whole ensemble: no
// go_/process_ metrics), zkwatch-inproc (our collector scraped in this
// process, no HTTP server),
// mntr+srvr-max (the two words our collector sends to each member, all at
// once) and mntr-max (mntr alone: the floor).
func benchmarkSideBySide(b *testing.B, members int) {
	ens := startEnsemble(b, members)
	addrs := ens.Addrs()
	targets := startTargets(b, ens)
	floor := &target{name: "mntr-max", measure: func() (time.Duration, error) { return fourlwRound(addrs, "mntr") }}
	both := &target{name: "mntr+srvr-max", measure: func() (time.Duration, error) { return fourlwRound(addrs, "mntr", "srvr") }}
	targets = append(targets, inProcess(b, addrs), both, floor)

	// Each round scrapes the targets in a new random order (fixed seed):
	// no target always follows the same one, such as zkwatch's /probe the
	// /metrics of the same, just woken, process.
	rng := rand.New(rand.NewPCG(1, 2))
	order := make([]int, len(targets))
	run := func(rounds int) {
		for r := 0; r < rounds; r++ {
			for i := range order {
				order[i] = i
			}
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			for _, k := range order {
				if err := targets[k].round(); err != nil {
					b.Fatalf("round %d: %v", r, err)
				}
				// Let the exporter just measured finish what it does after
				// answering (closing connections, zkwatch opening its next
				// ones) before the next one is measured: scrapes of
				// different exporters do not follow each other within
				// microseconds in production.
				time.Sleep(settle)
			}
		}
	}
	run(warmupRounds)
	for _, t := range targets {
		t.times = nil
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run(measuredRounds)
	}
	b.StopTimer()

	base, base2 := quantile(floor.times, 0.5), quantile(both.times, 0.5)
	for _, t := range targets {
		med := quantile(t.times, 0.5)
		b.ReportMetric(ms(med), t.name+"-ms")
		b.ReportMetric(ms(quantile(t.times, 0.99)), t.name+"-p99-ms")
		if t.last != nil {
			b.ReportMetric(float64(samples(t.last)), t.name+"-samples")
		}
		if t != floor && base > 0 {
			b.ReportMetric(float64(med)/float64(base), t.name+"/mntr")
		}
		// Against what zkwatch's collector must ask every member.
		if t != floor && t != both && base2 > 0 {
			b.ReportMetric(float64(med)/float64(base2), t.name+"/mntr+srvr")
		}
	}
}

func BenchmarkSideBySide3Members(b *testing.B) { benchmarkSideBySide(b, 3) }
func BenchmarkSideBySide5Members(b *testing.B) { benchmarkSideBySide(b, 5) }
