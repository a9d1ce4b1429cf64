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
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"go.yaml.in/yaml/v3"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

var updateConformance = flag.Bool("update-conformance", false, "rewrite docs/conformance.md from this run of TestConformance")

// conformanceDoc is the generated configuration × fault table.
const conformanceDoc = "docs/conformance.md"

// Timeline of a cell's alert verdict, in promtool's 1m steps: the healthy
// scrape for 10 samples (0–9m), then the scrape of the settled fault for 41
// samples (10–50m), which outlasts the longest "for" (30m) of the rules.
const (
	beforeSamples = 10
	afterSamples  = 41
	verdictAt     = "50m"
	baselineAt    = "9m"
)

// page is one /metrics answer, its samples keyed by series.
type page struct {
	text string
	vals map[string]float64
}

func parsePage(text string) (page, error) {
	p := page{text: text, vals: map[string]float64{}}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return p, fmt.Errorf("%q: %w", line, err)
		}
		lset, err := promqlParser.ParseMetric(line[:i])
		if err != nil {
			return p, fmt.Errorf("%q: %w", line, err)
		}
		p.vals[lset.String()] = v
	}
	return p, nil
}

// get returns the value of name{labels...} and whether it is exported.
func (p page) get(name string, lbls ...string) (float64, bool) {
	v, ok := p.vals[labels.FromStrings(append([]string{model.MetricNameLabel, name}, lbls...)...).String()]
	return v, ok
}

// firing is one alert a person expects: its name, for per-member alerts
// the member it names (-1: none), and further labels of the series it
// fires on (name, value pairs).
type firing struct {
	alert  string
	member int
	labels []string
}

func alertOn(name string, members ...int) []firing {
	if len(members) == 0 {
		return []firing{{alert: name, member: -1}}
	}
	var out []firing
	for _, m := range members {
		out = append(out, firing{alert: name, member: m})
	}
	return out
}

// truth is what the exporter must report once a fault has settled.
type truth struct {
	ensemble map[string]float64 // zookeeper_ensemble_<key> → value
	states   []string           // expected state of each member; "down": must not answer; "gone": not exported
	lagOver  int                // index of a follower whose lag must exceed 1000, or -1
	watch    bool               // every watched path synced
}

// check returns why p does not show t yet.
func (t truth) check(p page, addrs []string) error {
	for k, want := range t.ensemble {
		if got, ok := p.get("zookeeper_ensemble_" + k); !ok || got != want {
			return fmt.Errorf("zookeeper_ensemble_%s = %v (exported %v), want %v", k, got, ok, want)
		}
	}
	for i, st := range t.states {
		up, exported := p.get("zookeeper_up", "server", addrs[i])
		if st == "gone" {
			if exported {
				return fmt.Errorf("member %d still exported", i+1)
			}
			continue
		}
		if st == "down" {
			if up != 0 {
				return fmt.Errorf("member %d answers, want down", i+1)
			}
			continue
		}
		if v, _ := p.get("zookeeper_server_state", "server", addrs[i], "state", st); up != 1 || v != 1 {
			return fmt.Errorf("member %d: up %v, not %s yet", i+1, up, st)
		}
		lag, hasLag := p.get("zookeeper_follower_zxid_lag", "server", addrs[i])
		behind, _ := p.get("zookeeper_follower_epoch_behind", "server", addrs[i])
		switch {
		case i == t.lagOver && lag <= 1000:
			return fmt.Errorf("member %d: lag %v, want > 1000", i+1, lag)
		case i != t.lagOver && (st == "follower" || st == "observer") && (!hasLag || lag != 0 || behind != 0):
			return fmt.Errorf("member %d: lag %v (exported %v), epoch_behind %v, want 0", i+1, lag, hasLag, behind)
		}
	}
	if t.watch {
		for k, v := range p.vals {
			if strings.HasPrefix(k, `{__name__="zookeeper_watch_synced"`) && v != 1 {
				return fmt.Errorf("%s = %v", k, v)
			}
		}
	}
	return nil
}

// cell is one configuration × fault of the matrix.
type cell struct {
	config, fault string
	addrs         []string
	before, after page
	want          []firing
	// steps, when set, replace before and after: the recorded scrapes of a
	// sequence (restarts) in order, and quiet says that no alert may fire
	// at any evaluation of it (conformance_restarts_test.go).
	steps []step
	quiet bool
}

