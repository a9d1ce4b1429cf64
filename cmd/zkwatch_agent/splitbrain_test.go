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

package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

var (
	exporterOnce sync.Once
	exporterBin  string
	exporterErr  error
)

// buildExporter builds zookeeper_exporter once, beside the agent binary.
func buildExporter(t *testing.T) string {
	t.Helper()
	exporterOnce.Do(func() {
		exporterBin = filepath.Join(filepath.Dir(agentBin), "zookeeper_exporter")
		out, err := exec.Command("go", "build", "-o", exporterBin, "../zookeeper_exporter").CombinedOutput()
		if err != nil {
			exporterErr = fmt.Errorf("build zookeeper_exporter: %v\n%s", err, out)
		}
	})
	if exporterErr != nil {
		t.Fatal(exporterErr)
	}
	return exporterBin
}

// splitRecipe is one side of the split-brain check: locks or elections,
// with the agent's mode, the exporter's watch configuration key and
// collector, the series on both sides, and the alerts a holder that never
// fences fires.
type splitRecipe struct {
	mode, config, marker  string
	held, belief, key     string // the agent's gauges and the path label
	holder                string // the exporter's
	counted, countedOfTwo string // the exporter's count of two contenders
	alerts                []string
}

var (
	lockRecipe = splitRecipe{mode: "lock", config: "locks", marker: "lock-",
		held: "zkwatch_agent_lock_held", belief: "zkwatch_agent_lock_held_info", key: "lock",
		holder: "zookeeper_lock_holder_info", counted: "zookeeper_lock_waiters", countedOfTwo: "1",
		alerts: []string{"ZooKeeperLockHeldTwice", "ZooKeeperLockHolderMismatch"}}
	electionRecipe = splitRecipe{mode: "election", config: "elections", marker: "latch-",
		held: "zkwatch_agent_election_leader", belief: "zkwatch_agent_election_leader_info", key: "election",
		holder: "zookeeper_election_leader_info", counted: "zookeeper_election_candidates", countedOfTwo: "2",
		alerts: []string{"ZooKeeperElectionLedTwice", "ZooKeeperElectionLeaderMismatch"}}
)

// startRecipeExporter runs zookeeper_exporter watching the lock or
// election at path (its collector and the session collector only) and
// returns its listen address.
func startRecipeExporter(t *testing.T, servers string, r splitRecipe, path string) string {
	t.Helper()
	bin := buildExporter(t)
	ports, err := zktest.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	cfg := filepath.Join(t.TempDir(), "watch.yml")
	if err := os.WriteFile(cfg, []byte(r.config+":\n  - path: "+path+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--zookeeper.servers="+servers, "--web.listen-address="+addr,
		"--watch.config.file="+cfg, "--collector.disable-defaults", "--collector."+r.mode,
		// zookeeper_watch_synced, which gates the mismatch rule.
		"--collector.session")
	out := &zktest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("exporter log:\n%s", out.String())
		}
	})
	return addr
}

var sessionLabel = regexp.MustCompile(`session="(0x[0-9a-f]+)"`)

// scrape returns the sample lines of metric for path (label key) on
// addr's /metrics.
func scrape(addr, metric, key, path string) ([]string, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, metric+"{") && strings.Contains(line, key+`="`+path+`"`) {
			out = append(out, line)
		}
	}
	return out, sc.Err()
}

// sessions scrapes addr's /metrics and returns the session labels of the
// series of metric for lock (label key) with value 1, sorted.
func sessions(addr, metric, key, lock string) ([]string, error) {
	lines, err := scrape(addr, metric, key, lock)
	var out []string
	for _, line := range lines {
		if m := sessionLabel.FindStringSubmatch(line); m != nil && strings.HasSuffix(line, " 1") {
			out = append(out, m[1])
		}
	}
	sort.Strings(out)
	return out, err
}

// belief returns the one session an agent believes holds the lock or
// leads the election at path ("" for none).
func (a *agentProc) belief(r splitRecipe, path string) (string, error) {
	s, err := sessions(a.addr, r.belief, r.key, path)
	if err != nil || len(s) == 0 {
		return "", err
	}
	if len(s) > 1 {
		return "", fmt.Errorf("agent believes in %d sessions: %v", len(s), s)
	}
	return s[0], nil
}

// TestLockBeliefMismatchUnderPartition is issue 25's split-brain check on
// real processes: agent A holds /locks/split through a black-holing proxy,
// agent B waits, the exporter watches the lock. A is cut off, and
// ZooKeeper moves on while A still believes: the holder node is deleted
// (as an operator "unsticking" a lock does; a natural expiry comes only
// after A's fencing, by design) and B takes the lock. Until A's fencing
// ends its belief, /metrics show the mismatch the mixin alerts on: A's
// zkwatch_agent_lock_held_info names a session the exporter's
// zookeeper_lock_holder_info does not, and two agents believe they hold
// the lock. Then A's belief goes, and the three agree again.
func TestLockBeliefMismatchUnderPartition(t *testing.T) {
	beliefMismatchUnderPartition(t, lockRecipe, "/locks/split")
}

