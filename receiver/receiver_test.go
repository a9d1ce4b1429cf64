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
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/receiver/payload"
)

func memberLabels(member string) map[string]string {
	return map[string]string{"alertname": "ZooKeeperProcessMemberDown", "group": "zk-main", "member": member, "severity": "critical"}
}

func incidentID(labels map[string]string, startsAt time.Time) string {
	a := payload.Alert{Labels: labels, StartsAt: startsAt, Fingerprint: payload.Fingerprint(labels)}
	return a.IncidentID()
}

func countLines(t *testing.T, path string) int {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0
	}
	must(t, err)
	return strings.Count(string(b), "\n")
}

// 50 concurrent identical posts make one incident, one notification per
// notifier and one restart.
func TestConcurrentIdenticalPosts(t *testing.T) {
	s1, s2 := newSink(t), newSink(t)
	dir := t.TempDir()
	log := filepath.Join(dir, "restarts.log")
	e := start(t, fmt.Sprintf(`
notifiers:
  - {name: one, webhook: {url: %q}}
  - {name: two, webhook: {url: %q}}
routes:
  - {match: {severity: critical}, notifiers: [one, two]}
restarts:
  - name: member
    match: {alertname: ZooKeeperProcessMemberDown}
    command: ["/bin/sh", "-c", "echo \"$ZKWATCH_INCIDENT_ID $ZKWATCH_LABEL_MEMBER $1\" >> %s", "sh", "{{ .Labels.member }}"]
`, s1.srv.URL, s2.srv.URL, log))
	startsAt := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	body := alertJSON("firing", memberLabels("zk-2"), startsAt)
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, msg := e.post(body); code != http.StatusOK {
				t.Errorf("post: %d %s", code, msg)
			}
		}()
	}
	wg.Wait()
	id := incidentID(memberLabels("zk-2"), startsAt)
	e.waitFor("restart report", func() error {
		if err := expect(1, s1.kinds()["restart"], "sink one restart reports"); err != nil {
			return err
		}
		return expect(1, s2.kinds()["restart"], "sink two restart reports")
	})
	if incs := e.incidents(); len(incs) != 1 || incs[0].ID != id || incs[0].Received != 50 {
		t.Fatalf("incidents: %+v", incs)
	}
	for _, s := range []*sink{s1, s2} {
		if k := s.kinds(); k["firing"] != 1 || len(s.messages()) != 2 {
			t.Errorf("sink got %v", k)
		}
	}
	b, err := os.ReadFile(log)
	must(t, err)
	if string(b) != id+" zk-2 zk-2\n" {
		t.Errorf("restart log %q", b)
	}
	inc := e.incident(id)
	if len(inc.Restarts) != 1 || inc.Restarts[0].Outcome != "success" || inc.Restarts[0].ExitCode != 0 {
		t.Errorf("restarts %+v", inc.Restarts)
	}
	if msg := s1.messages()[1]; !strings.Contains(msg.Text, "Restart member succeeded") {
		t.Errorf("restart report %q", msg.Text)
	}
	e.waitFor("notifications recorded", func() error { return expect(4, len(e.incident(id).Notifications), "notifications") })
	if got := e.counter("zkwatch_receiver_webhook_requests_total", "code", "200"); got != 50 {
		t.Errorf("webhook_requests_total{code=200} = %v", got)
	}
	e.waitFor("restart metric", func() error {
		return expect(1, int(e.counter("zkwatch_receiver_restarts_total", "rule", "member", "outcome", "success")), "restarts_total")
	})
	e.waitFor("delivery metrics", func() error {
		return expect(2, int(e.counter("zkwatch_receiver_notifications_total", "notifier", "one", "outcome", "success")), "notifications_total")
	})
	if got := e.counter("zkwatch_receiver_incidents", "status", "firing"); got != 1 {
		t.Errorf("incidents{firing} = %v", got)
	}

	// Resolution closes the incident and notifies once, even when repeated.
	resolved := alertJSON("resolved", memberLabels("zk-2"), startsAt)
	for range 3 {
		if code, msg := e.post(resolved); code != http.StatusOK {
			t.Fatalf("post resolved: %d %s", code, msg)
		}
	}
	e.waitFor("resolved notifications", func() error { return expect(1, s1.kinds()["resolved"], "resolved") })
	if inc := e.incident(id); inc.Status != "resolved" || inc.ResolvedAt.IsZero() {
		t.Errorf("incident after resolution: %+v", inc)
	}
	// A late retry of the firing notification does not reopen it.
	if code, _ := e.post(body); code != http.StatusOK {
		t.Fatal(code)
	}
	if inc := e.incident(id); inc.Status != "resolved" {
		t.Errorf("late firing reopened the incident")
	}
	if got := e.counter("zkwatch_receiver_incidents", "status", "resolved"); got != 1 {
		t.Errorf("incidents{resolved} = %v", got)
	}
	if n := countLines(t, log); n != 1 {
		t.Errorf("%d restarts ran", n)
	}
}