// step is one recorded scrape held for n samples of promtool's 1m steps.
type step struct {
	p page
	n int
}

// timeline is the cell's recorded scrapes in order.
func (c *cell) timeline() []step {
	if c.steps != nil {
		return c.steps
	}
	return []step{{c.before, beforeSamples}, {c.after, afterSamples}}
}

// last is the scrape the cell settled in.
func (c *cell) last() page {
	tl := c.timeline()
	return tl[len(tl)-1].p
}

// matrix runs configurations and collects their cells.
type matrix struct {
	bin   string
	cells []*cell
}

// run is one configuration's ensemble and exporter.
type run struct {
	m      *matrix
	config string
	ens    *zktest.Ensemble
	url    string
	addrs  []string
	// srvrOnly: the members answer srvr only, so the leader's count of
	// synced followers is unknown.
	srvrOnly bool
	// healthy is the settled healthy scrape, the "before" of every fault.
	healthy page
}

// scrapeUntil scrapes the exporter until want holds and returns that scrape.
func (r *run) scrapeUntil(t *testing.T, what string, want truth) page {
	t.Helper()
	var p page
	err := zktest.WaitFor(60*time.Second, 200*time.Millisecond, func() error {
		text, err := fetch(r.url)
		if err != nil {
			return err
		}
		if p, err = parsePage(text); err != nil {
			return zktest.Permanent(err)
		}
		return want.check(p, r.addrs)
	})
	if err != nil {
		t.Fatalf("%s / %s: %v", r.config, what, err)
	}
	return p
}

// record adds a cell whose fault has settled into want, with the alerts a
// person expects.
func (r *run) record(t *testing.T, fault string, want truth, alerts ...[]firing) {
	t.Helper()
	c := &cell{config: r.config, fault: fault, addrs: r.addrs, before: r.healthy}
	c.after = r.scrapeUntil(t, fault, want)
	for _, a := range alerts {
		c.want = append(c.want, a...)
	}
	r.m.cells = append(r.m.cells, c)
}

// expect is the truth of the ensemble as it runs now: the given members
// down, the current leader leading, the others following (or observing, the
// last observers members), or in state rest when there is no leader.
func (r *run) expect(quorum float64, observers int, rest string, downs ...int) truth {
	states := make([]string, len(r.addrs))
	leader := r.ens.Leader()
	for i := range states {
		switch {
		case len(states) == 1:
			states[i] = "standalone"
		case i == leader:
			states[i] = "leader"
		case leader < 0:
			states[i] = rest
		case i >= len(states)-observers:
			states[i] = "observer"
		default:
			states[i] = "follower"
		}
	}
	for _, i := range downs {
		states[i] = "down"
	}
	n := float64(len(states))
	ok, followers := 0.0, 0.0
	for _, st := range states {
		if st == "follower" {
			followers++
		}
	}
	if leader >= 0 {
		ok = 1
	}
	ens := map[string]float64{"members": n, "members_up": n - float64(len(downs)), "leaders": ok, "quorum_size": quorum, "has_quorum": ok}
	if leader >= 0 && len(states) > 1 && !r.srvrOnly {
		ens["synced_followers"] = followers // what the leader's mntr says
	}
	return truth{ensemble: ens, states: states, lagOver: -1}
}

// start launches the configuration's ensemble and exporter and records its
// healthy cell.
func (m *matrix) start(t *testing.T, config string, n int, opts func(*zktest.Options), exporterFlags func(*zktest.Ensemble) []string) *run {
	t.Helper()
	var adjust []func(*zktest.Options)
	if opts != nil {
		adjust = append(adjust, opts)
	}
	ens := zktest.Start(t, n, adjust...)
	r := &run{m: m, config: config, ens: ens, addrs: ens.Addrs()}
	if ens.Certs != nil {
		r.addrs = ens.SecureAddrs() // an ensemble serving TLS is watched on its secure ports only
	}
	var flags []string
	if exporterFlags != nil {
		flags = exporterFlags(ens)
	}
	r.url = startExporter(t, m.bin, strings.Join(r.addrs, ","), "", append([]string{"--zookeeper.timeout=1s"}, flags...)...)
	return r
}

