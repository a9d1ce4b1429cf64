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
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktest"
	"github.com/zkwatch/zkwatch/receiver/notify/notifytest"
)

// watchdogAlertmanager repeats the Watchdog alert to the receiver about
// every second, as a dead man's switch route does (with minutes there).
func watchdogAlertmanager(t *testing.T, dir, webhookURL string) *alertmanagerProc {
	am := runAlertmanager(t, dir, fmt.Sprintf(`
route:
  receiver: zkwatch
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1s
receivers:
  - name: zkwatch
    webhook_configs:
      - url: %q
        send_resolved: true
        http_config: {authorization: {credentials: s3cret}}
`, webhookURL))
	postAlerts(t, am.addr, []map[string]any{{"labels": map[string]string{"alertname": "Watchdog", "severity": "none"},
		"annotations": map[string]string{"summary": "always firing"},
		"startsAt":    time.Now().UTC().Format(time.RFC3339Nano), "endsAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)}})
	return am
}

// robotTexts returns the markdown texts the DingTalk stand-in received.
func robotTexts(t *testing.T, r *notifytest.Robot) []string {
	var out []string
	for _, b := range r.Bodies() {
		var m struct{ Markdown struct{ Text string } }
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m.Markdown.Text)
	}
	return out
}

func countContaining(texts []string, sub string) int {
	n := 0
	for _, s := range texts {
		if strings.Contains(s, sub) {
			n++
		}
	}
	return n
}

// The Done-when for the dead man's switch: real Alertmanager
// repeats the Watchdog alert to the receiver binary, which makes no
// incident or message of it; once Alertmanager is stopped the receiver's
// own DingTalk notifier says so within watchdog.missing_after, once, and
// once more when Alertmanager is back.
func TestWatchdogRealAlertmanagerStopped(t *testing.T) {
	const window = 4 * time.Second
	dir := t.TempDir()
	robot := notifytest.NewRobot(t, "SECzk")
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(t, cfg, fmt.Sprintf(`global: {bearer_token: s3cret}
notifiers: [{name: ding, dingtalk: {url: %q, secret: SECzk}}]
routes: [{notifiers: [ding]}]
watchdog: {missing_after: %s, notifiers: [ding]}
`, robot.URL, window))
	p := launch(t, cfg, filepath.Join(dir, "data"))
	p.token = "s3cret"
	am := watchdogAlertmanager(t, dir, p.url+"/webhook")
	var first float64
	// Repeats keep it alive for longer than the window: no message.
	if err := zktest.WaitFor(60*time.Second, 100*time.Millisecond, func() error {
		last := p.metric("zkwatch_receiver_watchdog_last_seen_timestamp_seconds")
		if first == 0 && last > 0 {
			first = last
		}
		if first == 0 || last-first < (window+time.Second).Seconds() {
			return fmt.Errorf("last seen %v, first %v", last, first)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if m := p.metric("zkwatch_receiver_watchdog_missing"); m != 0 || len(robot.Bodies()) != 0 {
		t.Fatalf("missing = %v, %d messages while the watchdog arrived", m, len(robot.Bodies()))
	}
	if n := p.metric(`zkwatch_receiver_webhook_requests_total{code="200"}`); n < 3 {
		t.Errorf("%v webhook posts, want the repeats", n)
	}
	am.stop()
	stopped := time.Now()
	var arrived time.Time
	if err := zktest.WaitFor(60*time.Second, 20*time.Millisecond, func() error {
		if n := countContaining(robotTexts(t, robot), "has not arrived"); n != 1 {
			return fmt.Errorf("%d missing messages", n)
		}
		arrived = time.Now()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	last := time.Unix(0, int64(p.metric("zkwatch_receiver_watchdog_last_seen_timestamp_seconds")*1e9))
	t.Logf("missing message %s after the last arrival, %s after Alertmanager stopped (window %s)",
		arrived.Sub(last).Round(time.Millisecond), arrived.Sub(stopped).Round(time.Millisecond), window)
	if d := arrived.Sub(last); d < window {
		t.Errorf("paged %s after the last arrival, before the window of %s", d, window)
	}
	// One check a second plus the delivery; generous for a busy machine.
	if d := arrived.Sub(stopped); d > window+3*time.Second {
		t.Errorf("paged %s after Alertmanager stopped, window %s", d, window)
	}
	if m := p.metric("zkwatch_receiver_watchdog_missing"); m != 1 {
		t.Errorf("missing = %v", m)
	}
	watchdogAlertmanager(t, dir, p.url+"/webhook")
	if err := zktest.WaitFor(60*time.Second, 50*time.Millisecond, func() error {
		if n := countContaining(robotTexts(t, robot), "arrives again"); n != 1 {
			return fmt.Errorf("%d back messages", n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	texts := robotTexts(t, robot)
	if len(texts) != 2 || countContaining(texts, "has not arrived") != 1 {
		t.Errorf("messages %q, want one missing and one back", texts)
	}
	if m := p.metric("zkwatch_receiver_watchdog_missing"); m != 0 {
		t.Errorf("missing = %v after it came back", m)
	}
	// The watchdog alert itself is no incident.
	resp, err := p.get("/api/v1/incidents")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"incidents": []`) {
		t.Errorf("incidents: %s", b)
	}
}

// Two replicas behind one Alertmanager both see the Watchdog go missing;
// they share its last arrival through ZooKeeper, so they name the outage
// alike, and its message is claimed and sent once, as is the "back" one.
func TestWatchdogReplicasPageOnce(t *testing.T) {
	const window = 4 * time.Second
	zk := zktest.Start(t, 1)
	dir := t.TempDir()
	robot := notifytest.NewRobot(t, "SECzk")
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(t, cfg, fmt.Sprintf(`global: {bearer_token: s3cret}
notifiers: [{name: ding, dingtalk: {url: %q, secret: SECzk}}]
routes: [{notifiers: [ding]}]
watchdog: {missing_after: %s, notifiers: [ding]}
`, robot.URL, window))
	var replicas []*proc
	for _, name := range []string{"a", "b"} {
		p := launch(t, cfg, filepath.Join(dir, "data-"+name), "--ha.zookeeper.servers="+zk.Servers(),
			"--ha.replica-name="+name, "--ha.zookeeper.session-timeout=4s")
		p.token = "s3cret"
		replicas = append(replicas, p)
	}
	// Alertmanager posts to replica a only: b learns the arrivals
	// through ZooKeeper.
	am := watchdogAlertmanager(t, dir, replicas[0].url+"/webhook")
	if err := zktest.WaitFor(60*time.Second, 100*time.Millisecond, func() error {
		for i, p := range replicas {
			if v := p.metric("zkwatch_receiver_watchdog_last_seen_timestamp_seconds"); v <= 0 {
				return fmt.Errorf("replica %d: last seen %v", i, v)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// settled: both replicas have taken the change in, one sent it and
	// the other found the sender's claim.
	settled := func(missing float64, sub string, lostWant float64) {
		t.Helper()
		if err := zktest.WaitFor(60*time.Second, 50*time.Millisecond, func() error {
			lost := 0.0
			for i, p := range replicas {
				if v := p.metric("zkwatch_receiver_watchdog_missing"); v != missing {
					return fmt.Errorf("replica %d: missing = %v", i, v)
				}
				if v := p.metric("zkwatch_receiver_outbox_pending"); v != 0 {
					return fmt.Errorf("replica %d: %v pending", i, v)
				}
				lost += p.metric(`zkwatch_receiver_ha_claims_total{result="lost"}`)
			}
			if n := countContaining(robotTexts(t, robot), sub); n < 1 || lost < lostWant {
				return fmt.Errorf("%d messages with %q, %v claims lost", n, sub, lost)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	am.stop()
	settled(1, "has not arrived", 1)
	if n := countContaining(robotTexts(t, robot), "has not arrived"); n != 1 {
		t.Errorf("%d missing messages from two replicas, want 1", n)
	}
	watchdogAlertmanager(t, dir, replicas[0].url+"/webhook")
	settled(0, "arrives again", 2)
	if texts := robotTexts(t, robot); len(texts) != 2 {
		t.Errorf("messages %q, want one missing and one back", texts)
	}
}
