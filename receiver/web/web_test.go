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

package web_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/zkwatch/zkwatch/internal/zktest"
	"github.com/zkwatch/zkwatch/receiver/internal/browsertest"
	"github.com/zkwatch/zkwatch/receiver/payload"
	"github.com/zkwatch/zkwatch/receiver/receivertest"
	"github.com/zkwatch/zkwatch/receiver/store"
)

// setup runs a receiver with a sink notifier and a restart rule, and
// feeds it three incidents: one firing with a restart, one resolved, one
// with a refused restart.
func setup(t *testing.T) (*httptest.Server, map[string]string) {
	sink := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(sink.Close)
	env := receivertest.Start(t, fmt.Sprintf(`
global: {timezone: Asia/Shanghai}
notifiers: [{name: sink, webhook: {url: %q}}]
routes: [{notifiers: [sink]}]
restarts:
  - name: member
    match: {alertname: ZooKeeperProcessMemberDown}
    command: ["/bin/echo", "restarting", "{{ .Labels.member }}"]
`, sink.URL))
	srv, st := env.Server, env.Store

	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	alerts := map[string]map[string]string{
		"member":  {"alertname": "ZooKeeperProcessMemberDown", "group": "zk", "member": "zk-1"},
		"down":    {"alertname": "ZooKeeperDown", "server": "127.0.0.1:2181"},
		"refused": {"alertname": "ZooKeeperProcessMemberDown", "group": "zk", "member": "<script>alert(1)</script>"},
	}
	ids := map[string]string{}
	for name, labels := range alerts {
		a := payload.Alert{Status: "firing", Labels: labels, StartsAt: base, Annotations: map[string]string{"runbook_url": "https://runbooks.example/zk"}}
		a.Fingerprint = payload.Fingerprint(labels)
		ids[name] = a.IncidentID()
		post(t, srv.URL, payload.Message{Version: "4", Status: "firing", Alerts: []payload.Alert{a}, ExternalURL: "http://alertmanager.example:9093"})
		if name == "down" {
			a.Status, a.EndsAt = "resolved", time.Now()
			post(t, srv.URL, payload.Message{Version: "4", Status: "resolved", Alerts: []payload.Alert{a}})
		}
	}
	// Wait for the restart, the refusal and all notifications.
	if err := zktest.WaitFor(30*time.Second, 10*time.Millisecond, func() error {
		var pending int
		var incs []*store.Incident
		err := st.View(func(tx *store.Tx) (err error) {
			pending = tx.OutboxLen()
			incs, err = tx.Incidents(store.Filter{})
			return
		})
		if err != nil {
			return err
		}
		restarts := 0
		for _, inc := range incs {
			restarts += len(inc.Restarts)
		}
		if pending != 0 || restarts != 2 {
			return fmt.Errorf("%d pending, %d restart records", pending, restarts)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return srv, ids
}

func post(t *testing.T, url string, m payload.Message) {
	b, _ := json.Marshal(m)
	resp, err := http.Post(url+"/webhook", "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("post: %d %s", resp.StatusCode, body)
	}
}

func getJSON(t *testing.T, url string, v any) int {
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: content type %q", url, ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	return resp.StatusCode
}

func TestIncidentAPI(t *testing.T) {
	srv, ids := setup(t)
	type list struct{ Incidents []store.Incident }
	for q, want := range map[string]int{
		"": 3, "?status=firing": 2, "?status=resolved": 1, "?alertname=ZooKeeperDown": 1,
		"?alertname=ZooKeeperProcessMemberDown&status=firing": 2, "?limit=1": 1,
		"?since=" + time.Now().Add(time.Hour).Format(time.RFC3339):    0,
		fmt.Sprintf("?since=%d", time.Now().Add(-time.Hour).Unix()):   3,
		"?until=" + time.Now().Add(-2*time.Hour).Format(time.RFC3339): 0,
	} {
		var l list
		if code := getJSON(t, srv.URL+"/api/v1/incidents"+q, &l); code != 200 || len(l.Incidents) != want {
			t.Errorf("%q: %d, %d incidents, want %d", q, code, len(l.Incidents), want)
		}
	}
	for _, q := range []string{"?status=open", "?since=yesterday", "?limit=0"} {
		var e map[string]string
		if code := getJSON(t, srv.URL+"/api/v1/incidents"+q, &e); code != 400 || e["error"] == "" {
			t.Errorf("%q: %d %v", q, code, e)
		}
	}
	var inc store.Incident
	if code := getJSON(t, srv.URL+"/api/v1/incidents/"+ids["member"], &inc); code != 200 {
		t.Fatal(code)
	}
	if inc.ID != ids["member"] || len(inc.Restarts) != 1 || inc.Restarts[0].Outcome != "success" ||
		!strings.Contains(inc.Restarts[0].Output, "restarting zk-1") || len(inc.Notifications) != 2 {
		t.Errorf("incident %+v", inc)
	}
	var e map[string]string
	if code := getJSON(t, srv.URL+"/api/v1/incidents/nope", &e); code != 404 {
		t.Errorf("missing incident: %d", code)
	}
	for _, p := range []string{"/-/healthy", "/-/ready"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
}

// The status page, checked in a real headless browser.
func TestStatusPageInBrowser(t *testing.T) {
	ctx := browsertest.Start(t)
	srv, ids := setup(t)
	must := func(v string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitReady(chromedp.CSS("#notifications"))); err != nil {
		t.Fatal(err)
	}
	title := must(chromedp.Run(ctx, chromedp.Title()))
	open := must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#open-incidents"))))
	restarts := must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#restarts"))))
	notifications := must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#notifications"))))
	pending := must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#pending"))))
	openRows, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("#open-incidents tr.incident")))
	if err != nil {
		t.Fatal(err)
	}
	recentRows, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("#recent-incidents tr.incident")))
	if err != nil {
		t.Fatal(err)
	}
	// A label value with markup must be shown as text, never run.
	alerted, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelectorAll("#open-incidents script").length > 0`))
	if err != nil {
		t.Fatal(err)
	}
	if title != "zkwatch receiver" {
		t.Errorf("title %q", title)
	}
	if len(openRows) != 2 || len(recentRows) != 3 {
		t.Errorf("%d open rows, %d recent rows", len(openRows), len(recentRows))
	}
	if !strings.Contains(open, ids["member"]) || strings.Contains(open, ids["down"]) || !strings.Contains(open, "<script>alert(1)</script>") {
		t.Errorf("open incidents table:\n%s", open)
	}
	if alerted {
		t.Error("label markup was injected into the page")
	}
	if !strings.Contains(restarts, "success") || !strings.Contains(restarts, "refused") || !strings.Contains(restarts, "restarting zk-1") {
		t.Errorf("restarts table:\n%s", restarts)
	}
	if !strings.Contains(notifications, "sink") || !strings.Contains(notifications, "resolved") || !strings.Contains(notifications, "restart") {
		t.Errorf("notifications table:\n%s", notifications)
	}
	if pending != "0" {
		t.Errorf("pending %q", pending)
	}
	// Times are shown in global.timezone with the offset.
	if !strings.Contains(restarts, "+08:00 CST") || !strings.Contains(notifications, "+08:00 CST") {
		t.Errorf("times not in Asia/Shanghai:\n%s\n%s", restarts, notifications)
	}
	// The incident links lead to the incident's page: its notifications,
	// its restart with the command's output, times in global.timezone.
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`#open-incidents a[href$="`+ids["member"]+`"]`))); err != nil {
		t.Fatal(err)
	}
	status := must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#status"))))
	started := must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#started"))))
	incNotes := must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#notifications"))))
	incRestarts := must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#restarts"))))
	output := must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#restarts pre.output"))))
	links := must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#links"))))
	if status != "firing" || !strings.HasSuffix(started, "+08:00 CST") || !strings.Contains(incNotes, "sink") ||
		!strings.Contains(incRestarts, "success") || strings.TrimSpace(output) != "restarting zk-1" ||
		!strings.Contains(links, "runbook") || !strings.Contains(links, "silence") {
		t.Errorf("incident page: status %q, started %q\nnotifications:\n%s\nrestarts:\n%s\noutput %q, links %q",
			status, started, incNotes, incRestarts, output, links)
	}
	silence := must(chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#silence").href`)))
	if want := "http://alertmanager.example:9093/#/silences/new?filter=%7Balertname%3D%22ZooKeeperProcessMemberDown%22%2C%20group%3D%22zk%22%2C%20member%3D%22zk-1%22%7D"; silence != want {
		t.Errorf("silence link %s, want %s", silence, want)
	}
}
