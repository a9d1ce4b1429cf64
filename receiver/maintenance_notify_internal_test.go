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

package receiver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/receiver/notify/notifytest"
	"github.com/zkwatch/zkwatch/receiver/notify/sms"
	"github.com/zkwatch/zkwatch/receiver/notify/webhook"
	"github.com/zkwatch/zkwatch/receiver/payload"
	"github.com/zkwatch/zkwatch/receiver/store"
	tmpl "github.com/zkwatch/zkwatch/receiver/template"
)

// TestNoteForMatchesActiveWindows: the note names the active window that
// matches the alert's labels and ends last; pending, expired and
// non-matching windows give none.
func TestNoteForMatchesActiveWindows(t *testing.T) {
	cfg := mustConfig(t, maintenanceConfig)
	now := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	win := func(id, group string, from, to time.Duration) *store.Window {
		return &store.Window{ID: id, Matchers: []store.Matcher{{Name: "group", Value: group}}, StartsAt: now.Add(from), EndsAt: now.Add(to),
			CreatedBy: "alice", Comment: "disk swap " + id}
	}
	ws := []*store.Window{
		win("short", "/monitor/web", -time.Minute, 10*time.Minute),
		win("long", "/monitor/web", -time.Minute, time.Hour),
		win("pending", "/monitor/web", time.Minute, 2*time.Hour),
		win("expired", "/monitor/db", -time.Hour, -time.Minute),
	}
	n := noteFor(ws, map[string]string{"alertname": "X", "group": "/monitor/web"}, cfg, now)
	if n == nil || n.ID != "long" || !n.EndsAt.Equal(now.Add(time.Hour)) || n.Comment != "disk swap long" || n.CreatedBy != "alice" {
		t.Errorf("note %+v, want window long", n)
	}
	for _, group := range []string{"/monitor/db", "/monitor/other", ""} {
		if n := noteFor(ws, map[string]string{"alertname": "X", "group": group}, cfg, now); n != nil {
			t.Errorf("group %q: note %+v, want none", group, n)
		}
	}
}

// TestMaintenanceInEveryFormat: a message about an alert in a window says
// "in maintenance" with the window's end and comment in every default
// format: subject (e-mail subject, DingTalk title), plain text (webhook
// text, e-mail body), markdown (DingTalk), SMS, and the webhook's JSON;
// alerts without a window say nothing of it.
func TestMaintenanceInEveryFormat(t *testing.T) {
	ends := time.Date(2026, 12, 7, 15, 30, 0, 0, time.UTC)
	note := &store.WindowNote{ID: "0123abcd", EndsAt: ends, CreatedBy: "alice", Comment: "disk swap"}
	alert := func(member string) payload.Alert {
		return payload.Alert{Status: payload.StatusFiring, StartsAt: ends.Add(-time.Hour),
			Labels: payload.KV{"alertname": "ZooKeeperProcessMemberDown", "group": "/monitor/web", "member": member}}
	}
	const until = "In maintenance until 2026-12-07 15:30:00 +00:00 UTC: window 0123abcd by alice: disk swap."
	one := messageData(&store.OutboxItem{IncidentID: "i1", Kind: store.KindFiring, Alert: alert("web-1"), Maintenance: note}, "", time.UTC)
	if s := one.Subject(); s != "[FIRING] ZooKeeperProcessMemberDown group=/monitor/web member=web-1 (in maintenance)" {
		t.Errorf("subject %q", s)
	}
	if s := one.DefaultText(); !strings.Contains(s, "\n"+until+"\n") {
		t.Errorf("text lacks %q:\n%s", until, s)
	}
	if s := one.DefaultMarkdown(); !strings.Contains(s, "(in maintenance)") || !strings.Contains(s, "- **In maintenance until 2026-12-07 15:30:00 +00:00 UTC: window 0123abcd by alice: disk swap.**") {
		t.Errorf("markdown:\n%s", s)
	}
	if s := sms.DefaultText(one); !strings.Contains(s, "(in maintenance): "+strings.TrimSuffix(until, ".")) {
		t.Errorf("sms %q", s)
	}
	msg := postWebhook(t, one)
	if len(msg.Alerts) != 1 || msg.Alerts[0].Maintenance == nil || msg.Alerts[0].Maintenance.Comment != "disk swap" ||
		!msg.Alerts[0].Maintenance.EndsAt.Equal(ends) || !strings.Contains(msg.Text, until) || !strings.HasSuffix(msg.Title, "(in maintenance)") {
		t.Errorf("webhook message %+v", msg)
	}

	group := messageData(&store.OutboxItem{IncidentID: "i1", Kind: store.KindFiring, Alert: alert("web-1"), Group: []store.ItemAlert{
		{IncidentID: "i1", Kind: store.KindFiring, Alert: alert("web-1"), Maintenance: note},
		{IncidentID: "i2", Kind: store.KindFiring, Alert: alert("web-2")},
	}}, "", time.UTC)
	if s := group.Subject(); s != "[FIRING:2] ZooKeeperProcessMemberDown group=/monitor/web (1 in maintenance)" {
		t.Errorf("grouped subject %q", s)
	}
	if s := group.DefaultText(); strings.Count(s, "In maintenance until") != 1 {
		t.Errorf("grouped text: want the line once, for web-1:\n%s", s)
	}
	if msg := postWebhook(t, group); msg.Alerts[0].Maintenance == nil || msg.Alerts[1].Maintenance != nil {
		t.Errorf("grouped webhook alerts %+v", msg.Alerts)
	}

	none := messageData(&store.OutboxItem{IncidentID: "i2", Kind: store.KindFiring, Alert: alert("web-2")}, "", time.UTC)
	for _, s := range []string{none.Subject(), none.DefaultText(), none.DefaultMarkdown(), sms.DefaultText(none)} {
		if strings.Contains(strings.ToLower(s), "maintenance") {
			t.Errorf("an alert in no window: %q", s)
		}
	}
}

func postWebhook(t *testing.T, d *tmpl.Data) webhook.Message {
	t.Helper()
	var got webhook.Message
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	n, err := webhook.New(notifytest.Notifier(t, `notifiers: [{name: w, webhook: {url: "`+srv.URL+`"}}]`).Webhook, "w")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Notify(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	return got
}
