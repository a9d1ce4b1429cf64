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
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

type nopZKLogger struct{}

func (nopZKLogger) Printf(string, ...any) {}

// mixinExporterMetrics returns the zookeeper_* names the rules and dashboards
// select.
func mixinExporterMetrics(t *testing.T) []string {
	seen := map[string]bool{}
	add := func(expr string) {
		e, err := promqlParser.ParseExpr(substituteVariables(expr))
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		for _, n := range metricNames(t, e) {
			if strings.HasPrefix(n, "zookeeper_") && !slices.Contains(providerMetrics, n) {
				seen[n] = true
			}
		}
	}
	for _, r := range append(alertRules(t), recordingRules(t)...) {
		add(r.Expr)
	}
	for _, d := range loadDashboards(t) {
		for _, p := range allPanels(d.Panels) {
			for _, tg := range p.Targets {
				add(tg.Expr)
			}
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// fetch returns the body of a /metrics page.
func fetch(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %.512s", url, resp.Status, b)
	}
	return string(b), nil
}

// families returns the metric family names of a /metrics page.
func families(page string) map[string]bool {
	fams := map[string]bool{}
	for _, line := range strings.Split(page, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			fams[line[:i]] = true
		}
	}
	return fams
}

// ensembleLabels are the target labels Prometheus would add to the scrape.
var ensembleLabels = map[string]string{"job": "zookeeper", "instance": "ens1"}

// floatSample is one float sample of an in-memory series.
type floatSample struct {
	t int64
	f float64
}

func (s floatSample) T() int64                    { return s.t }
func (floatSample) ST() int64                     { return 0 }
func (s floatSample) F() float64                  { return s.f }
func (floatSample) H() *histogram.Histogram       { return nil }
func (floatSample) FH() *histogram.FloatHistogram { return nil }
func (floatSample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s floatSample) Copy() chunks.Sample         { return s }

// seriesSet iterates over a slice of series.
type seriesSet struct {
	series []storage.Series
	i      int
}

func (s *seriesSet) Next() bool                      { s.i++; return s.i <= len(s.series) }
func (s *seriesSet) At() storage.Series              { return s.series[s.i-1] }
func (*seriesSet) Err() error                        { return nil }
func (*seriesSet) Warnings() annotations.Annotations { return nil }

// scrapeQueryable holds one scrape at time 0 as Prometheus would store it:
// the exporter's zookeeper_* samples with the target's job and instance.
func scrapeQueryable(page string) (storage.Queryable, error) {
	var all []storage.Series
	for _, line := range strings.Split(page, "\n") {
		if !strings.HasPrefix(line, "zookeeper_") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		lset, err := promqlParser.ParseMetric(line[:i])
		if err != nil {
			return nil, fmt.Errorf("%q: %w", line, err)
		}
		b := labels.NewBuilder(lset)
		for k, v := range ensembleLabels {
			b.Set(k, v)
		}
		all = append(all, storage.NewListSeries(b.Labels(), []chunks.Sample{floatSample{0, v}}))
	}
	sort.Slice(all, func(i, j int) bool { return labels.Compare(all[i].Labels(), all[j].Labels()) < 0 })
	return listQueryable(all), nil
}

// evalAlerts evaluates every alert expression (without its "for") on one
// scrape of the exporter and returns the label sets each alert would fire
// with.
func evalAlerts(engine *promql.Engine, rules []rulefmt.Rule, page string) (map[string][]map[string]string, error) {
	q, err := scrapeQueryable(page)
	if err != nil {
		return nil, err
	}
	out := map[string][]map[string]string{}
	for _, r := range rules {
		qry, err := engine.NewInstantQuery(context.Background(), q, nil, r.Expr, time.Unix(0, 0))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Alert, err)
		}
		res := qry.Exec(context.Background())
		vec, err := res.Vector()
		qry.Close()
		if res.Err != nil || err != nil {
			return nil, fmt.Errorf("%s: %v %v", r.Alert, res.Err, err)
		}
		for _, s := range vec {
			m := s.Metric.Map()
			delete(m, "__name__")
			out[r.Alert] = append(out[r.Alert], m)
		}
	}
	return out, nil
}

