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

// Package e2e runs the whole zkwatch stack as users run it (real binaries,
// real ZooKeeper, Prometheus and Alertmanager) through the demo scenario.
package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktest"
	"github.com/zkwatch/zkwatch/receiver/payload"
	"github.com/zkwatch/zkwatch/tools/zkwatch-demo/demo"
)

var update = flag.Bool("update", false, "save the Alertmanager payloads seen as receiver fixtures")

// requireTools skips (or, under CI=true, fails) when a real component is
// missing.
func requireTools(tb testing.TB) {
	tb.Helper()
	zktest.Require(tb)
	for _, tool := range []string{"prometheus", "prometheus-alertmanager", "jsonnet"} {
		if _, err := exec.LookPath(tool); err != nil {
			msg := tool + " not installed (apt-get install prometheus prometheus-alertmanager jsonnet)"
			if os.Getenv("CI") == "true" {
				tb.Fatal(msg)
			}
			tb.Skip(msg)
		}
	}
}

// binaries maps the binaries the stack runs to their packages.
var binaries = map[string]string{
	"zookeeper_exporter": "./cmd/zookeeper_exporter", "zkwatch_receiver": "./cmd/zkwatch_receiver",
	"zkwatch_agent": "./cmd/zkwatch_agent", "zkwatch-demo": "./tools/zkwatch-demo",
	"zkwatch_roll": "./cmd/zkwatch_roll",
}

// buildAll builds the binaries the stack runs into a temporary directory.
func buildAll(tb testing.TB) string {
	tb.Helper()
	names := make([]string, 0, len(binaries))
	for name := range binaries {
		names = append(names, name)
	}
	return build(tb, names...)
}

// build builds the named binaries into a temporary directory.
func build(tb testing.TB, names ...string) string {
	tb.Helper()
	bin := tb.TempDir()
	for _, name := range names {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, name), binaries[name])
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("build %s: %v\n%s", name, err, out)
		}
	}
	return bin
}

func startStack(tb testing.TB) *demo.Stack {
	tb.Helper()
	requireTools(tb)
	bin := buildAll(tb)
	repo, _ := filepath.Abs("..")
	dir := tb.TempDir()
	var logBuf strings.Builder
	s, err := demo.Start(context.Background(), demo.Options{Dir: dir, BinDir: bin, Repo: repo, Log: &logBuf, ExporterViaProxy: true})
	if err != nil {
		tb.Fatalf("start stack: %v\n%s", err, logBuf.String())
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			for _, l := range []string{"exporter", "receiver", "receiver-2", "agent", "alertmanager", "prometheus"} {
				data, _ := os.ReadFile(filepath.Join(dir, "logs", l+".log"))
				lines := strings.Split(string(data), "\n")
				if len(lines) > 25 {
					lines = lines[len(lines)-25:]
				}
				tb.Logf("--- %s log ---\n%s", l, strings.Join(lines, "\n"))
			}
		}
		s.Stop()
	})
	return s
}

