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

package mixin_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// The live test's Prometheus scrapes every second, so Grafana (whose
// $__rate_interval is at least four scrape intervals) would use 4s.
const (
	liveScrapeInterval = time.Second
	liveRateInterval   = "4s"
)

// healthyWatchConfig watches one path of every kind, each healthy: a
// registered member, a task claimed by a live worker, a held lock, an
// election with a leader, a configuration znode and a queue.
const healthyWatchConfig = `groups:
  - path: /monitor/app
    expected: [m1]
tasks:
  - root: /work
locks:
  - path: /locks/a
elections:
  - path: /election/x
znodes:
  - path: /config/app
queues:
  - path: /queue/jobs
`

// seedHealthy creates what healthyWatchConfig watches, with ephemerals
// held by conn.
func seedHealthy(t *testing.T, conn *zk.Conn) {
	mustCreate(t, conn, "/monitor/app/m1", `{"host":"h1","ip":"127.0.0.1"}`, zk.FlagEphemeral)
	mustCreate(t, conn, "/work/Workers/w1", "", zk.FlagEphemeral)
	mustCreate(t, conn, "/work/Tasks/t1", "w1", 0)
	mustCreate(t, conn, "/locks/a/lock-", "", zk.FlagEphemeral|zk.FlagSequence)
	mustCreate(t, conn, "/election/x/latch-", "", zk.FlagEphemeral|zk.FlagSequence)
	mustCreate(t, conn, "/config/app", "v1", 0)
	mustCreate(t, conn, "/queue/jobs/item-", "", zk.FlagSequence)
}