// expectFiring checks that alert fires exactly once for each of want (each
// a subset of the labels, the ensemble labels added), and never otherwise.
func expectFiring(got map[string][]map[string]string, alert string, want ...map[string]string) error {
	fired := got[alert]
	if len(fired) != len(want) {
		return fmt.Errorf("%s fires for %v, want %d alert(s) %v", alert, fired, len(want), want)
	}
	for _, w := range want {
		found := false
		for _, f := range fired {
			match := true
			for k, v := range w {
				match = match && f[k] == v
			}
			for k, v := range ensembleLabels {
				match = match && f[k] == v
			}
			found = found || match
		}
		if !found {
			return fmt.Errorf("%s fires for %v, want %v", alert, fired, want)
		}
	}
	return nil
}

// expectAlerts evaluates the alerts on a fresh scrape and applies checks.
func expectAlerts(engine *promql.Engine, rules []rulefmt.Rule, url string, check func(map[string][]map[string]string) error) error {
	page, err := fetch(url)
	if err != nil {
		return err
	}
	got, err := evalAlerts(engine, rules, page)
	if err != nil {
		return err
	}
	return check(got)
}

// buildExporter builds zookeeper_exporter into a temporary directory.
func buildExporter(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "zookeeper_exporter")
	build := exec.Command("go", "build", "-o", bin, "github.com/zkwatch/zkwatch/cmd/zookeeper_exporter")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startExporter runs the exporter binary against servers with the watch
// configuration cfg (none if empty) and further flags until the test ends,
// and returns its /metrics URL.
func startExporter(t *testing.T, bin, servers, cfg string, flags ...string) string {
	t.Helper()
	ports, err := zktest.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	listen := net.JoinHostPort("127.0.0.1", fmt.Sprint(ports[0]))
	ctx, cancel := context.WithCancel(context.Background())
	var logs strings.Builder
	args := []string{"--zookeeper.servers=" + servers, "--web.listen-address=" + listen}
	if cfg != "" {
		args = append(args, "--watch.config.file="+cfg)
	}
	cmd := exec.CommandContext(ctx, bin, append(args, flags...)...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("exporter (%s) log:\n%s", servers, logs.String())
		}
	})
	return "http://" + listen + "/metrics"
}

func mustCreate(t *testing.T, c *zk.Conn, path string, data string, flags int32) string {
	t.Helper()
	// Parents first, as persistent nodes.
	for i := 1; i < len(path); i++ {
		if path[i] == '/' {
			if _, err := c.Create(path[:i], nil, 0, zk.WorldACL(zk.PermAll)); err != nil && err != zk.ErrNodeExists {
				t.Fatalf("create %s: %v", path[:i], err)
			}
		}
	}
	p, err := c.Create(path, []byte(data), flags, zk.WorldACL(zk.PermAll))
	if err != nil {
		t.Fatalf("create %s: %v", path, err)
	}
	return p
}