// TestElectionBeliefMismatchUnderPartition is the same for an election:
// agents A and B take part as Curator LeaderLatch participants, the
// exporter's election collector counts both and names A's session as the
// leader's; when A is cut off and its latch node deleted, B leads, and
// A's zkwatch_agent_election_leader_info disagrees with the exporter's
// zookeeper_election_leader_info until A's fencing has stopped its
// command's whole tree.
func TestElectionBeliefMismatchUnderPartition(t *testing.T) {
	beliefMismatchUnderPartition(t, electionRecipe, "/elections/split")
}

func beliefMismatchUnderPartition(t *testing.T, r splitRecipe, path string) {
	// A long session for A, so that its fencing (half the timeout after
	// its last reply) leaves seconds to look at the mismatch.
	ens := zktest.Start(t, 1, func(o *zktest.Options) { o.Extra = map[string]string{"maxSessionTimeout": "60000"} })
	proxy, err := zktest.NewProxy(ens.Addrs()...)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	dir := t.TempDir()
	a := startAgent(t, strings.Join(proxy.Addrs(), ","), "--zookeeper.session-timeout=30s", r.mode, "--path="+path, "--",
		"sh", "-c", `sleep 1000 & echo $! > "$0/bg"; wait`, dir)
	obs := observer(t, ens.Servers())
	var sessA string
	waitUntil(t, "A holds", func() (err error) {
		sessA, err = a.belief(r, path)
		if err == nil && sessA == "" {
			err = fmt.Errorf("A does not hold yet")
		}
		return err
	})
	bg := waitPID(t, filepath.Join(dir, "bg"))
	b := startAgent(t, ens.Servers(), r.mode, "--path="+path, "--", "sleep", "1000")
	exp := startRecipeExporter(t, ens.Servers(), r, path)
	targets := []target{{exp, "zookeeper", "exporter"}, {a.addr, "zkwatch-agent", "A"}, {b.addr, "zkwatch-agent", "B"}}
	var nodeA string
	waitUntil(t, "B waits and the exporter sees A", func() error {
		c, _, err := obs.Children(path)
		if err != nil || len(c) != 2 {
			return fmt.Errorf("contenders %v: %v", c, err)
		}
		sort.Slice(c, func(i, j int) bool { return c[i][len(c[i])-10:] < c[j][len(c[j])-10:] })
		nodeA = path + "/" + c[0]
		if err := contenders(r, exp, a, b, path, c); err != nil {
			return err
		}
		return expect(r, exp, a, b, path, []string{sessA}, sessA, "")
	})

	agreed := record(t, targets)
	cut := time.Now()
	proxy.Blackhole()
	if err := obs.Delete(nodeA, -1); err != nil {
		t.Fatal(err)
	}
	var sessB string
	waitUntil(t, "the mismatch", func() (err error) {
		if sessB, err = b.belief(r, path); err == nil && sessB == "" {
			err = fmt.Errorf("B does not hold yet")
		}
		if err == nil {
			err = expect(r, exp, a, b, path, []string{sessB}, sessA, sessB)
		}
		return err
	})
	seen := time.Since(cut)
	split := record(t, targets)
	waitUntil(t, "A's fencing", func() error { return expect(r, exp, a, b, path, []string{sessB}, "", sessB) })
	ended := time.Since(cut)
	fenced := record(t, targets)
	t.Logf("%s: mismatch in /metrics %s after the cut, until A's fencing %s after it", r.mode, seen.Round(time.Millisecond), ended.Round(time.Millisecond))
	if sessA == sessB {
		t.Fatalf("A and B share session %s", sessA)
	}
	// The belief goes once the command has stopped, its whole tree.
	if running(bg) {
		t.Errorf("the background child %d of A's command outlived A's belief", bg)
	}
	// The shipped rules on these scrapes, one a minute: the mismatch for
	// one scrape (as measured, fencing within a scrape interval) fires
	// nothing; held for 4 minutes (a holder that never fences) it fires
	// both alerts of the recipe.
	checkAlerts(t, []recorded{agreed, agreed, split, fenced, fenced, fenced}, nil)
	checkAlerts(t, []recorded{agreed, agreed, split, split, split, split}, r.alerts)
}

