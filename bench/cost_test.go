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
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/collector"
	"github.com/zkwatch/zkwatch/internal/fourlw"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

// What an exporter costs ZooKeeper: a fixed read/write load runs against a
// real 3-member ensemble, alone ("off") or while one exporter set-up is
// scraped every 1 s or 15 s; the runs of a repetition are interleaved
// (off, half the conditions in a random order, off, the other half) and
// every condition is compared with the off runs of its own repetition.
// Before the load runs, the members' own logs and mntr counters tell what
// each set-up asks of the servers per scrape.
const (
	CostRunEnv  = "ZKWATCH_COST_RUN"  // length of one measured run, default 15s
	CostRepsEnv = "ZKWATCH_COST_REPS" // repetitions, default 5
	CostRateEnv = "ZKWATCH_COST_RATE" // offered operations per second, default 2000

	costReadShare      = 0.7
	costKeys           = 64
	costWorkers        = 64
	costConnsPerMember = 2
	costCountScrapes   = 30
	costWarmup         = 30 * time.Second
	costCountGap       = 600 * time.Millisecond
	costBurst          = 2 * time.Second // scrapes back to back, for the members' CPU per scrape
	costBursts         = 5
	costRoot           = "/zkwatch-cost"
	costWatchRoot      = "/zkwatch-cost-watch"
)

// costLogFlags make the members log every four-letter word they serve and
// every session they establish (INFO lines of these two classes only).
var costLogFlags = []string{
	"-Dorg.slf4j.simpleLogger.log.org.apache.zookeeper.server.NIOServerCnxn=info",
	"-Dorg.slf4j.simpleLogger.log.org.apache.zookeeper.server.ZooKeeperServer=info",
}

func envOr[T any](b *testing.B, name string, def T, parse func(string) (T, error)) T {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := parse(s)
	if err != nil {
		b.Fatalf("%s=%q: %v", name, s, err)
	}
	return v
}

// loadGen offers rate operations per second (costReadShare reads, the rest
// writes of 128 bytes) over costConnsPerMember sessions per member. An
// operation that finds no free worker is counted as missed, so that an
// overloaded ensemble shows as lower throughput.
type loadGen struct {
	conns []*zk.Conn
	paths []string
	data  []byte
	rate  float64
}

type loadResult struct {
	ops, errs, missed int
	lat               []time.Duration
	elapsed           time.Duration
}

type nopZKLogger struct{}

func (nopZKLogger) Printf(string, ...any) {}