func TestEndToEnd(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()

	t.Run("a healthy stack fires no alert", func(t *testing.T) { healthyNoAlert(ctx, t, s) })

	var out strings.Builder
	res, err := s.Scenario(ctx, &out)
	t.Log(out.String())
	if err != nil {
		t.Fatalf("scenario: %v", err)
	}
	if len(res.Steps) != 3 {
		t.Fatalf("%d steps", len(res.Steps))
	}

	t.Run("the rolling restart rolls every member and never loses quorum", func(t *testing.T) { checkRoll(t, s, res.Roll) })
	t.Run("the maintenance window postpones the restart until it ends", func(t *testing.T) { checkMaintenance(t, res.Maintenance) })
	t.Run("the split-brain panel shows the demo's lock agreeing", func(t *testing.T) { checkSplitBrain(t, res.SplitBrain) })

	t.Run("each crash of the demo process was restarted once and its incident resolved", func(t *testing.T) {
		restarts := demo.Restarts(s.Dir())
		if len(restarts) != 2 {
			t.Fatalf("restart command ran %d times, want 2 (the kill step, after the maintenance window): %q", len(restarts), restarts)
		}
		var list struct {
			Incidents []struct {
				ID       string `json:"id"`
				Status   string `json:"status"`
				Restarts []struct {
					Outcome string `json:"outcome"`
				} `json:"restarts"`
				Notifications []struct {
					Outcome string `json:"outcome"`
				} `json:"notifications"`
			} `json:"incidents"`
		}
		getJSON(t, s.Receiver+"/api/v1/incidents?alertname=ZooKeeperProcessMemberDown", &list)
		incidents := list.Incidents
		if len(incidents) != 2 {
			t.Fatalf("%d ZooKeeperProcessMemberDown incidents, want 2: %+v", len(incidents), incidents)
		}
		for _, inc := range incidents {
			if inc.Status != "resolved" {
				t.Errorf("incident %s is %s", inc.ID, inc.Status)
			}
			ok := 0
			for _, r := range inc.Restarts {
				if r.Outcome == "success" {
					ok++
				}
			}
			if ok != 1 {
				t.Errorf("incident %s restarts %+v, want one success", inc.ID, inc.Restarts)
			}
			if len(inc.Notifications) < 2 {
				t.Errorf("incident %s notifications %+v, want firing and resolved", inc.ID, inc.Notifications)
			}
		}
	})

	t.Run("both receiver replicas name the replica that restarted", func(t *testing.T) {
		var by [2]map[string]string
		for i, u := range []string{s.Receiver, s.Receiver2} {
			var list struct {
				Incidents []struct {
					ID       string
					Restarts []struct{ Outcome, Replica string }
				}
			}
			getJSON(t, u+"/api/v1/incidents?alertname=ZooKeeperProcessMemberDown", &list)
			by[i] = map[string]string{}
			for _, inc := range list.Incidents {
				for _, r := range inc.Restarts {
					if r.Outcome == "success" {
						by[i][inc.ID] = r.Replica
					}
				}
			}
		}
		if len(by[0]) != 2 || fmt.Sprint(by[0]) != fmt.Sprint(by[1]) {
			t.Errorf("the replicas say the restarts were run by %v and %v", by[0], by[1])
		}
	})

	t.Run("no process-member alert while the exporter is merely disconnected", func(t *testing.T) {
		s.Proxy.Blackhole()
		restored := false
		defer func() {
			if !restored {
				s.Proxy.Restore()
			}
		}()
		// Blind for longer than the session timeout (4s) and the alert's
		// "for" (2s): wait until Prometheus has seen the view unsynced for
		// 8 seconds, checking alerts on the way.
		blind := fmt.Sprintf(`max_over_time(zookeeper_watch_synced{root=%q}[8s]) == 0 and count_over_time(zookeeper_watch_synced{root=%q}[8s]) >= 6`, demo.Group, demo.Group)
		err := zktest.WaitFor(90*time.Second, 200*time.Millisecond, func() error {
			if err := noProcessAlert(ctx, s); err != nil {
				t.Error(err)
				return nil
			}
			v, err := s.Query(ctx, blind)
			if err != nil || len(v) == 0 {
				return fmt.Errorf("view not unsynced long enough yet (%v)", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		s.Proxy.Restore()
		restored = true
		err = zktest.WaitFor(90*time.Second, 200*time.Millisecond, func() error {
			if err := noProcessAlert(ctx, s); err != nil {
				t.Error(err)
				return nil
			}
			v, err := s.Query(ctx, fmt.Sprintf(`min_over_time(zookeeper_watch_synced{root=%q}[4s]) == 1`, demo.Group))
			if err != nil || len(v) == 0 {
				return fmt.Errorf("view not synced again (%v)", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := s.Query(ctx, fmt.Sprintf(`zookeeper_group_member_up{group=%q,member=%q} == 1`, demo.Group, demo.Member)); len(v) != 1 {
			t.Errorf("demo member not up after the exporter reconnected: %v", v)
		}
		if n := len(demo.Restarts(s.Dir())); n != 2 {
			t.Errorf("restart ran %d times after the disconnection", n)
		}
	})

	t.Run("Alertmanager payloads decode as receiver fixtures", func(t *testing.T) {
		records := s.Sink.Records("/alertmanager")
		if len(records) == 0 {
			t.Fatal("no Alertmanager payload seen")
		}
		saved := map[string]bool{}
		for _, r := range records {
			p, err := payload.Decode(strings.NewReader(string(r.Body)))
			if err != nil {
				t.Errorf("payload from Alertmanager rejected: %v\n%s", err, r.Body)
				continue
			}
			name := fmt.Sprintf("alertmanager-%s-%s.json", strings.ToLower(p.CommonLabels["alertname"]), p.Status)
			if *update && !saved[name] && p.CommonLabels["alertname"] != "" {
				saved[name] = true
				if err := os.WriteFile(filepath.Join("..", "receiver", "payload", "testdata", name), r.Body, 0o644); err != nil {
					t.Error(err)
				}
			}
		}
	})

	t.Run("the first restart is counted", func(t *testing.T) {
		// The counter series exists at 0 before the restart, so increase()
		// sees the step to 1 (a series born at 1 would show 0).
		v, err := s.Query(ctx, `sum(increase(zkwatch_receiver_restarts_total{outcome="success"}[10m]))`)
		if err != nil || len(v) != 1 || v[0].Value < 0.9 {
			t.Errorf("increase of successful restarts over the scenario: %v (%v), want 1", v, err)
		}
	})

	t.Run("every dashboard panel returns data", func(t *testing.T) { dashboardsHaveData(ctx, t, s) })
}

// checkRoll: zkwatch_roll restarted each member once, every step ok and
// caught up, the leader last; polled every 100 ms, a quorum was always
// alive.
func checkRoll(t *testing.T, s *demo.Stack, r *demo.RollResult) {
	if r == nil {
		t.Fatal("no rolling restart")
	}
	seen := map[int]bool{}
	for i, st := range r.Steps {
		if st.Outcome != "ok" || st.ZxidLag != 0 || seen[st.ID] {
			t.Errorf("step %+v: want ok, zxid lag 0, each member once", st)
		}
		seen[st.ID] = true
		if (st.Role == "leader") != (i == len(r.Steps)-1) {
			t.Errorf("step %d restarted a %s; the leader goes last", st.Step, st.Role)
		}
	}
	if len(seen) != len(s.Ens.Members) {
		t.Errorf("members restarted %v, want all %d", seen, len(s.Ens.Members))
	}
	q := r.Quorum
	t.Logf("roll: %.1fs, %d polls of 100 ms, fewest alive %d of %d, %d polls without a serving leader (longest %v), %d timed out",
		r.Ended.Sub(r.Began).Seconds(), q.Rounds, q.MinAlive, q.Voters, q.NoLeaderRounds, q.LongestElection.Round(time.Millisecond), q.Unknown)
	// Polls run throughout: at least one per 300 ms on a busy machine.
	if len(q.Lost) > 0 || q.MinAlive < q.Voters/2+1 || time.Duration(q.Rounds)*300*time.Millisecond < r.Ended.Sub(r.Began) {
		t.Errorf("quorum watch: lost %v, fewest alive %d, %d polls over %v", q.Lost, q.MinAlive, q.Rounds, r.Ended.Sub(r.Began))
	}
}

// checkMaintenance: the firing notification said "in maintenance" with the
// window's end and comment, a replica postponed the restart while the
// window was open, nothing restarted the process before the window's end,
// and one restart ran after it.
func checkMaintenance(t *testing.T, m *demo.MaintenanceStep) {
	if m == nil {
		t.Fatal("no maintenance step")
	}
	end := m.WindowEnd.UTC().Format("2006-01-02 15:04:05")
	if !strings.HasSuffix(m.Notification, "(in maintenance)") || !strings.Contains(m.Note, "In maintenance until "+end) ||
		!strings.Contains(m.Note, m.WindowID) || !strings.Contains(m.Note, "the demo's maintenance of its process") {
		t.Errorf("firing notification %q, %q: want it in maintenance until %s, window %s, with its comment", m.Notification, m.Note, end, m.WindowID)
	}
	if m.Postponed.IsZero() || !m.Postponed.Before(m.WindowEnd) || !strings.Contains(m.PostponedReason, "in maintenance") {
		t.Errorf("postponed at %v (%q), window ends %v", m.Postponed, m.PostponedReason, m.WindowEnd)
	}
	if m.RestartsWhileOpen != 0 || m.Restarted.Before(m.WindowEnd) {
		t.Errorf("%d restarts while the window was open; restart at %v, window ended %v", m.RestartsWhileOpen, m.Restarted, m.WindowEnd)
	}
	t.Logf("maintenance: restart ran %v after the window ended; resolved %v after the kill",
		m.Restarted.Sub(m.WindowEnd).Round(time.Millisecond), m.Resolved.Sub(m.Killed).Round(time.Millisecond))
}

// checkSplitBrain: the panel's queries show the demo's lock with one
// believer, the session ZooKeeper names as holder.
func checkSplitBrain(t *testing.T, rows []demo.SplitBrain) {
	for _, b := range rows {
		t.Log(b)
		if b.Kind == "lock" && b.Path == demo.LockPath {
			if !b.Agree() || !strings.HasSuffix(b.String(), ", agree") || !strings.HasPrefix(b.Holder, "0x") {
				t.Errorf("%s: want one believer, the holder's session, agree", b)
			}
			return
		}
	}
	t.Errorf("no split-brain row for %s in %v", demo.LockPath, rows)
}

// healthyWindow is how long a freshly started, healthy stack must go
// without any alert: longer than every shortened "for" of the demo, and
// long enough for rate() windows to fill.
const healthyWindow = 20 * time.Second

// healthyNoAlert watches Prometheus evaluate the shipped rules (with the
// demo's short "for") on the healthy stack until it has seen a window of
// healthyWindow with nothing pending or firing at any evaluation (ALERTS
// over the window, not only the polls). The window is measured by
// Prometheus's own scrapes, not a sleep. An alert restarts the window and
// is logged: a false alert on a healthy stack never clears and fails the
// test, while a probe that timed out because the shared machine stalled
// for seconds is reported but does not.
func healthyNoAlert(ctx context.Context, t *testing.T, s *demo.Stack) {
	started, windowStart := time.Now(), time.Now()
	seen := map[string]bool{}
	restart := func(what string, labels map[string]string) {
		if k := fmt.Sprint(labels); !seen[k] {
			seen[k] = true
			t.Logf("after %s: %s %v", time.Since(started).Round(time.Second), what, labels)
		}
		windowStart = time.Now()
	}
	var evals float64
	err := zktest.WaitFor(healthyWindow+100*time.Second, 500*time.Millisecond, func() error {
		alerts, err := s.Alerts(ctx)
		if err != nil {
			return err
		}
		// Watchdog, the dead man's switch, always fires: it must, and it
		// must be the only one.
		watchdog, others := 0, 0
		for _, a := range alerts {
			if a.Labels["alertname"] == "Watchdog" && a.State == "firing" {
				watchdog++
				continue
			}
			others++
			restart(a.State, a.Labels)
		}
		if others > 0 {
			return fmt.Errorf("%d alerts pending or firing", others)
		}
		if watchdog != 1 {
			return fmt.Errorf("Watchdog fires %d times, want once", watchdog)
		}
		secs := int(time.Since(windowStart).Seconds())
		if secs < int(healthyWindow.Seconds()) {
			return fmt.Errorf("clean for %ds only", secs)
		}
		v, err := s.Query(ctx, fmt.Sprintf(`count_over_time(ALERTS{alertname!="Watchdog"}[%ds])`, secs))
		if err != nil {
			return err
		}
		for _, a := range v {
			restart("ALERTS", a.Labels)
		}
		if len(v) > 0 {
			return fmt.Errorf("alerts between two polls")
		}
		v, err = s.Query(ctx, fmt.Sprintf(`min(count_over_time(up[%ds]))`, secs))
		if err != nil || len(v) == 0 {
			return fmt.Errorf("no scrapes yet (%v)", err)
		}
		if evals = v[0].Value; evals < healthyWindow.Seconds()-1 {
			return fmt.Errorf("only %v scrapes of every target in the window", evals)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("no alert-free window of %s on the healthy stack: %v", healthyWindow, err)
	}
	checkRulesHealthy(t, s)
	t.Logf("no alert but Watchdog pending or firing over %v scrapes of every target (%s after start)", evals, time.Since(started).Round(time.Second))
}

// checkRulesHealthy fails when Prometheus has no rules or one fails to
// evaluate (a broken rule fires nothing and would pass for healthy).
func checkRulesHealthy(t *testing.T, s *demo.Stack) {
	var rules struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name   string `json:"name"`
					Health string `json:"health"`
					Error  string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	getJSON(t, s.Prom+"/api/v1/rules", &rules)
	n := 0
	for _, g := range rules.Data.Groups {
		for _, r := range g.Rules {
			n++
			if r.Health != "ok" {
				t.Errorf("rule %s: health %q %s", r.Name, r.Health, r.Error)
			}
		}
	}
	if n == 0 {
		t.Error("Prometheus has no rules loaded")
	}
}

// panelsWithoutData are dashboard panels the demo cannot fill, with the
// reason. Everything else must return data after the fault scenario.
var panelsWithoutData = map[string]string{
	"zkwatch.json/Tasks":                "the demo runs no zkwatch_agent worker (zkwatch_agent_tasks exists in worker mode only)",
	"zookeeper-ensemble.json/Heap used": "needs ZooKeeper's Prometheus metrics provider (exportJvmInfo), which the Debian build lacks",
	"zookeeper-ensemble.json/GC time":   "needs ZooKeeper's Prometheus metrics provider (exportJvmInfo), which the Debian build lacks",
	"zookeeper-ensemble.json/Top clients": "needs the connections collector (off by default), which the demo's exporter leaves off; " +
		"mixin's TestDashboardsOnLiveEnsemble fills it",
}

// dashboardsHaveData evaluates every panel's queries against the stack's
// Prometheus, with the dashboard's variables filled in from their own
// queries as Grafana does ("All" of the values found).
func dashboardsHaveData(ctx context.Context, t *testing.T, s *demo.Stack) {
	files, _ := filepath.Glob("../dashboards/*.json")
	if len(files) == 0 {
		t.Fatal("no dashboards")
	}
	used := map[string]bool{}
	for _, f := range files {
		d := loadDashboard(t, f)
		vars := resolveVariables(ctx, t, s, d)
		for _, p := range d.Panels {
			if p.Type == "row" {
				continue
			}
			key := filepath.Base(f) + "/" + p.Title
			if reason, ok := panelsWithoutData[key]; ok {
				used[key] = true
				t.Logf("%s: not checked: %s", key, reason)
				continue
			}
			// Rates need two samples in their window: give Prometheus a
			// moment, as a dashboard refresh would.
			err := zktest.WaitFor(20*time.Second, 500*time.Millisecond, func() error {
				return panelData(ctx, s, p, vars)
			})
			if err != nil {
				t.Errorf("%s: %v", key, err)
			}
		}
	}
	for key := range panelsWithoutData {
		if !used[key] {
			t.Errorf("allow-list names %s, which is no panel", key)
		}
	}
}

// panelData succeeds when one of the panel's queries returns a sample
// with a value (NaN, e.g. 0/0, is no data).
func panelData(ctx context.Context, s *demo.Stack, p dashPanel, vars map[string]string) error {
	var errs []string
	for _, tg := range p.Targets {
		expr := substitute(tg.Expr, vars)
		v, err := s.Query(ctx, expr)
		if err != nil {
			return err
		}
		for _, smp := range v {
			if !math.IsNaN(smp.Value) {
				return nil
			}
		}
		errs = append(errs, fmt.Sprintf("%s: %d samples, none a number", expr, len(v)))
	}
	return fmt.Errorf("no data: %s", strings.Join(errs, "; "))
}

type dashPanel struct {
	Type    string `json:"type"`
	Title   string `json:"title"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

type dashboard struct {
	Panels     []dashPanel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

func loadDashboard(t *testing.T, file string) dashboard {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return d
}

var labelValues = regexp.MustCompile(`^label_values\((.*),\s*(\w+)\)$`)

// resolveVariables runs each query variable's label_values(selector,
// label) in order (later ones may use earlier ones) and selects all the
// values found, as an alternation regexp.
func resolveVariables(ctx context.Context, t *testing.T, s *demo.Stack, d dashboard) map[string]string {
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		m := labelValues.FindStringSubmatch(v.Definition)
		if m == nil {
			t.Errorf("variable %s: %q is not label_values(selector, label)", v.Name, v.Definition)
			continue
		}
		res, err := s.Query(ctx, fmt.Sprintf("group by (%s) (%s)", m[2], substitute(m[1], vars)))
		if err != nil {
			t.Errorf("variable %s: %v", v.Name, err)
			continue
		}
		var values []string
		for _, r := range res {
			// Escaped for a regexp inside a PromQL string, as Grafana does.
			values = append(values, strings.ReplaceAll(regexp.QuoteMeta(r.Labels[m[2]]), `\`, `\\`))
		}
		if len(values) == 0 {
			t.Errorf("variable %s: %s finds no values", v.Name, v.Definition)
			continue
		}
		sort.Strings(values)
		vars[v.Name] = "(?:" + strings.Join(values, "|") + ")"
	}
	return vars
}

func noProcessAlert(ctx context.Context, s *demo.Stack) error {
	alerts, err := s.Alerts(ctx)
	if err != nil {
		return nil // Prometheus busy: not evidence either way
	}
	for _, a := range alerts {
		if a.Labels["alertname"] == "ZooKeeperProcessMemberDown" {
			return fmt.Errorf("ZooKeeperProcessMemberDown %s while the exporter was only disconnected: %v", a.State, a.Labels)
		}
	}
	return nil
}

var templateVar = regexp.MustCompile(`\$\{?(\w+)\}?`)

// substitute fills in Grafana's interval variables and the dashboard's
// variables resolved so far.
func substitute(expr string, vars map[string]string) string {
	return templateVar.ReplaceAllStringFunc(expr, func(v string) string {
		name := strings.Trim(v, "${}")
		switch name {
		case "__rate_interval":
			return "30s"
		case "__interval":
			return "5s"
		case "__range":
			return "5m"
		}
		if val, ok := vars[name]; ok {
			return val
		}
		return v
	})
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
