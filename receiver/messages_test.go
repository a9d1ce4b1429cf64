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
	"html"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/receiver/notify/notifytest"
	"github.com/zkwatch/zkwatch/receiver/payload"
	"github.com/zkwatch/zkwatch/receiver/store"
)

type dingMessage struct {
	Markdown struct{ Title, Text string } `json:"markdown"`
	At       struct {
		AtMobiles []string `json:"atMobiles"`
	} `json:"at"`
}

// notification is an Alertmanager notification of n ZooKeeperDown alerts
// (the first resolved ones resolved), as Alertmanager posts it.
func notification(n, resolved int, start time.Time) (payload.Message, []string) {
	m := payload.Message{Version: "4", Status: "firing", Receiver: "zkwatch", GroupKey: "{}:{alertname=\"ZooKeeperDown\"}",
		ExternalURL: "http://alertmanager.example:9093", GroupLabels: payload.KV{"alertname": "ZooKeeperDown"}}
	ids := make([]string, n)
	for i := range n {
		a := payload.Alert{Status: "firing", StartsAt: start,
			Labels: payload.KV{"alertname": "ZooKeeperDown", "group": "zk", "server": fmt.Sprintf("zk-%02d.example:2181", i)},
			Annotations: payload.KV{"summary": fmt.Sprintf("zk-%02d does not answer", i), "description": "No answer to ruok for 1m.",
				"runbook_url": "https://runbooks.example/zookeeper#zookeeperdown"},
			GeneratorURL: "http://prometheus.example:9090/graph?g0.expr=zookeeper_up+%3D%3D+0"}
		if i < resolved {
			a.Status, a.EndsAt = "resolved", start.Add(time.Hour)
		}
		a.Fingerprint = payload.Fingerprint(a.Labels)
		m.Alerts = append(m.Alerts, a)
		ids[i] = a.IncidentID()
	}
	return m, ids
}

// The Done-when: a 30-alert notification to a DingTalk notifier
// with grouping: notification gives one or two signed messages that
// @mention the configured mobile in text and at block, carry runbook,
// source, silence and incident links and show times in the configured
// zone. Incidents stay per alert, with their own records; a repeat sends
// nothing; a webhook notifier with grouping: alert still gets one
// message per alert.
func TestThirtyAlertsOneDingTalkMessage(t *testing.T) {
	robot := notifytest.NewRobot(t, "SECzk")
	robot.Limit(20)
	hook := newSink(t)
	e := start(t, fmt.Sprintf(`
global: {timezone: Asia/Shanghai}
notifiers:
  - name: ding
    grouping: notification
    dingtalk: {url: %q, secret: SECzk, at: {mobiles: ["13800138000"]}}
  - name: hook
    webhook: {url: %q}
routes: [{notifiers: [ding, hook]}]
`, robot.URL, hook.srv.URL))
	e.rcv.SetExternalURL(e.srv.URL + "/")
	start := time.Date(2026, 12, 1, 1, 2, 3, 0, time.UTC)
	m, ids := notification(30, 0, start)
	body, _ := json.Marshal(m)
	if code, msg := e.post(string(body)); code != http.StatusOK {
		t.Fatalf("post: %d %s", code, msg)
	}
	e.waitFor("deliveries", func() error {
		var n int
		must(t, e.st.View(func(tx *store.Tx) error { n = tx.OutboxLen(); return nil }))
		return expect(0, n, "pending deliveries")
	})
	bodies := robot.Bodies()
	if len(bodies) < 1 || len(bodies) > 2 || robot.Rejected() != 0 || robot.TooFast() != 0 {
		t.Fatalf("%d DingTalk messages, %d badly signed, %d too fast", len(bodies), robot.Rejected(), robot.TooFast())
	}
	var all strings.Builder
	for i, b := range bodies {
		t.Logf("DingTalk message %d of %d: %d bytes", i+1, len(bodies), len(b))
		var dm dingMessage
		must(t, json.Unmarshal(b, &dm))
		if !strings.Contains(dm.Markdown.Text, "@13800138000") || strings.Join(dm.At.AtMobiles, ",") != "13800138000" {
			t.Errorf("message %d does not @mention 13800138000: at %v", i, dm.At.AtMobiles)
		}
		if !strings.HasPrefix(dm.Markdown.Title, "[FIRING:30] ZooKeeperDown group=zk") {
			t.Errorf("title %q", dm.Markdown.Title)
		}
		all.WriteString(dm.Markdown.Text)
	}
	text := all.String()
	for _, want := range []struct {
		what string
		n    int
	}{
		{"[runbook](https://runbooks.example/zookeeper#zookeeperdown)", 30},
		{"[source](http://prometheus.example:9090/graph?g0.expr=zookeeper_up+%3D%3D+0)", 30},
		{"[silence](http://alertmanager.example:9093/#/silences/new?filter=%7Balertname%3D%22ZooKeeperDown%22%2C%20group%3D%22zk%22%2C%20server%3D%22zk-", 30},
		{"- started: 2026-12-01 09:02:03 +08:00 CST", 30},
	} {
		if c := strings.Count(text, want.what); c != want.n {
			t.Errorf("%d times %q, want %d", c, want.what, want.n)
		}
	}
	for i, id := range ids {
		link := "[incident](" + e.srv.URL + "/incidents/" + id + ")"
		if !strings.Contains(text, link) || !strings.Contains(text, fmt.Sprintf("server = zk-%02d.example:2181", i)) {
			t.Errorf("alert %d: no %s or server label", i, link)
		}
		inc := e.incident(id)
		var ding, hooked int
		for _, n := range inc.Notifications {
			switch {
			case n.Notifier == "ding" && n.Grouped == 30 && n.Outcome == "success":
				ding++
			case n.Notifier == "hook" && n.Grouped == 0 && n.Outcome == "success":
				hooked++
			}
		}
		if ding != 1 || hooked != 1 {
			t.Errorf("incident %d records: %+v", i, inc.Notifications)
		}
	}
	if len(hook.messages()) != 30 {
		t.Errorf("webhook (grouping: alert) got %d messages, want 30", len(hook.messages()))
	}
	// The incident link works.
	resp, err := http.Get(e.srv.URL + "/incidents/" + ids[7])
	must(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "zk-07.example:2181") || !strings.Contains(html.UnescapeString(string(page)), "+08:00 CST") {
		t.Errorf("incident page: %d\n%s", resp.StatusCode, page)
	}

	// Alertmanager repeats the notification: nothing new to say.
	if code, msg := e.post(string(body)); code != http.StatusOK || !strings.Contains(msg, `"new":0`) {
		t.Fatalf("repeat: %d %s", code, msg)
	}
	// Ten resolve: one message about those ten.
	m, _ = notification(30, 10, start)
	body, _ = json.Marshal(m)
	if code, msg := e.post(string(body)); code != http.StatusOK {
		t.Fatalf("resolve: %d %s", code, msg)
	}
	e.waitFor("resolved message", func() error { return expect(len(bodies)+1, len(robot.Bodies()), "DingTalk messages") })
	var dm dingMessage
	must(t, json.Unmarshal(robot.Bodies()[len(bodies)], &dm))
	if !strings.HasPrefix(dm.Markdown.Title, "[RESOLVED:10] ZooKeeperDown") || !strings.Contains(dm.Markdown.Text, "- ended: 2026-12-01 10:02:03 +08:00 CST") {
		t.Errorf("resolved message %q:\n%.500s", dm.Markdown.Title, dm.Markdown.Text)
	}
}