func newLoadGen(b *testing.B, ens *zktest.Ensemble, rate float64) *loadGen {
	g := &loadGen{data: make([]byte, 128), rate: rate}
	for range costConnsPerMember {
		for _, a := range ens.Addrs() {
			c, _, err := zk.Connect([]string{a}, 4*time.Second, zk.WithLogInfo(false), zk.WithLogger(nopZKLogger{}))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(c.Close)
			g.conns = append(g.conns, c)
		}
	}
	for _, c := range g.conns {
		if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error {
			if c.State() != zk.StateHasSession {
				return fmt.Errorf("session state %v", c.State())
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	mustCreate(b, g.conns[0], costRoot, nil)
	for i := range costKeys {
		p := fmt.Sprintf("%s/k-%d", costRoot, i)
		mustCreate(b, g.conns[0], p, g.data)
		g.paths = append(g.paths, p)
	}
	return g
}

func mustCreate(b *testing.B, c *zk.Conn, path string, data []byte) {
	if _, err := c.Create(path, data, 0, zk.WorldACL(zk.PermAll)); err != nil && err != zk.ErrNodeExists {
		b.Fatalf("create %s: %v", path, err)
	}
}

func (g *loadGen) worker(w int, tokens <-chan struct{}, res *loadResult) {
	rng := rand.New(rand.NewPCG(uint64(w), 7))
	c := g.conns[w%len(g.conns)]
	for range tokens {
		p := g.paths[rng.IntN(len(g.paths))]
		t0 := time.Now()
		var err error
		if rng.Float64() < costReadShare {
			_, _, err = c.Get(p)
		} else {
			_, err = c.Set(p, g.data, -1)
		}
		res.lat = append(res.lat, time.Since(t0))
		if err != nil {
			res.errs++
		} else {
			res.ops++
		}
	}
}

// run offers the load for d and returns what completed.
func (g *loadGen) run(d time.Duration) loadResult {
	tokens := make(chan struct{}, costWorkers)
	parts := make([]loadResult, costWorkers)
	var wg sync.WaitGroup
	for w := range costWorkers {
		wg.Add(1)
		go func() { defer wg.Done(); g.worker(w, tokens, &parts[w]) }()
	}
	var out loadResult
	start := time.Now()
	tick := time.NewTicker(time.Millisecond)
	for issued := 0; ; {
		now := <-tick.C
		el := now.Sub(start)
		if el >= d {
			break
		}
		// Catch up on coalesced ticks: the offered rate is kept on average.
		for due := int(el.Seconds() * g.rate); issued < due; issued++ {
			select {
			case tokens <- struct{}{}:
			default:
				out.missed++
			}
		}
	}
	tick.Stop()
	close(tokens)
	wg.Wait()
	out.elapsed = time.Since(start)
	for _, p := range parts {
		out.ops, out.errs = out.ops+p.ops, out.errs+p.errs
		out.lat = append(out.lat, p.lat...)
	}
	return out
}

// costSetup is one exporter set-up; start returns its /metrics URL and a
// function that stops it.
type costSetup struct {
	name  string
	want  string // a line every answer carries
	start func(b *testing.B, listen string) *process
}

func costSetups(b *testing.B, ens *zktest.Ensemble, watchFile string) []*costSetup {
	bin := buildExporter(b)
	// No probe reuse, so that back-to-back scrapes (burstCPU) each probe
	// the ensemble; at 1 s and 15 s the 500 ms default never applies.
	base := []string{"--zookeeper.servers=" + ens.Servers(), "--zookeeper.timeout=10s", "--zookeeper.probe-reuse=0"}
	all := append([]string{"--watch.config.file=" + watchFile}, base...)
	for _, n := range collector.Names() {
		all = append(all, "--collector."+n)
	}
	ours := func(name string, args []string) *costSetup {
		return &costSetup{name: name, want: "zookeeper_ensemble_members_up 3\n",
			start: func(b *testing.B, listen string) *process {
				return startProcess(b, name, bin, append([]string{"--web.listen-address=" + listen}, args...)...)
			}}
	}
	setups := []*costSetup{
		ours("zkwatch-ensemble", append([]string{"--collector.disable-defaults", "--collector.ensemble"}, base...)),
		ours("zkwatch-all", all),
	}
	dabealu := filepath.Join(anchorsDir(), "dabealu_zookeeper_exporter")
	if _, err := os.Stat(dabealu); err != nil {
		b.Logf("anchors: %s not found (set %s): measuring zookeeper_exporter only", dabealu, AnchorsEnv)
		return setups
	}
	return append(setups, &costSetup{name: "dabealu", want: "zk_up{",
		start: func(b *testing.B, listen string) *process {
			return startProcess(b, "dabealu", dabealu, "-zk-hosts", ens.Servers(), "-listen", listen, "-timeout", "10")
		}})
}

// launch starts s and waits until it answers with ZooKeeper metrics; the
// returned function stops it.
func (s *costSetup) launch(b *testing.B) (string, func()) {
	listen := freeAddrs(b, 1)[0]
	p := s.start(b, listen)
	url := "http://" + listen + "/metrics"
	if err := zktest.WaitFor(30*time.Second, 50*time.Millisecond, func() error { return s.scrape(url) }); err != nil {
		p.running(b)
		b.Fatalf("%s did not come up: %v", s.name, err)
	}
	return url, func() { _ = p.cmd.Process.Kill(); <-p.done }
}

func (s *costSetup) scrape(url string) error {
	body, err := gzipGet(url)
	if err == nil && !strings.Contains(body, s.want) {
		err = fmt.Errorf("answer lacks %q; it begins:\n%.500s", s.want, body)
	}
	return err
}

// writeWatchConfig creates znodes for every kind of watch and a watch
// config file following them, for the all-collectors set-up.
func writeWatchConfig(b *testing.B, c *zk.Conn) string {
	for _, p := range []string{"", "/group", "/jobs", "/lock", "/election", "/config", "/queue"} {
		mustCreate(b, c, costWatchRoot+p, []byte("x"))
	}
	for i := range 3 {
		mustCreate(b, c, fmt.Sprintf("%s/group/m-%d", costWatchRoot, i), []byte("x"))
	}
	conf := fmt.Sprintf("groups:\n  - path: %[1]s/group\ntasks:\n  - root: %[1]s/jobs\nlocks:\n  - path: %[1]s/lock\n"+
		"elections:\n  - path: %[1]s/election\nznodes:\n  - path: %[1]s/config\nqueues:\n  - path: %[1]s/queue\n", costWatchRoot)
	f := filepath.Join(b.TempDir(), "watch.yml")
	if err := os.WriteFile(f, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	return f
}

func loadAvg1() float64 {
	data, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func serverCPU(b *testing.B, ens *zktest.Ensemble) float64 {
	var total time.Duration
	for i := range ens.Members {
		d, err := ens.CPUTime(i)
		if err != nil {
			b.Fatal(err)
		}
		total += d
	}
	return total.Seconds()
}

// costCond is a set-up scraped at an interval; a nil setup is "off".
type costCond struct {
	setup    *costSetup
	interval time.Duration
}

func (c costCond) String() string {
	if c.setup == nil {
		return "off"
	}
	return fmt.Sprintf("%s@%s", c.setup.name, c.interval)
}

// measureRun offers the load for d while c's exporter (if any) is scraped
// every c.interval, the first scrape at the start.
func measureRun(b *testing.B, ens *zktest.Ensemble, g *loadGen, c costCond, rep int, d time.Duration) costRun {
	r := costRun{rep: rep, cond: c.String()}
	var url string
	if c.setup != nil {
		var stop func()
		url, stop = c.setup.launch(b)
		defer stop()
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	if url != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Scrapes at 0, interval, 2×interval, ... before d: d/interval
			// of them, the rate of the interval (no extra one at the end).
			start := time.Now()
			for k := 0; time.Duration(k)*c.interval < d; k++ {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(start.Add(time.Duration(k) * c.interval))):
				}
				if err := c.setup.scrape(url); err != nil {
					r.errs++
					b.Logf("%s: scrape: %v", r.cond, err)
				}
				r.scrapes++
			}
		}()
	}
	r.load1 = loadAvg1()
	cpu0 := serverCPU(b, ens)
	res := g.run(d)
	r.srvCPU = serverCPU(b, ens) - cpu0
	cancel()
	wg.Wait()
	r.tput = float64(res.ops) / res.elapsed.Seconds()
	r.p99 = ms(quantile(res.lat, 0.99))
	r.errs += res.errs
	if !testing.Verbose() {
		return r
	}
	b.Logf("rep %d %-26s %7.0f ops/s p50 %5.2f ms p99 %6.2f ms server cpu %5.2f s missed %d errors %d scrapes %d load %.1f",
		rep, r.cond, r.tput, ms(quantile(res.lat, 0.5)), r.p99, r.srvCPU, res.missed, r.errs, r.scrapes, r.load1)
	return r
}

// mntrTotals sums zk_packets_received and zk_num_alive_connections over
// the members.
func mntrTotals(b *testing.B, ens *zktest.Ensemble) (packets, conns float64) {
	for _, a := range ens.Addrs() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := fourlw.Do(ctx, a, "mntr", 0)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		p, err1 := mntrValue(out, "zk_packets_received")
		c, err2 := mntrValue(out, "zk_num_alive_connections")
		if err1 != nil || err2 != nil {
			b.Fatalf("%s: %v %v", a, err1, err2)
		}
		packets, conns = packets+p, conns+c
	}
	return packets, conns
}

// serverCount is what the members saw in costCountScrapes gaps with no
// load: of one set-up scraped after each gap, or of nothing.
type serverCount struct {
	tally   serverTally // the words and connections of the exporter
	packets float64     // zk_packets_received per second (session requests)
	cpu     float64     // CPU seconds of all members per second
	held    float64     // connections the exporter keeps open between scrapes
	// cpuPerScrape is the members' CPU milliseconds per scrape (burstCPU).
	cpuPerScrape float64
}

// countWindow calls scrape (if any) after each of costCountScrapes gaps
// of costCountGap, and reads the members' logs and mntr
// counters around the calls. Its own two mntr rounds fall in the window
// and are taken off.
func countWindow(b *testing.B, ens *zktest.Ensemble, scrape func() error) serverCount {
	before := splitMemberLogs(ens.LogTail(1 << 30))
	p0, _ := mntrTotals(b, ens)
	cpu0 := serverCPU(b, ens)
	for range costCountScrapes {
		time.Sleep(costCountGap)
		if scrape == nil {
			continue
		}
		if err := scrape(); err != nil {
			b.Fatal(err)
		}
	}
	cpu1 := serverCPU(b, ens)
	p1, _ := mntrTotals(b, ens)
	own := 2 * len(ens.Members)
	var t serverTally
	// Each member logs a word before answering it; wait until our last
	// mntr round shows, so that every earlier line is there too.
	if err := zktest.WaitFor(10*time.Second, 20*time.Millisecond, func() error {
		t = tallyServerLog(logWindow(before, splitMemberLogs(ens.LogTail(1<<30))))
		if t.words["mntr"] < own {
			return fmt.Errorf("%d mntr lines logged, want at least %d", t.words["mntr"], own)
		}
		return nil
	}); err != nil {
		b.Fatalf("%v (were the members started with costLogFlags?)", err)
	}
	t.words["mntr"] -= own
	t.conns -= own
	return serverCount{tally: t, packets: (p1 - p0) / costCountScrapes, cpu: (cpu1 - cpu0) / costCountScrapes}
}

// countPerScrape measures s's scrapes with countWindow against a window
// of the same length without any exporter just before it. Warm-up scrapes
// set up what the exporter keeps (sessions, watches) and warm the members'
// code paths for its commands.
func countPerScrape(b *testing.B, ens *zktest.Ensemble, s *costSetup) (c, base serverCount) {
	base = countWindow(b, ens, nil)
	// After the baseline window: by then the members have seen the
	// connections of the set-up measured before this one close.
	_, conns0 := mntrTotals(b, ens)
	url, stop := s.launch(b)
	defer stop()
	for range 5 {
		if err := s.scrape(url); err != nil {
			b.Fatal(err)
		}
		time.Sleep(costCountGap)
	}
	c = countWindow(b, ens, func() error { return s.scrape(url) })
	_, conns1 := mntrTotals(b, ens)
	c.held = conns1 - conns0
	c.cpuPerScrape = burstCPU(b, ens, func() error { return s.scrape(url) })
	return c, base
}

// burstCPU is the members' CPU milliseconds per scrape: scrapes back to
// back for costBurst against a window as long without scrapes just before,
// costBursts times, the median. Back to back, the scrapes' cost stands far
// above the members' own idle CPU (ticks, the load generator's idle
// sessions), which at one scrape per costCountGap swamped it.
func burstCPU(b *testing.B, ens *zktest.Ensemble, scrape func() error) float64 {
	per := make([]float64, costBursts)
	for i := range per {
		idle0, t0 := serverCPU(b, ens), time.Now()
		time.Sleep(costBurst)
		idle1, t1 := serverCPU(b, ens), time.Now()
		n := 0
		for time.Since(t1) < costBurst {
			if err := scrape(); err != nil {
				b.Fatal(err)
			}
			n++
		}
		busy, t2 := serverCPU(b, ens), time.Now()
		idleRate := (idle1 - idle0) / t1.Sub(t0).Seconds()
		per[i] = ((busy - idle1) - idleRate*t2.Sub(t1).Seconds()) * 1000 / float64(n)
	}
	return median(per)
}

// reportCounts reports what each set-up costs the members per scrape:
// packets net of the baseline (the load generator's idle sessions ping,
// the members talk to each other) and CPU time (burstCPU), and returns it as lines
// for the log with the members' CPU milliseconds per scrape of each.
func reportCounts(b *testing.B, ens *zktest.Ensemble, setups []*costSetup) []setupCount {
	// Measured twice, in the set-ups' order and in reverse, so that the
	// members warming to four-letter words is not charged to whichever
	// set-up comes first; the counts are those of the first pass, the
	// CPU time the mean of both.
	counts := make([]serverCount, len(setups))
	cpus := make([]float64, len(setups))
	for pass := range 2 {
		for i := range setups {
			k := i
			if pass == 1 {
				k = len(setups) - 1 - i
			}
			c, base := countPerScrape(b, ens, setups[k])
			cpus[k] += c.cpuPerScrape / 2
			c.packets -= base.packets
			if pass == 0 {
				counts[k] = c
			}
		}
	}
	var lines []setupCount
	for k, s := range setups {
		c := counts[k]
		n := 0
		for _, v := range c.tally.words {
			n += v
		}
		per := func(v int) float64 { return float64(v) / costCountScrapes }
		pkts, cpu := c.packets, cpus[k]
		words := map[string]float64{}
		for w, v := range c.tally.words {
			words[w] = per(v)
		}
		lines = append(lines, setupCount{name: s.name, cpu: cpu, words: words, text: fmt.Sprintf("%s per scrape, no load: commands %.3g (%s), connections opened %.3g, sessions opened %.3g, "+
			"packets received %.3g, server CPU %.1f ms; connections held %.0f",
			s.name, per(n), formatWords(c.tally.words, costCountScrapes), per(c.tally.conns), per(c.tally.sessions),
			pkts, cpu, c.held)})
		b.ReportMetric(per(n), s.name+"-cmds/scrape")
		b.ReportMetric(per(c.tally.conns), s.name+"-conns/scrape")
		b.ReportMetric(pkts, s.name+"-packets/scrape")
		b.ReportMetric(cpu, s.name+"-server-cpu-ms/scrape")
		b.ReportMetric(c.held, s.name+"-held-conns")
	}
	return lines
}

// setupCount is one set-up's per-scrape counts: a log line, the members'
// CPU milliseconds per scrape without load, and its words per scrape.
type setupCount struct {
	name, text string
	cpu        float64
	words      map[string]float64
}

// wordCostsUnderLoad is the members' CPU milliseconds per four-letter word
// and member (burstCPU of the word sent to every member) while the load
// runs: mntr computes its summaries over reservoirs the load fills, so
// under load it costs several times what it costs an idle ensemble.
func wordCostsUnderLoad(b *testing.B, ens *zktest.Ensemble, g *loadGen, counts []setupCount) map[string]float64 {
	words := map[string]bool{}
	for _, c := range counts {
		for w, n := range c.words {
			words[w] = words[w] || n > 0
		}
	}
	// One warm-up burst, then every word; a fifth more load than needed.
	d := time.Duration(len(words)+1) * costBursts * 2 * costBurst * 6 / 5
	done := make(chan struct{})
	go func() { g.run(d); close(done) }()
	defer func() { <-done }()
	ask := func(w string) func() error {
		return func() error {
			for _, a := range ens.Addrs() {
				if _, err := fourlw.Do(context.Background(), a, w, 0); err != nil {
					return err
				}
			}
			return nil
		}
	}
	burstCPU(b, ens, ask("mntr"))
	costs := map[string]float64{}
	for w, used := range words {
		if used {
			costs[w] = burstCPU(b, ens, ask(w)) / float64(len(ens.Members))
			b.ReportMetric(costs[w], w+"-server-cpu-ms/member-under-load")
		}
	}
	return costs
}

// BenchmarkExporterCostToZooKeeper measures what scraping an exporter
// costs a loaded 3-member ensemble: throughput, p99 latency and the
// members' CPU time against runs without any exporter, and the commands,
// connections and packets per scrape the members see (see above).
func BenchmarkExporterCostToZooKeeper(b *testing.B) {
	zktest.Require(b)
	runLen := envOr(b, CostRunEnv, 15*time.Second, time.ParseDuration)
	reps := envOr(b, CostRepsEnv, 5, strconv.Atoi)
	rate := envOr(b, CostRateEnv, 2000.0, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
	ens, err := zktest.Launch(zktest.Options{Size: 3, Dir: b.TempDir(), JVMFlags: costLogFlags})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(ens.Stop)
	g := newLoadGen(b, ens, rate)
	setups := costSetups(b, ens, writeWatchConfig(b, g.conns[0]))
	counts := reportCounts(b, ens, setups)

	var conds []costCond
	for _, iv := range []time.Duration{time.Second, 15 * time.Second} {
		for _, s := range setups {
			conds = append(conds, costCond{s, iv})
		}
	}
	names := make([]string, len(conds))
	byName := map[string]costCond{"off": {}}
	for i, c := range conds {
		names[i] = c.String()
		byName[names[i]] = c
	}
	// Warm-up (JIT, sessions): after 5 s of it, the first off run still
	// missed a tenth of its operations and the members' CPU time per run
	// kept falling for a repetition.
	measureRun(b, ens, g, costCond{}, 0, costWarmup)
	rng := rand.New(rand.NewPCG(5, 6))
	var runs []costRun
	b.ResetTimer()
	for rep := 1; rep <= reps*b.N; rep++ {
		for _, name := range costOrder(names, rng.Perm(len(names))) {
			runs = append(runs, measureRun(b, ens, g, byName[name], rep, runLen))
		}
	}
	wordCosts := wordCostsUnderLoad(b, ens, g, counts)
	b.StopTimer()
	reportCost(b, runs, counts, wordCosts, runLen)
}

// reportCost logs the summary and the per-scrape counts (at most ten
// lines: go test shows no more of a benchmark's log without -v) and
// reports the summary as metrics. Below the noise, each set-up's cost is
// also put in the members' own currency: its words per scrape, each at its
// CPU cost under load, against the CPU time per second the members spend
// serving the load in the runs without exporter, i.e. the share of that
// work one scrape per second adds.
func reportCost(b *testing.B, runs []costRun, counts []setupCount, wordCosts map[string]float64, runLen time.Duration) {
	changes, noise, err := summarizeCost(runs)
	if err != nil {
		b.Fatal(err)
	}
	var loads []float64
	tputs, p99s := map[string][]float64{}, map[string][]float64{}
	errs := 0
	for _, r := range runs {
		tputs[r.cond], p99s[r.cond] = append(tputs[r.cond], r.tput), append(p99s[r.cond], r.p99)
		loads = append(loads, r.load1)
		errs += r.errs
	}
	offT, offP := tputs["off"], p99s["off"]
	lo, hi := extremes(loads)
	b.Logf("off: %.0f ops/s, p99 %.2f ms (medians of %d runs); noise (off vs off, largest of a repetition): throughput ±%.2f%%, "+
		"p99 ±%.1f%%, server CPU ±%.1f%%; load average %.1f (%.1f–%.1f); errors %d",
		median(offT), median(offP), len(offT), noise.tput, noise.p99, noise.cpu, median(loads), lo, hi, errs)
	b.ReportMetric(median(offT), "off-ops/s")
	b.ReportMetric(median(offP), "off-p99-ms")
	b.ReportMetric(noise.tput, "noise-tput-%")
	b.ReportMetric(noise.p99, "noise-p99-%")
	b.ReportMetric(noise.cpu, "noise-cpu-%")
	b.ReportMetric(median(loads), "load1")
	b.ReportMetric(float64(errs), "errors")
	for _, c := range changes {
		b.Logf("%-26s %5.0f ops/s, p99 %6.2f ms; against off: throughput %+6.2f%% (%+.2f…%+.2f)  p99 %+6.1f%% (%+.1f…%+.1f)  server CPU %+6.1f%% (%+.1f…%+.1f)  [%d reps]",
			c.cond, median(tputs[c.cond]), median(p99s[c.cond]), c.tput, c.tputLo, c.tputHi, c.p99, c.p99Lo, c.p99Hi, c.cpu, c.cpuLo, c.cpuHi, c.reps)
		b.ReportMetric(c.tput, c.cond+"-tput-%")
		b.ReportMetric(c.p99, c.cond+"-p99-%")
		b.ReportMetric(c.cpu, c.cond+"-cpu-%")
	}
	var offCPU []float64
	for _, r := range runs {
		if r.cond == "off" {
			offCPU = append(offCPU, r.srvCPU/runLen.Seconds())
		}
	}
	loadCPU := median(offCPU) * 1000 // ms of members' CPU per second of load
	b.ReportMetric(loadCPU, "off-server-cpu-ms/s")
	for _, c := range counts {
		loaded := 0.0
		for w, n := range c.words {
			loaded += n * wordCosts[w]
		}
		share := 100 * loaded / loadCPU
		b.Logf("%s; under load %.1f ms = %.2f%% of the members' CPU serving it (%.0f ms/s) at one scrape per second", c.text, loaded, share, loadCPU)
		b.ReportMetric(loaded, c.name+"-server-cpu-ms/scrape-under-load")
		b.ReportMetric(share, c.name+"-server-cpu-share-at-1s-%")
	}
}