// startPrometheus runs the real Prometheus with the mixin's recording
// rules, scraping targets every liveScrapeInterval as job "zookeeper",
// until the test ends, and returns its URL.
func startPrometheus(t *testing.T, targets ...string) string {
	t.Helper()
	bin := requireTool(t, "prometheus")
	dir := t.TempDir()
	rules, err := filepath.Abs(repoPath("alerts", "zookeeper-rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	quoted := make([]string, len(targets))
	for i, tg := range targets {
		quoted[i] = strconv.Quote(tg)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: %s
  scrape_timeout: 900ms
  evaluation_interval: %s
rule_files: [%q]
scrape_configs:
  - job_name: zookeeper
    static_configs:
      - targets: [%s]
`, liveScrapeInterval, liveScrapeInterval, rules, strings.Join(quoted, ", "))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ports, err := zktest.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	listen := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	var logs strings.Builder
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+listen)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("prometheus log:\n%s", logs.String())
		}
	})
	return "http://" + listen
}

// promResult is one series of a Prometheus query answer.
type promResult struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
	Values [][2]any          `json:"values"`
}

// promQuery runs an instant query at now, or a range query over the last
// rangeFor at step liveScrapeInterval, through the HTTP API.
func promQuery(prom, expr string, rangeFor time.Duration) ([]promResult, error) {
	q := url.Values{"query": {expr}}
	path := "/api/v1/query"
	if rangeFor > 0 {
		now := time.Now()
		path = "/api/v1/query_range"
		q.Set("start", strconv.FormatInt(now.Add(-rangeFor).Unix(), 10))
		q.Set("end", strconv.FormatInt(now.Unix(), 10))
		q.Set("step", liveScrapeInterval.String())
	}
	resp, err := http.Get(prom + path + "?" + q.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []promResult `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("%s: %w", expr, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("%s: %s", expr, body.Error)
	}
	return body.Data.Result, nil
}

// values are the numbers of a query answer ("NaN", "+Inf" included).
func (r promResult) values() []string {
	var out []string
	if r.Value[1] != nil {
		out = append(out, fmt.Sprint(r.Value[1]))
	}
	for _, v := range r.Values {
		out = append(out, fmt.Sprint(v[1]))
	}
	return out
}

// liveIntervals are Grafana's interval variables for a dashboard over the
// last few minutes at liveScrapeInterval.
var liveIntervals = strings.NewReplacer(
	"${__rate_interval}", liveRateInterval, "$__rate_interval", liveRateInterval,
	"${__interval}", liveScrapeInterval.String(), "$__interval", liveScrapeInterval.String())

// grafanaSubstitute fills a query in as Grafana does with every variable at
// its default "All" (allValue .+).
func grafanaSubstitute(expr string) string {
	return substituteVariables(liveIntervals.Replace(expr))
}

// panelsWithoutDataWhenIdle are the panels a healthy idle ensemble leaves
// empty, with the reason; every other panel of the ensemble and processes
// dashboards must show data.
var panelsWithoutDataWhenIdle = map[string]string{
	"zookeeper-ensemble.json/Heap used":             "needs ZooKeeper's Prometheus metrics provider, which the Debian build lacks",
	"zookeeper-ensemble.json/GC time":               "needs ZooKeeper's Prometheus metrics provider, which the Debian build lacks",
	"zookeeper-ensemble.json/Average fsync time":    "no write, so no fsync to average",
	"zookeeper-ensemble.json/Average snapshot time": "no snapshot since Prometheus started",
	"zookeeper-ensemble.json/Average election time": "no election since Prometheus started",
}

// TestDashboardsOnLiveEnsemble starts a real 3-member ensemble, the real
// exporter watching one healthy path of every kind and the real Prometheus
// with the mixin's recording rules, lets the ensemble sit idle while
// Prometheus scrapes it, then evaluates every panel's queries through
// Prometheus' HTTP API as Grafana would (variables at "All"; tables as
// instant queries, graphs over the whole scrape). No query may fail or
// return NaN or an infinity; the Servers table shows each member's role.
func TestDashboardsOnLiveEnsemble(t *testing.T) {
	requireTool(t, "prometheus")
	ens := zktest.Start(t, 3)
	if err := ens.WaitHealthy(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	conn, _, err := zk.Connect(ens.Addrs(), 4*time.Second, zk.WithLogInfo(false), zk.WithLogger(nopZKLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	seedHealthy(t, conn)
	cfg := filepath.Join(t.TempDir(), "watch.yml")
	if err := os.WriteFile(cfg, []byte(healthyWatchConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	// The connections collector feeds the top clients table.
	exporter := startExporter(t, buildExporter(t), ens.Servers(), cfg, "--collector.connections")
	// Every write (and so every fsync) happens before Prometheus starts:
	// the seeding above and the exporter's session and watches.
	if err := zktest.WaitFor(60*time.Second, 200*time.Millisecond, func() error { return allSynced(exporter, 6) }); err != nil {
		t.Fatal(err)
	}
	prom := startPrometheus(t, strings.TrimSuffix(strings.TrimPrefix(exporter, "http://"), "/metrics"))
	started := time.Now()
	if err := zktest.WaitFor(90*time.Second, 500*time.Millisecond, func() error { return scrapedEnough(prom) }); err != nil {
		t.Fatal(err)
	}
	scraped := time.Since(started)
	t.Logf("Prometheus scraped the idle ensemble for %v", scraped.Round(time.Second))

	withData, empty := 0, []string{}
	for file, d := range loadDashboards(t) {
		for _, p := range allPanels(d.Panels) {
			if p.Type == "row" {
				continue
			}
			key := file + "/" + p.Title
			n, err := evalPanelLive(prom, p, scraped)
			if err != nil {
				t.Errorf("%s: %v", key, err)
				continue
			}
			_, allowed := panelsWithoutDataWhenIdle[key]
			switch {
			case n > 0:
				withData++
			case allowed || receiverOrAgent(p):
				empty = append(empty, key)
			default:
				t.Errorf("%s: no data on a healthy ensemble", key)
			}
		}
	}
	sort.Strings(empty)
	t.Logf("%d panels show data; without data (allowed): %s", withData, strings.Join(empty, ", "))
	checkServersTable(t, prom)
}

// receiverOrAgent tells the panels of zkwatch_receiver and zkwatch_agent,
// which this test does not run.
func receiverOrAgent(p panel) bool {
	for _, tg := range p.Targets {
		if strings.Contains(tg.Expr, "$receiver_job") || strings.Contains(tg.Expr, "$agent_job") {
			return true
		}
	}
	return false
}

// allSynced succeeds once the exporter reports want watched paths, all synced.
func allSynced(metricsURL string, want int) error {
	page, err := fetch(metricsURL)
	if err != nil {
		return err
	}
	synced := 0
	for _, line := range strings.Split(page, "\n") {
		if strings.HasPrefix(line, "zookeeper_watch_synced{") {
			if !strings.HasSuffix(line, " 1") {
				return fmt.Errorf("not synced: %s", line)
			}
			synced++
		}
	}
	if synced != want {
		return fmt.Errorf("%d of %d watched paths synced", synced, want)
	}
	return nil
}

// scrapedEnough succeeds once Prometheus holds a minute's worth of scrapes
// of all three members and has evaluated the recording rules on them.
func scrapedEnough(prom string) error {
	for expr, want := range map[string]float64{
		`min(count_over_time(zookeeper_up[1m]))`:              30,
		`count(server:zookeeper_file_descriptors:ratio)`:      3,
		`count(ensemble:zookeeper_leader_changes:increase1h)`: 1,
		`count(zookeeper_server_state{state="leader"} == 1)`:  1,
	} {
		res, err := promQuery(prom, expr, 0)
		if err != nil {
			return err
		}
		if len(res) == 0 {
			return fmt.Errorf("%s: no answer yet", expr)
		}
		if v, _ := strconv.ParseFloat(fmt.Sprint(res[0].Value[1]), 64); v < want {
			return fmt.Errorf("%s = %v, want %v", expr, v, want)
		}
	}
	return nil
}

// evalPanelLive runs a panel's queries, tables as instant queries and the
// rest over the last rangeFor, and returns how many series they gave; a
// failing query, NaN or an infinity is an error.
func evalPanelLive(prom string, p panel, rangeFor time.Duration) (int, error) {
	n := 0
	for _, tg := range p.Targets {
		r := rangeFor
		if tg.Instant {
			r = 0
		}
		res, err := promQuery(prom, grafanaSubstitute(tg.Expr), r)
		if err != nil {
			return n, err
		}
		for _, s := range res {
			for _, v := range s.values() {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
					return n, fmt.Errorf("%s gives %s for %v", tg.Expr, v, s.Metric)
				}
			}
		}
		n += len(res)
		if p.Type == "table" {
			if err := liveColumns(p, tg, res); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// liveColumns checks the columns a table query really makes: each label
// of its answer and its value are renamed or hidden.
func liveColumns(p panel, tg target, res []promResult) error {
	exclude, rename, _ := organize(p)
	for _, s := range res {
		cols := []string{valueName(p, tg.RefID)}
		for l := range s.Metric {
			cols = append(cols, l)
		}
		for _, c := range cols {
			if !exclude[c] && rename[c] == "" {
				return fmt.Errorf("%s: column %q would show unnamed", tg.Expr, c)
			}
		}
	}
	return nil
}

// checkServersTable wants the Servers table to name each member's role:
// one leader and two followers.
func checkServersTable(t *testing.T, prom string) {
	t.Helper()
	d := loadDashboards(t)["zookeeper-ensemble.json"]
	for _, p := range allPanels(d.Panels) {
		if p.Type != "table" || p.Title != "Servers" {
			continue
		}
		_, rename, _ := organize(p)
		roles := map[string]int{}
		for _, tg := range p.Targets {
			res, err := promQuery(prom, grafanaSubstitute(tg.Expr), 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range res {
				if role, ok := s.Metric["state"]; ok && rename["state"] != "" {
					roles[role]++
				}
			}
		}
		if roles["leader"] != 1 || roles["follower"] != 2 || len(roles) != 2 {
			t.Errorf("Servers table roles %v (header %q); want one leader and two followers", roles, rename["state"])
		}
		return
	}
	t.Error("no Servers table")
}
