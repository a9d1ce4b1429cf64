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

package demo

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
)

// Pages are the web pages of Prometheus and Alertmanager the demo links,
// found by asking the running servers: Debian's Prometheus 2.x serves its
// pages under /classic/ (/alerts answers 404), upstream's at the root; and
// Debian's Alertmanager ships no web UI (its page only says so).
type Pages struct {
	PromAlerts  string // Prometheus's alerts page
	PromTargets string // Prometheus's targets page
	AMHasUI     bool   // Alertmanager serves its web application
}

// findPages asks Prometheus and Alertmanager which pages they serve.
func (s *Stack) findPages(ctx context.Context) (err error) {
	if s.Pages.PromAlerts, err = firstOK(ctx, s.Prom, "/alerts", "/classic/alerts"); err != nil {
		return err
	}
	if s.Pages.PromTargets, err = firstOK(ctx, s.Prom, "/targets", "/classic/targets"); err != nil {
		return err
	}
	// The web application's script; the Debian notice page has none.
	_, err = firstOK(ctx, s.AM, "/script.js")
	s.Pages.AMHasUI = err == nil
	return nil
}

// firstOK returns base+path for the first path that answers 200.
func firstOK(ctx context.Context, base string, paths ...string) (string, error) {
	var errs []string
	for _, p := range paths {
		code, err := getStatus(ctx, base+p)
		if err == nil && code == http.StatusOK {
			return base + p, nil
		}
		if err != nil {
			errs = append(errs, err.Error())
		} else {
			errs = append(errs, fmt.Sprintf("%s: HTTP %d", p, code))
		}
	}
	return "", fmt.Errorf("%s: no page of %s answers: %s", base, strings.Join(paths, ", "), strings.Join(errs, "; "))
}

// getStatus GETs u, following redirects, and returns the status code.
func getStatus(ctx context.Context, u string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Link is one address the demo prints, with what it shows.
type Link struct {
	Component string // empty: same component as the line before
	URL       string
	Note      string
}

// Links are the addresses the demo prints; each answers 200.
func (s *Stack) Links() []Link {
	amNote := ""
	if !s.Pages.AMHasUI {
		amNote = `Debian's package has no web UI: this page, and the receivers' "silence" links, only say so; use the API below or amtool`
	}
	return []Link{
		{"zookeeper_exporter", s.Exporter + "/metrics", ""},
		{"Prometheus", s.Prom + "/", "graph"},
		{"", s.Pages.PromAlerts, "alerts"},
		{"", s.Pages.PromTargets, "targets"},
		{"Alertmanager", s.AM + "/", amNote},
		{"", s.AM + "/api/v2/alerts", "alerts, JSON"},
		{"", s.AM + "/api/v2/silences", "silences, JSON"},
		{"zkwatch_receiver", s.Receiver + "/", "incidents page"},
		{"", s.Receiver + "/api/v1/incidents", "incidents, JSON"},
		{"", s.Receiver2 + "/", "second replica; they coordinate through the ensemble"},
		{"zkwatch_agent", s.Agent + "/metrics", "supervises the demo process " + Group + "/" + Member},
		{"zkwatch_agent lock", s.LockAgent + "/metrics", "runs the singleton job while holding " + LockPath},
	}
}

// PrintSummary writes where everything is and what to try.
func (s *Stack) PrintSummary(w io.Writer) {
	fmt.Fprintf(w, "\nzkwatch demo is running (state and logs in %s):\n", s.opts.Dir)
	for i, m := range s.Ens.Members {
		fmt.Fprintf(w, "  %-20s %s\n", fmt.Sprintf("ZooKeeper member %d", i+1), m.Addr())
	}
	for _, l := range s.Links() {
		line := fmt.Sprintf("  %-20s %s", l.Component, l.URL)
		if l.Note != "" {
			line += "  (" + l.Note + ")"
		}
		fmt.Fprintln(w, line)
	}
	demoBin := filepath.Join(s.opts.BinDir, "zkwatch-demo")
	fmt.Fprintf(w, `
Try:
  crash the demo process   kill -9 $(cat %s)
                           ZooKeeperProcessMemberDown fires, a receiver restarts it, the alert resolves
  stop a ZooKeeper member  %s --dir %s member stop 1
  start it again           %s --dir %s member start 1
  roll the ensemble        %s
  pause the restarts       %s
  list the alerts          amtool --alertmanager.url=%s alert query
  silence an alert         %s
`, s.path("app-child.pid"), demoBin, s.opts.Dir, demoBin, s.opts.Dir, s.RollCommand(), s.MaintenanceCommand(), s.AM, s.SilenceCommand("ZooKeeperMemberDown"))
}

// RollCommand is the zkwatch_roll command that restarts the demo's
// members one at a time.
func (s *Stack) RollCommand() string {
	return fmt.Sprintf("%s --zookeeper.servers=%s -- %s --dir %s member restart '{{.ID}}'",
		filepath.Join(s.opts.BinDir, "zkwatch_roll"), s.Ens.Servers(), filepath.Join(s.opts.BinDir, "zkwatch-demo"), s.opts.Dir)
}

// MaintenanceCommand opens a 10-minute maintenance window on the demo
// process at the first receiver replica (GNU date).
func (s *Stack) MaintenanceCommand() string {
	return fmt.Sprintf(`curl -H 'Content-Type: application/json' %s/api/v1/maintenance -d '{"matchers": [{"name": "member", "value": %q}], `+
		`"endsAt": "'$(date -u -d +10min +%%FT%%TZ)'", "createdBy": "'$(id -un)'", "comment": "trying zkwatch"}'`, s.Receiver, Member)
}

// SilenceCommand is the amtool command that silences alertname for an hour.
func (s *Stack) SilenceCommand(alertname string) string {
	return fmt.Sprintf("amtool --alertmanager.url=%s silence add alertname=%s --duration=1h --comment=zkwatch-demo", s.AM, alertname)
}