// A webhook with grouping: notification gets one document listing the
// alerts; a DingTalk text template that fails on a real alert still
// delivers, with the default text.
func TestGroupedWebhookAndTemplateFallback(t *testing.T) {
	robot := notifytest.NewRobot(t, "s")
	hook := newSink(t)
	e := start(t, fmt.Sprintf(`
notifiers:
  - {name: hook, grouping: notification, webhook: {url: %q}}
  - {name: ding, dingtalk: {url: %q, secret: s, text: '{{ range .Alerts }}{{ with .Labels.value }}{{ humanize . }}{{ end }}{{ end }}'}}
routes: [{notifiers: [hook, ding]}]
`, hook.srv.URL, robot.URL))
	m, ids := notification(3, 0, time.Now().Add(-time.Minute))
	m.Alerts[2].Labels["value"] = "not a number"
	body, _ := json.Marshal(m)
	if code, msg := e.post(string(body)); code != http.StatusOK {
		t.Fatalf("post: %d %s", code, msg)
	}
	// A sink sees a message before the receiver records its delivery: wait
	// for both.
	e.waitFor("deliveries", func() error {
		if err := expect(1, len(hook.messages()), "webhook documents"); err != nil {
			return err
		}
		if err := expect(1, len(robot.Bodies()), "DingTalk messages"); err != nil {
			return err
		}
		for _, id := range ids {
			if err := expect(2, len(e.incident(id).Notifications), "recorded deliveries of "+id); err != nil {
				return err
			}
		}
		return nil
	})
	doc := hook.messages()[0]
	if len(doc.Alerts) != 3 || doc.Alerts[2].IncidentID != ids[2] || doc.Kind != "firing" || doc.ExternalURL != m.ExternalURL {
		t.Errorf("document: kind %q, %d alerts, %+v", doc.Kind, len(doc.Alerts), doc.Alerts)
	}
	var dm dingMessage
	must(t, json.Unmarshal(robot.Bodies()[0], &dm))
	if !strings.HasPrefix(dm.Markdown.Text, "### [FIRING:3] ZooKeeperDown group=zk") {
		t.Errorf("fallback text:\n%.300s", dm.Markdown.Text)
	}
	for _, id := range ids {
		if n := e.incident(id).Notifications; len(n) != 2 || n[0].Outcome != "success" || n[1].Outcome != "success" {
			t.Errorf("incident %s: %+v", id, n)
		}
	}
}