// TestExporterExposesMixinMetrics runs the real zookeeper_exporter against a
// real 3-member ensemble with a watch configuration covering every watch
// collector (and a path it may not read, for the watch error counter), and checks that every zookeeper_* metric the alerts, recording
// rules and dashboards use is on its /metrics page, so that a renamed metric
// cannot silently disable an alert.
func TestExporterExposesMixinMetrics(t *testing.T) {
	ens := zktest.Start(t, 3)
	if err := ens.WaitHealthy(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := buildExporter(t)

	conn, _, err := zk.Connect(ens.Addrs(), 4*time.Second, zk.WithLogInfo(false), zk.WithLogger(nopZKLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Existing state before the exporter starts: one worker with a claimed
	// task, an unclaimed task and one claimed by a worker that is gone; a
	// held lock with a waiter; an election with a leader; a config znode; a
	// queue with items.
	mustCreate(t, conn, "/monitor/app/m1", `{"host":"h1","ip":"127.0.0.1"}`, zk.FlagEphemeral)
	mustCreate(t, conn, "/work/Workers/w1", "", zk.FlagEphemeral)
	mustCreate(t, conn, "/work/Tasks/t1", "w1", 0)
	mustCreate(t, conn, "/work/Tasks/t2", "", 0)
	mustCreate(t, conn, "/work/Tasks/t3", "w-gone", 0)
	mustCreate(t, conn, "/locks/a/lock-", "", zk.FlagEphemeral|zk.FlagSequence)
	mustCreate(t, conn, "/locks/a/lock-", "", zk.FlagEphemeral|zk.FlagSequence)
	firstCandidate := mustCreate(t, conn, "/election/x/latch-", "", zk.FlagEphemeral|zk.FlagSequence)
	mustCreate(t, conn, "/config/app", "v1", 0)
	mustCreate(t, conn, "/queue/jobs/item-", "", zk.FlagSequence)
	mustCreate(t, conn, "/queue/jobs/item-", "", zk.FlagSequence)
	// A group the exporter may not read, for zookeeper_watch_errors_total.
	if _, err := conn.Create("/secret", nil, 0, zk.DigestACL(zk.PermAll, "someone", "secret")); err != nil {
		t.Fatal(err)
	}

	cfg := filepath.Join(dir, "watch.yml")
	if err := os.WriteFile(cfg, []byte(`groups:
  - path: /monitor/app
    expected: [m1, m2]
  - path: /secret
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
`), 0o644); err != nil {
		t.Fatal(err)
	}

	url := startExporter(t, bin, ens.Servers(), cfg, "--collector.connections")

	// Events after the exporter has synced its views: a member joins, the
	// config znode changes and the election changes its leader.
	synced := regexp.MustCompile(`(?m)^zookeeper_watch_synced\{[^}]*root="/election/x"[^}]*\} 1$`)
	if err := zktest.WaitFor(60*time.Second, 200*time.Millisecond, func() error {
		page, err := fetch(url)
		if err != nil {
			return err
		}
		if !synced.MatchString(page) {
			return fmt.Errorf("watch views not synced yet")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, conn, "/monitor/app/m3", "h3:127.0.0.3", zk.FlagEphemeral)
	if _, err := conn.Set("/config/app", []byte("v2"), -1); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, conn, "/election/x/latch-", "", zk.FlagEphemeral|zk.FlagSequence)
	if err := conn.Delete(firstCandidate, -1); err != nil {
		t.Fatal(err)
	}

	want := mixinExporterMetrics(t)
	t.Logf("checking %d zookeeper_* metrics used by the mixin", len(want))
	err = zktest.WaitFor(60*time.Second, 250*time.Millisecond, func() error {
		page, err := fetch(url)
		if err != nil {
			return err
		}
		fams := families(page)
		var missing []string
		for _, n := range want {
			if !fams[n] {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("missing from /metrics: %s", strings.Join(missing, ", "))
		}
		return nil
	})
	if err != nil {
		t.Errorf("metrics used by the mixin that the running exporter does not expose: %v", err)
	}

	// The alert expressions on the real exporter's output. The rules'
	// "for" is left out; the promtool tests cover the timing.
	rules := alertRules(t)
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1000000, Timeout: 10 * time.Second, LookbackDelta: 5 * time.Minute})
	t.Cleanup(func() { _ = engine.Close() })
	alertsNow := func(name string, check func(map[string][]map[string]string) error) {
		t.Helper()
		if err := zktest.WaitFor(30*time.Second, 500*time.Millisecond, func() error {
			return expectAlerts(engine, rules, url, check)
		}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	alertsNow("healthy ensemble", func(got map[string][]map[string]string) error {
		return errors.Join(
			// m2 is expected but absent; m1 and m3 are registered.
			expectFiring(got, "ZooKeeperProcessMemberDown", map[string]string{"group": "/monitor/app", "member": "m2"}),
			expectFiring(got, "ZooKeeperTasksOrphaned", map[string]string{"root": "/work", "state": "orphaned"}),
			expectFiring(got, "ZooKeeperWatchNotSynced", map[string]string{"root": "/secret"}),
			expectFiring(got, "ZooKeeperProcessGroupBelowExpected"),
			expectFiring(got, "ZooKeeperElectionNoLeader"),
			expectFiring(got, "ZooKeeperWatchedZnodeMissing"),
			expectFiring(got, "ZooKeeperMemberDown"),
			expectFiring(got, "ZooKeeperQuorumAtRisk"),
			expectFiring(got, "ZooKeeperQuorumLost"),
			expectFiring(got, "ZooKeeperNoLeader"),
			expectFiring(got, "ZooKeeperMultipleLeaders"),
		)
	})

	// The election loses its last candidate and the config znode goes.
	kids, _, err := conn.Children("/election/x")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range kids {
		if err := conn.Delete("/election/x/"+k, -1); err != nil {
			t.Fatal(err)
		}
	}
	if err := conn.Delete("/config/app", -1); err != nil {
		t.Fatal(err)
	}
	alertsNow("election and config znode gone", func(got map[string][]map[string]string) error {
		return errors.Join(
			expectFiring(got, "ZooKeeperElectionNoLeader", map[string]string{"election": "/election/x"}),
			expectFiring(got, "ZooKeeperWatchedZnodeMissing", map[string]string{"path": "/config/app"}),
		)
	})

	// A second exporter reaches the ensemble through a proxy. While it sees
	// the ensemble it reports m2 down; once the proxy swallows everything
	// its views are no longer synced and it must stop reporting m2, though
	// m2 is still absent: a blind exporter never raises process alerts.
	proxy, err := zktest.NewProxy(ens.Addrs()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	blindURL := startExporter(t, bin, strings.Join(proxy.Addrs(), ","), cfg)
	blindAlerts := func(name string, check func(map[string][]map[string]string) error) {
		t.Helper()
		if err := zktest.WaitFor(30*time.Second, 500*time.Millisecond, func() error {
			return expectAlerts(engine, rules, blindURL, check)
		}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	blindAlerts("exporter behind proxy, connected", func(got map[string][]map[string]string) error {
		return expectFiring(got, "ZooKeeperProcessMemberDown", map[string]string{"group": "/monitor/app", "member": "m2"})
	})
	proxy.Blackhole()
	blindAlerts("exporter behind proxy, blind", func(got map[string][]map[string]string) error {
		var notSynced bool
		for _, l := range got["ZooKeeperWatchNotSynced"] {
			notSynced = notSynced || l["root"] == "/monitor/app"
		}
		if !notSynced {
			return fmt.Errorf("/monitor/app still synced: %v", got["ZooKeeperWatchNotSynced"])
		}
		return expectFiring(got, "ZooKeeperProcessMemberDown")
	})

	// One follower down: that member is down and the quorum is at risk.
	leader := ens.Leader()
	first, second := (leader+1)%3, (leader+2)%3
	ens.Kill(first)
	alertsNow("one follower down", func(got map[string][]map[string]string) error {
		return errors.Join(
			expectFiring(got, "ZooKeeperMemberDown", map[string]string{"server": ens.Addrs()[first]}),
			expectFiring(got, "ZooKeeperQuorumAtRisk", map[string]string{}),
			expectFiring(got, "ZooKeeperQuorumLost"),
			expectFiring(got, "ZooKeeperNoLeader"),
		)
	})

	// Two of three down: the quorum and the leader are gone.
	ens.Kill(second)
	alertsNow("quorum lost", func(got map[string][]map[string]string) error {
		return errors.Join(
			expectFiring(got, "ZooKeeperMemberDown",
				map[string]string{"server": ens.Addrs()[first]}, map[string]string{"server": ens.Addrs()[second]}),
			expectFiring(got, "ZooKeeperQuorumLost", map[string]string{}),
			expectFiring(got, "ZooKeeperNoLeader", map[string]string{}),
			expectFiring(got, "ZooKeeperQuorumAtRisk"),
		)
	})
}
