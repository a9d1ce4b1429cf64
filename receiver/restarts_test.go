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

package receiver_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func restartConfig(sinkURL, rules string) string {
	return fmt.Sprintf(`
notifiers:
  - {name: sink, webhook: {url: %q}}
routes:
  - notifiers: [sink]
restarts:
%s`, sinkURL, rules)
}

func TestRestartAttemptsBackoffExhausted(t *testing.T) {
	s := newSink(t)
	log := filepath.Join(t.TempDir(), "runs")
	e := start(t, restartConfig(s.srv.URL, fmt.Sprintf(`
  - name: flaky
    match: {alertname: ZooKeeperProcessMemberDown}
    command: ["/bin/sh", "-c", "date +%%s%%N >> %s; echo failing; exit 7"]
    max_attempts: 3
    backoff: 200ms
`, log)))
	startsAt := time.Now()
	if code, msg := e.post(alertJSON("firing", memberLabels("zk-1"), startsAt)); code != 200 {
		t.Fatal(code, msg)
	}
	e.waitFor("exhausted", func() error {
		return expect(1, int(e.counter("zkwatch_receiver_restarts_total", "rule", "flaky", "outcome", "exhausted")), "exhausted")
	})
	if n := countLines(t, log); n != 3 {
		t.Errorf("%d runs, want 3", n)
	}
	if got := e.counter("zkwatch_receiver_restarts_total", "rule", "flaky", "outcome", "failure"); got != 3 {
		t.Errorf("failures %v", got)
	}
	// Runs are at least the backoff apart.
	b, _ := os.ReadFile(log)
	var prev int64
	for i, l := range strings.Fields(string(b)) {
		var ns int64
		fmt.Sscan(l, &ns)
		if i > 0 && time.Duration(ns-prev) < 190*time.Millisecond {
			t.Errorf("attempt %d only %s after the previous one", i+1, time.Duration(ns-prev))
		}
		prev = ns
	}
	inc := e.incident(incidentID(memberLabels("zk-1"), startsAt))
	if len(inc.Restarts) != 3 || inc.Restarts[2].ExitCode != 7 || !strings.Contains(inc.Restarts[2].Output, "failing") {
		t.Errorf("restarts %+v", inc.Restarts)
	}
	e.waitFor("reports", func() error { return expect(3, s.kinds()["restart"], "restart reports") })
	var last string
	for _, m := range s.messages() {
		if m.Kind == "restart" {
			last = m.Text
		}
	}
	if !strings.Contains(last, "Restart flaky failed (attempt 3 of 3)") || !strings.Contains(last, "giving up") {
		t.Errorf("last report %q", last)
	}
}

func TestRestartRefusedDryRunCooldown(t *testing.T) {
	s := newSink(t)
	dir := t.TempDir()
	e := start(t, restartConfig(s.srv.URL, fmt.Sprintf(`
  - name: strict
    match: {alertname: ZooKeeperProcessMemberDown}
    command: ["/usr/bin/touch", "{{ .Labels.member }}"]
    workdir: %q
    allow: {member: "^[A-Za-z0-9._-]+$"}
  - name: dry
    match: {alertname: Dry}
    command: ["/usr/bin/touch", "dry-{{ .Labels.member }}"]
    workdir: %q
    dry_run: true
`, dir, dir)))
	now := time.Now()
	for _, v := range []string{"x; touch PWNED", "$(touch PWNED)", "`id`"} {
		if code, msg := e.post(alertJSON("firing", memberLabels(v), now)); code != 200 {
			t.Fatal(code, msg)
		}
	}
	e.waitFor("refusals", func() error {
		return expect(3, int(e.counter("zkwatch_receiver_restarts_total", "rule", "strict", "outcome", "refused")), "refused")
	})
	inc := e.incident(incidentID(memberLabels("$(touch PWNED)"), now))
	if len(inc.Restarts) != 1 || inc.Restarts[0].Outcome != "refused" || !strings.Contains(inc.Restarts[0].Reason, "does not match allow") {
		t.Errorf("refusal record %+v", inc.Restarts)
	}

	// Dry run: recorded and reported, nothing runs.
	if code, msg := e.post(alertJSON("firing", map[string]string{"alertname": "Dry", "member": "m"}, now)); code != 200 {
		t.Fatal(code, msg)
	}
	e.waitFor("dry run", func() error {
		return expect(1, int(e.counter("zkwatch_receiver_restarts_total", "rule", "dry", "outcome", "dry_run")), "dry_run")
	})

	// Cooldown (the default, 5m): the same target in a new incident waits.
	if code, _ := e.post(alertJSON("firing", memberLabels("zk-3"), now)); code != 200 {
		t.Fatal(code)
	}
	e.waitFor("first restart", func() error {
		return expect(1, int(e.counter("zkwatch_receiver_restarts_total", "rule", "strict", "outcome", "success")), "success")
	})
	later := now.Add(time.Minute)
	if code, _ := e.post(alertJSON("firing", memberLabels("zk-3"), later)); code != 200 {
		t.Fatal(code)
	}
	e.waitFor("postponed", func() error {
		inc := e.incident(incidentID(memberLabels("zk-3"), later))
		if len(inc.Restarts) == 0 || inc.Restarts[0].Outcome != "postponed" || !strings.Contains(inc.Restarts[0].Reason, "cooldown") {
			return fmt.Errorf("restarts %+v", inc.Restarts)
		}
		return nil
	})
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, en := range entries {
		names = append(names, en.Name())
	}
	if strings.Join(names, ",") != "zk-3" {
		t.Errorf("files created: %v", names)
	}
	e.waitFor("reports", func() error { return expect(5, s.kinds()["restart"], "restart reports") })
}

func TestRestartGuardPostponesAndResolutionCancels(t *testing.T) {
	s := newSink(t)
	var addrs []string
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		must(t, err)
		addrs = append(addrs, l.Addr().String())
		l.Close() // nothing listens: no member serves
	}
	ran := filepath.Join(t.TempDir(), "ran")
	e := start(t, restartConfig(s.srv.URL, fmt.Sprintf(`
  - name: zk
    match: {alertname: ZooKeeperDown}
    command: ["/usr/bin/touch", %q]
    guard: {zookeeper: [%q, %q, %q], timeout: 500ms, retry_interval: 100ms}
`, ran, addrs[0], addrs[1], addrs[2])))
	labels := map[string]string{"alertname": "ZooKeeperDown", "server": addrs[0]}
	now := time.Now()
	if code, _ := e.post(alertJSON("firing", labels, now)); code != 200 {
		t.Fatal(code)
	}
	id := incidentID(labels, now)
	e.waitFor("postponements", func() error {
		if n := e.counter("zkwatch_receiver_restarts_total", "rule", "zk", "outcome", "postponed"); n < 3 {
			return fmt.Errorf("%v postponements", n)
		}
		return nil
	})
	inc := e.incident(id)
	// The reason is recorded once, not once per check.
	if len(inc.Restarts) != 1 || !strings.Contains(inc.Restarts[0].Reason, "quorum guard: only 0 of the other members serve") {
		t.Errorf("restarts %+v", inc.Restarts)
	}
	if code, _ := e.post(alertJSON("resolved", labels, now)); code != 200 {
		t.Fatal(code)
	}
	e.waitFor("cancellation", func() error {
		inc := e.incident(id)
		if last := inc.Restarts[len(inc.Restarts)-1]; last.Outcome != "cancelled" {
			return fmt.Errorf("last restart record %+v", last)
		}
		return nil
	})
	if _, err := os.Stat(ran); !os.IsNotExist(err) {
		t.Error("the guarded command ran")
	}
}