// contenders checks two contenders' nodes in Curator's layout, counted by
// the exporter, and the agents' held gauges (A 1, B 0).
func contenders(r splitRecipe, exp string, a, b *agentProc, path string, nodes []string) error {
	layout := regexp.MustCompile(`^_c_[0-9a-f-]{36}-` + r.marker + `[0-9]{10}$`)
	for _, n := range nodes {
		if !layout.MatchString(n) {
			return fmt.Errorf("contender %q not in Curator's %s layout", n, r.marker)
		}
	}
	if got, err := scrape(exp, r.counted, r.key, path); err != nil || len(got) != 1 || !strings.HasSuffix(got[0], " "+r.countedOfTwo) {
		return fmt.Errorf("exporter: %v (%v), want %s %s", got, err, r.counted, r.countedOfTwo)
	}
	for ag, want := range map[*agentProc]float64{a: 1, b: 0} {
		if v, err := ag.metric(r.held); err != nil || v != want {
			return fmt.Errorf("%s %v (%v), want %v", r.held, v, err, want)
		}
	}
	return nil
}

// target is a /metrics page and the job and instance labels Prometheus
// would give its series.
type target struct{ addr, job, instance string }

// recorded is one scrape of every target: series (in promtool's notation)
// to value.
type recorded map[string]string

var recordedMetrics = regexp.MustCompile(`^(zkwatch_agent_lock_held_info|zookeeper_lock_holder_info|zookeeper_lock_held|` +
	`zkwatch_agent_election_leader_info|zookeeper_election_leader_info|zookeeper_election_has_leader|zookeeper_watch_synced)\{(.*)\} (\S+)$`)

// record scrapes the split-brain series of the targets.
func record(t *testing.T, targets []target) recorded {
	t.Helper()
	r := recorded{}
	for _, tg := range targets {
		resp, err := http.Get("http://" + tg.addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if m := recordedMetrics.FindStringSubmatch(sc.Text()); m != nil {
				r[fmt.Sprintf(`%s{job="%s", instance="%s", %s}`, m[1], tg.job, tg.instance, m[2])] = m[3]
			}
		}
		resp.Body.Close()
	}
	return r
}

// checkAlerts runs promtool on the shipped alert rules with the scrapes as
// input, one a minute, and checks which alerts (Watchdog aside) fire at
// the last one.
func checkAlerts(t *testing.T, scrapes []recorded, want []string) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is needed to run the shipped rules: ", err)
	}
	rules, err := filepath.Abs(filepath.Join("..", "..", "alerts", "zookeeper-alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	series := map[string][]string{}
	for i, sc := range scrapes {
		for k := range sc {
			if series[k] == nil {
				series[k] = make([]string, len(scrapes))
				for j := range series[k] {
					series[k][j] = "_"
				}
			}
		}
		for k, v := range series {
			switch got, ok := sc[k]; {
			case ok:
				v[i] = got
			case i > 0 && v[i-1] != "_":
				v[i] = "stale"
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "rule_files: [%q]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n", rules)
	for k, v := range series {
		fmt.Fprintf(&b, "      - series: %q\n        values: %q\n", k, strings.Join(v, " "))
	}
	fmt.Fprintf(&b, "    promql_expr_test:\n      - expr: 'count by (alertname) (ALERTS{alertstate=\"firing\", alertname!=\"Watchdog\"})'\n        eval_time: %dm\n        exp_samples:\n", len(scrapes)-1)
	for _, name := range want {
		fmt.Fprintf(&b, "          - labels: '{alertname=\"%s\"}'\n            value: 1\n", name)
	}
	if len(want) == 0 {
		b.WriteString("          []\n")
	}
	file := filepath.Join(t.TempDir(), "recorded.yaml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "test", "rules", file).CombinedOutput(); err != nil {
		t.Fatalf("promtool on the recorded scrapes: %v\n%s\n%s", err, out, b.String())
	}
}

// expect compares the exporter's holder sessions and the agents' beliefs
// with what the test expects.
func expect(r splitRecipe, exp string, a, b *agentProc, path string, holder []string, believesA, believesB string) error {
	got, err := sessions(exp, r.holder, r.key, path)
	if err != nil {
		return err
	}
	if strings.Join(got, ",") != strings.Join(holder, ",") {
		return fmt.Errorf("exporter: holder %v, want %v", got, holder)
	}
	for ag, w := range map[*agentProc][2]string{a: {"A", believesA}, b: {"B", believesB}} {
		s, err := ag.belief(r, path)
		if err != nil {
			return err
		}
		if s != w[1] {
			return fmt.Errorf("agent %s believes in %q, want %q", w[0], s, w[1])
		}
	}
	return nil
}

func waitUntil(t *testing.T, what string, cond func() error) {
	t.Helper()
	if err := zktest.WaitFor(waitLong, 20*time.Millisecond, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