// settleHealthy waits for the healthy truth, records it as the baseline and
// as the configuration's "healthy" cell.
func (r *run) settleHealthy(t *testing.T, want truth) {
	t.Helper()
	r.healthy = r.scrapeUntil(t, "healthy", want)
	r.m.cells = append(r.m.cells, &cell{config: r.config, fault: "none (healthy)", addrs: r.addrs, before: r.healthy, after: r.healthy})
}

// heal restarts stopped members and waits until the exporter sees the
// ensemble healthy again.
func (r *run) heal(t *testing.T, want func() truth) {
	t.Helper()
	for i := range r.ens.Members {
		r.ens.Resume(i)
		if !r.ens.Running(i) {
			if err := r.ens.Start(i); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := r.ens.WaitHealthy(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	r.healthy = r.scrapeUntil(t, "healed", want())
}

// requireTool finds a binary, failing under CI=true and skipping otherwise.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := name + " not installed (Debian package prometheus)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// TestConformance runs real ZooKeeper configurations through faults, checks
// what the real exporter reports once each fault has settled, and has
// promtool evaluate the shipped alert rules on the recorded scrapes: exactly
// the alerts a person expects fire, and none on healthy ensembles. The
// result is docs/conformance.md (-update-conformance rewrites it).
func TestConformance(t *testing.T) {
	zktest.Require(t)
	if testing.Short() {
		t.Skip("conformance matrix skipped in -short mode")
	}
	promtool := requireTool(t, "promtool")
	begin := time.Now()
	m := &matrix{bin: buildExporter(t)}
	all := true
	for _, c := range conformanceConfigs {
		if !t.Run(c.name, func(t *testing.T) { c.run(t, m, c.name) }) {
			all = false
		}
	}
	if !all {
		t.Fatal("a configuration failed; alert verdicts and docs/conformance.md not checked")
	}
	t.Logf("matrix of %d cells ran in %s", len(m.cells), time.Since(begin).Round(time.Second))
	verdictBegin := time.Now()
	m.verify(t, promtool)
	t.Logf("promtool verdicts in %s", time.Since(verdictBegin).Round(time.Millisecond))
	m.compareDoc(t)
}

// verify writes one promtool test per cell (the shipped rules with their
// annotations left out, since only which alerts fire is asserted) and runs
// promtool test rules on it.
func (m *matrix) verify(t *testing.T, promtool string) {
	rules := alertRules(t)
	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "alerts.yaml")
	if err := os.WriteFile(rulesFile, stripAnnotations(t), 0o644); err != nil {
		t.Fatal(err)
	}
	metrics := map[string]bool{}
	for _, r := range rules {
		e, err := promqlParser.ParseExpr(r.Expr)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range metricNames(t, e) {
			metrics[n] = true
		}
	}
	var tests []map[string]any
	for _, c := range m.cells {
		tests = append(tests, c.promtoolTest(rules, metrics))
	}
	doc, err := yaml.Marshal(map[string]any{
		"rule_files": []string{rulesFile}, "evaluation_interval": "1m", "tests": tests,
	})
	if err != nil {
		t.Fatal(err)
	}
	testFile := filepath.Join(dir, "conformance-test.yaml")
	if err := os.WriteFile(testFile, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "test", "rules", testFile).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules: the shipped alerts do not give the expected verdicts: %v\n%s", err, out)
	}
}

// stripAnnotations returns the shipped alert rules without annotations.
func stripAnnotations(t *testing.T) []byte {
	var doc struct {
		Groups []struct {
			Name  string           `yaml:"name"`
			Rules []map[string]any `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, "alerts", "zookeeper-alerts.yaml")), &doc); err != nil {
		t.Fatal(err)
	}
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			delete(r, "annotations")
		}
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// promtoolTest is the cell's promtool test group: its recorded series and,
// at the end of the healthy phase and after the fault, every alert rule
// with exactly the alerts expected.
func (c *cell) promtoolTest(rules []rulefmt.Rule, metrics map[string]bool) map[string]any {
	keys := map[string]bool{}
	for _, st := range c.timeline() {
		for k := range st.p.vals {
			keys[k] = true
		}
	}
	keys[`{__name__="up"}`] = true
	var series []map[string]string
	for _, k := range sortedKeys(keys) {
		lset, err := promqlParser.ParseMetric(k)
		if err != nil || !metrics[lset.Get(model.MetricNameLabel)] {
			continue
		}
		b := labels.NewBuilder(lset)
		for n, v := range ensembleLabels {
			b.Set(n, v)
		}
		var values []string
		was := false
		for _, st := range c.timeline() {
			v, in := st.p.vals[k]
			if k == `{__name__="up"}` {
				v, in = 1, true // Prometheus scraped the exporter
			}
			values = append(values, phase(v, in, st.n, was))
			was = in
		}
		series = append(series, map[string]string{"series": b.Labels().String(), "values": strings.Join(values, " ")})
	}
	var checks []map[string]any
	for _, r := range rules {
		if c.quiet {
			checks = append(checks, c.quietChecks(r)...)
			continue
		}
		exp := c.expected(r)
		checks = append(checks,
			map[string]any{"eval_time": baselineAt, "alertname": r.Alert, "exp_alerts": alwaysFiring(r)},
			map[string]any{"eval_time": verdictAt, "alertname": r.Alert, "exp_alerts": exp})
	}
	return map[string]any{
		"name": c.config + " / " + c.fault, "interval": "1m",
		"input_series": series, "alert_rule_test": checks,
	}
}

// alwaysFiring is what an alert that fires always (the Watchdog) fires on
// any cell: itself with its own labels; nothing for any other alert.
func alwaysFiring(r rulefmt.Rule) []map[string]any {
	if r.Alert != watchdogAlert {
		return []map[string]any{}
	}
	return []map[string]any{{"exp_labels": r.Labels}}
}

// expected is what rule r must fire once the cell's fault has settled.
func (c *cell) expected(r rulefmt.Rule) []map[string]any {
	exp := alwaysFiring(r)
	for _, f := range c.want {
		if f.alert != r.Alert {
			continue
		}
		lbls := map[string]string{}
		for n, v := range ensembleLabels {
			lbls[n] = v
		}
		for n, v := range r.Labels {
			lbls[n] = v
		}
		if f.member >= 0 {
			lbls["server"] = c.addrs[f.member]
		}
		for i := 0; i+1 < len(f.labels); i += 2 {
			lbls[f.labels[i]] = f.labels[i+1]
		}
		exp = append(exp, map[string]any{"exp_labels": lbls})
	}
	return exp
}

// phase is n samples of v in promtool's notation; a series absent from the
// phase is missing, marked stale first if it was there before.
func phase(v float64, present bool, n int, wasPresent bool) string {
	if !present {
		if wasPresent {
			return fmt.Sprintf("stale _x%d", n-1)
		}
		return fmt.Sprintf("_x%d", n)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprintf("_x%d", n)
	}
	return fmt.Sprintf("%sx%d", strconv.FormatFloat(v, 'g', -1, 64), n-1)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// compareDoc renders the matrix and compares it with docs/conformance.md, or
// rewrites that file with -update-conformance.
func (m *matrix) compareDoc(t *testing.T) {
	got := m.render()
	path := repoPath(conformanceDoc)
	if *updateConformance {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (generate it with go test ./mixin -run TestConformance -update-conformance)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from this run; regenerate it with go test ./mixin -run TestConformance -update-conformance\n--- committed\n%s\n--- this run\n%s", conformanceDoc, want, got)
	}
}

func (m *matrix) render() string {
	var b strings.Builder
	b.WriteString(`# Conformance matrix

<!-- Generated by TestConformance (mixin/conformance_test.go); do not edit.
     Regenerate: go test ./mixin -run TestConformance -update-conformance -->

Each configuration runs on real ZooKeeper (` + "`internal/zktest`" + `) watched by the real
` + "`zookeeper_exporter`" + ` binary. After each fault the test waits until the exporter reports
the state below, then ` + "`promtool test rules`" + ` evaluates the shipped
` + "`alerts/zookeeper-alerts.yaml`" + ` on the recorded scrapes: the healthy scrape for 10 minutes, then
the scrape of the fault held for 40 minutes, longer than any rule's ` + "`for`" + `. The alerts listed
are exactly those that fire; every other rule stays silent, and no rule fires on a healthy
ensemble (` + "`Watchdog`" + `, which fires always, is left out of the lists). Faults on one
configuration run on the same ensemble, healed in between.

`)
	fmt.Fprintf(&b, `Faults ending in "then quiet" are routine restarts: the recorded scrapes are the healthy
ensemble for %d minutes, then for each restart one scrape with the member down and %d minutes
of the ensemble back, and the last scrape held for %d minutes beyond the longest range plus
`+"`for`"+` of the rules. Every rule is evaluated at every minute of it, and none fires.

| configuration | setup |
|---|---|
`, beforeSamples, betweenRestarts, int(quietMargin/time.Minute))
	for _, c := range conformanceConfigs {
		fmt.Fprintf(&b, "| %s | %s |\n", c.name, orDash(c.setup))
	}
	b.WriteString("\n| configuration | fault | exported | alerts firing |\n|---|---|---|---|\n")
	for _, c := range m.cells {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", c.config, c.fault, c.summary(), c.alerts())
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "harness defaults"
	}
	return s
}

// summary states what the exporter reported once the fault had settled, in
// terms that do not depend on ports or on which member won an election.
func (c *cell) summary() string {
	p := c.last()
	num := func(name string) string {
		v, ok := p.get("zookeeper_ensemble_" + name)
		if !ok {
			return "-"
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	parts := []string{
		fmt.Sprintf("members %s, up %s, quorum %s, has_quorum %s, leaders %s, synced followers %s",
			num("members"), num("members_up"), num("quorum_size"), num("has_quorum"), num("leaders"), num("synced_followers")),
	}
	states := map[string]int{}
	lag, behind := "", 0.0
	for _, a := range c.addrs {
		up, exported := p.get("zookeeper_up", "server", a)
		if !exported {
			continue
		}
		if up == 0 {
			states["down"]++
			continue
		}
		for _, s := range []string{"leader", "follower", "observer", "standalone", "read-only", "looking"} {
			if v, _ := p.get("zookeeper_server_state", "server", a, "state", s); v == 1 {
				states[s]++
			}
		}
		if v, ok := p.get("zookeeper_follower_zxid_lag", "server", a); ok {
			lag = maxLag(lag, v)
		}
		if v, ok := p.get("zookeeper_follower_epoch_behind", "server", a); ok {
			behind += v
		}
	}
	var st []string
	for _, s := range []string{"standalone", "leader", "follower", "observer", "read-only", "looking", "down"} {
		if states[s] > 0 {
			st = append(st, fmt.Sprintf("%d %s", states[s], s))
		}
	}
	parts = append(parts, strings.Join(st, ", "))
	if lag != "" {
		parts = append(parts, fmt.Sprintf("follower lag %s, epoch_behind %g", lag, behind))
	}
	synced, total := 0, 0
	for k, v := range p.vals {
		if strings.HasPrefix(k, `{__name__="zookeeper_watch_synced"`) {
			total++
			if v == 1 {
				synced++
			}
		}
	}
	if total > 0 {
		parts = append(parts, fmt.Sprintf("watched paths synced %d/%d", synced, total))
	}
	return strings.Join(parts, "; ")
}

// maxLag keeps the larger of a bucketed lag and v.
func maxLag(cur string, v float64) string {
	order := map[string]int{"": 0, "0": 1, "1–1000": 2, "> 1000": 3}
	b := "0"
	switch {
	case v > 1000:
		b = "> 1000"
	case v > 0:
		b = "1–1000"
	}
	if order[b] > order[cur] {
		return b
	}
	return cur
}

// alerts lists the expected (and verified) alerts of the cell.
func (c *cell) alerts() string {
	counts := map[string]int{}
	for _, f := range c.want {
		counts[f.alert]++
	}
	if len(counts) == 0 {
		return "none"
	}
	var out []string
	for _, a := range sortedKeys(counts) {
		if counts[a] > 1 {
			a = fmt.Sprintf("%s ×%d", a, counts[a])
		}
		out = append(out, a)
	}
	return strings.Join(out, ", ")
}
