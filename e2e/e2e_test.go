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
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/demo"
	"github.com/zkwatch/zkwatch/internal/zktest"
	"github.com/zkwatch/zkwatch/receiver/payload"
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

// buildAll builds the binaries the stack runs into a temporary directory.
func buildAll(tb testing.TB) string {
	tb.Helper()
	bin := tb.TempDir()
	for name, pkg := range map[string]string{
		"zookeeper_exporter": "./cmd/zookeeper_exporter", "zkwatch_receiver": "./cmd/zkwatch_receiver",
		"zkwatch_agent": "./cmd/zkwatch_agent", "zkwatch-demo": "./tools/zkwatch-demo",
	} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, name), pkg)
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
			for _, l := range []string{"exporter", "receiver", "agent", "alertmanager", "prometheus"} {
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
	var out strings.Builder
	steps, err := s.Scenario(ctx, &out)
	t.Log(out.String())
	if err != nil {
		t.Fatalf("scenario: %v", err)
	}
	if len(steps) != 3 {
		t.Fatalf("%d steps", len(steps))
	}

	t.Run("restart ran exactly once and the incident is resolved", func(t *testing.T) {
		restarts := demo.Restarts(s.Dir())
		if len(restarts) != 1 {
			t.Fatalf("restart command ran %d times: %q", len(restarts), restarts)
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
		if len(incidents) != 1 {
			t.Fatalf("%d ZooKeeperProcessMemberDown incidents, want 1: %+v", len(incidents), incidents)
		}
		inc := incidents[0]
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
			t.Errorf("incident restarts %+v, want one success", inc.Restarts)
		}
		if len(inc.Notifications) < 2 {
			t.Errorf("incident notifications %+v, want firing and resolved", inc.Notifications)
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
		if n := len(demo.Restarts(s.Dir())); n != 1 {
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

	t.Run("every dashboard panel query returns data", func(t *testing.T) {
		files, _ := filepath.Glob("../dashboards/*.json")
		if len(files) == 0 {
			t.Fatal("no dashboards")
		}
		for _, f := range files {
			for _, q := range panelQueries(t, f) {
				expr := substitute(q.expr)
				// Rates need two samples in their window: give Prometheus
				// a moment, as a dashboard refresh would.
				err := zktest.WaitFor(20*time.Second, 500*time.Millisecond, func() error {
					v, err := s.Query(ctx, expr)
					if err != nil {
						return err
					}
					if len(v) == 0 {
						return fmt.Errorf("no data")
					}
					return nil
				})
				if err != nil {
					t.Errorf("%s panel %q: %s: %v", filepath.Base(f), q.title, expr, err)
				}
			}
		}
	})
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

type panelQuery struct{ title, expr string }

func panelQueries(t *testing.T, file string) []panelQuery {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	var out []panelQuery
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			if tg.Expr != "" {
				out = append(out, panelQuery{p.Title, tg.Expr})
			}
		}
	}
	return out
}

var templateVar = regexp.MustCompile(`\$\{?(\w+)\}?`)

// substitute replaces Grafana's template variables as "All" would.
func substitute(expr string) string {
	return templateVar.ReplaceAllStringFunc(expr, func(v string) string {
		switch strings.Trim(v, "${}") {
		case "__rate_interval":
			return "30s"
		case "__interval":
			return "5s"
		case "__range":
			return "5m"
		default:
			return ".+"
		}
	})
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