func TestWebhookStatusCodes(t *testing.T) {
	e := start(t, "global: {bearer_token: s3cret, max_body_bytes: 2048, max_alerts_per_payload: 2}\n")
	good := alertJSON("firing", map[string]string{"alertname": "A"}, time.Now())
	var three payload.Message
	must(t, json.Unmarshal([]byte(good), &three))
	for _, n := range []string{"B", "C"} {
		a := three.Alerts[0]
		a.Labels = map[string]string{"alertname": n}
		three.Alerts = append(three.Alerts, a)
	}
	tooMany, _ := json.Marshal(three)
	auth := []string{"Authorization", "Bearer s3cret"}
	for _, c := range []struct {
		name   string
		body   string
		header []string
		code   int
		reason string
	}{
		{"no token", good, nil, 401, "missing bearer token"},
		{"wrong token", good, []string{"Authorization", "Bearer nope"}, 403, "invalid bearer token"},
		{"basic instead of bearer", good, []string{"Authorization", "Basic s3cret"}, 403, "invalid"},
		{"bad version", strings.Replace(good, `"version":"4"`, `"version":"3"`, 1), auth, 400, "unsupported payload version"},
		{"malformed", "{", auth, 400, "malformed JSON"},
		{"not JSON", good, append([]string{"Content-Type", "text/plain"}, auth...), 415, "application/json"},
		{"too many alerts", string(tooMany), auth, 413, "3 alerts, more than max_alerts_per_payload (2)"},
		{"too large", `{"version":"4","x":"` + strings.Repeat("a", 4096) + `"}`, auth, 413, "exceeds 2048 bytes"},
		{"ok", good, auth, 200, `"new":1`},
		{"repeat", good, auth, 200, `"new":0`},
	} {
		code, msg := e.post(c.body, c.header...)
		if code != c.code || !strings.Contains(msg, c.reason) {
			t.Errorf("%s: got %d %q, want %d %q", c.name, code, msg, c.code, c.reason)
		}
	}
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/webhook", nil)
	must(t, err)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /webhook: %d", resp.StatusCode)
	}
	for code, want := range map[string]float64{"401": 1, "403": 2, "400": 2, "413": 2, "415": 1, "405": 1, "200": 2} {
		if got := e.counter("zkwatch_receiver_webhook_requests_total", "code", code); got != want {
			t.Errorf("webhook_requests_total{code=%s} = %v, want %v", code, got, want)
		}
	}
	// When storing fails, Alertmanager must retry: 5xx.
	must(t, e.st.Close())
	if code, msg := e.post(alertJSON("firing", map[string]string{"alertname": "B"}, time.Now()), auth...); code != 500 {
		t.Errorf("store closed: %d %s", code, msg)
	}
}

// A notifier that is down delays delivery; a 4xx fails it for good.
func TestOutboxRetries(t *testing.T) {
	flaky, broken := newSink(t), newSink(t)
	flaky.fail = 3
	broken.status = http.StatusBadRequest
	e := start(t, fmt.Sprintf(`
global: {retry_initial_backoff: 20ms, retry_max_backoff: 100ms}
notifiers:
  - {name: flaky, webhook: {url: %q}}
  - {name: broken, webhook: {url: %q}}
routes:
  - notifiers: [flaky, broken]
`, flaky.srv.URL, broken.srv.URL))
	startsAt := time.Now()
	labels := map[string]string{"alertname": "A"}
	for i := range 3 {
		l := map[string]string{"alertname": "A", "n": fmt.Sprint(i)}
		if code, msg := e.post(alertJSON("firing", l, startsAt)); code != 200 {
			t.Fatal(code, msg)
		}
	}
	e.waitFor("flaky deliveries", func() error { return expect(3, len(flaky.messages()), "delivered") })
	e.waitFor("outbox empty", func() error { return expect(0, int(e.counter("zkwatch_receiver_outbox_pending")), "pending") })
	e.waitFor("delivery metrics", func() error {
		if err := expect(3, int(e.counter("zkwatch_receiver_notifications_total", "notifier", "flaky", "outcome", "retry")), "retries"); err != nil {
			return err
		}
		return expect(3, int(e.counter("zkwatch_receiver_notifications_total", "notifier", "broken", "outcome", "failure")), "failures")
	})
	// Each incident's message arrives once; a message waiting for a
	// retry does not hold back other incidents' messages.
	seen := map[string]bool{}
	for _, m := range flaky.messages() {
		seen[m.Alert.Labels["n"]] = true
	}
	if len(seen) != 3 {
		t.Errorf("messages for %v", seen)
	}
	_ = labels
	inc := e.incidents()[0]
	var outcomes []string
	for _, n := range inc.Notifications {
		outcomes = append(outcomes, n.Notifier+":"+n.Outcome)
	}
	if len(outcomes) != 2 || !strings.Contains(strings.Join(outcomes, ","), "broken:failure") {
		t.Errorf("recorded %v", outcomes)
	}
	for _, n := range inc.Notifications {
		if n.Notifier == "broken" && !strings.Contains(n.Error, "400") {
			t.Errorf("failure error %q", n.Error)
		}
	}
}
