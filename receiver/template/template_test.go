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

package template

import (
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/receiver/payload"
)

func TestDefaultTexts(t *testing.T) {
	d := &Data{IncidentID: "i1", Kind: "restart", Text: "Restart r succeeded.", Alert: payload.Alert{
		Status: "resolved", Labels: map[string]string{"alertname": "ZooKeeperProcessMemberDown", "group": "g", "member": "m"},
		Annotations: map[string]string{"summary": "S", "description": "D"},
		StartsAt:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), EndsAt: time.Date(2026, 1, 2, 4, 0, 0, 0, time.UTC),
	}}
	if s := d.Subject(); s != "[RESTART] ZooKeeperProcessMemberDown group=g member=m" {
		t.Errorf("subject %q", s)
	}
	text := d.DefaultText()
	for _, want := range []string{"Restart r succeeded.", "Summary: S", "Description: D", "Started: 2026-01-02 03:04:05 +00:00 UTC",
		"Ended: 2026-01-02 04:00:00 +00:00 UTC", "  member = m", "Incident: i1"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if md := d.DefaultMarkdown(); !strings.HasPrefix(md, "### [RESTART]") || !strings.Contains(md, "**Restart r succeeded.**") {
		t.Errorf("markdown:\n%s", md)
	}
}

func TestGroupedDataAndLinks(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	alert := func(server, status string) Alert {
		a := payload.Alert{Status: status, StartsAt: start, Labels: payload.KV{"alertname": "ZooKeeperDown", "group": "zk", "server": server},
			Annotations: payload.KV{"summary": "down", "runbook_url": "https://rb.example/zk"}, GeneratorURL: "https://prom.example/graph?g0.expr=up"}
		return Alert{Alert: a, Kind: status, IncidentID: "id-" + server}
	}
	d := New(Message{Kind: "mixed", ExternalURL: "http://am.example:9093/", GroupLabels: map[string]string{"group": "zk"},
		Alerts: []Alert{alert("a:1", "firing"), alert("b\"x:2", "resolved")}}, Options{ReceiverURL: "https://rcv.example/zk/", Location: shanghai})
	if len(d.Alerts.Firing()) != 1 || len(d.Alerts.Resolved()) != 1 || d.Status != "firing" || d.IncidentID != "" {
		t.Errorf("firing %d resolved %d status %q incident %q", len(d.Alerts.Firing()), len(d.Alerts.Resolved()), d.Status, d.IncidentID)
	}
	if got := d.CommonLabels.Names(); strings.Join(got, ",") != "alertname,group" {
		t.Errorf("common labels %v", got)
	}
	if s := d.Subject(); s != "[FIRING:1 RESOLVED:1] ZooKeeperDown group=zk" {
		t.Errorf("subject %q", s)
	}
	if u := d.Alerts[1].IncidentURL; u != "https://rcv.example/zk/incidents/id-b%22x:2" {
		t.Errorf("incident url %q", u)
	}
	// Alertmanager's new-silence form, label values quoted as matchers.
	want := "http://am.example:9093/#/silences/new?filter=%7Balertname%3D%22ZooKeeperDown%22%2C%20group%3D%22zk%22%2C%20server%3D%22b%5C%22x%3A2%22%7D"
	if u := d.Alerts[1].SilenceURL; u != want {
		t.Errorf("silence url\n%s\nwant\n%s", u, want)
	}
	for name, text := range map[string]string{"text": d.DefaultText(), "markdown": d.DefaultMarkdown()} {
		for _, want := range []string{"2026-01-02 11:04:05 +08:00 CST", "https://rb.example/zk", "https://prom.example/graph?g0.expr=up",
			d.Alerts[0].SilenceURL, d.Alerts[0].IncidentURL, d.Alerts[1].IncidentURL} {
			if !strings.Contains(text, want) {
				t.Errorf("%s lacks %q:\n%s", name, want, text)
			}
		}
	}
	// Only the labels an alert does not share are listed per alert.
	if strings.Count(d.DefaultText(), "alertname = ") != 0 || strings.Count(d.DefaultText(), "server = ") != 2 {
		t.Errorf("labels per alert:\n%s", d.DefaultText())
	}
	// Without --web.external-url or externalURL the ids stand in.
	bare := New(Message{Kind: "firing", Alerts: []Alert{alert("a:1", "firing")}}, Options{})
	if bare.SilenceURL != "" || bare.IncidentURL != "" || !strings.Contains(bare.DefaultText(), "Incident: id-a:1") ||
		!strings.Contains(bare.DefaultText(), "+00:00 UTC") {
		t.Errorf("bare message:\n%s", bare.DefaultText())
	}
}

func TestAlertmanagerFunctions(t *testing.T) {
	d := Sample(3)
	for text, want := range map[string]string{
		`{{ .Status | toUpper }} {{ len .Alerts.Firing }}/{{ len .Alerts.Resolved }}`:                       "FIRING 1/2",
		`{{ range .CommonLabels.SortedPairs }}{{ .Name }}={{ .Value }};{{ end }}`:                           "alertname=ZooKeeperDown;group=zk;",
		`{{ .CommonLabels.Remove (stringSlice "group") | len }} {{ join "," .GroupLabels.Values }}`:         "1 zk",
		`{{ .ExternalURL }} {{ .Receiver }}`:                                                                "https://alertmanager.example zkwatch",
		`{{ title "zoo keeper-down" }} {{ toLower "AB" }} {{ trimSpace "  x " }}`:                           "Zoo Keeper-Down ab x",
		`{{ reReplaceAll "(\\d+)\\.(\\d+)" "$2.$1" "1.2" }} {{ match "^zk" "zk-1" }}`:                       "2.1 true",
		`{{ humanize 1234567 }} {{ humanize 0.0012 }} {{ humanize1024 2048 }} {{ humanizePercentage 0.5 }}`: "1.235M 1.2m 2ki 50%",
		`{{ humanizeDuration 3725 }} {{ humanizeTimestamp 0 }}`:                                             "1h 2m 5s 1970-01-01 00:00:00 +0000 UTC",
		`{{ (index .Alerts 0).StartsAt | tz "Asia/Shanghai" | date "15:04 MST" }}`:                          "11:04 CST",
		`{{ markdown "a_b*c[d]" }} {{ json "a\"b" }} {{ toJson .GroupLabels }}`:                             `a\_b\*c\[d\] "a\"b" {"group":"zk"}`,
		`{{ range .Alerts }}{{ .Labels.server }} {{ end }}`:                                                 "10.0.0.1:2181 10.0.0.2:2181 10.0.0.3:2181 ",
		`{{ $.Time (index .Alerts 0).StartsAt }}`:                                                           "2026-01-02 03:04:05 +00:00 UTC",
	} {
		tm, err := Parse("t", text)
		if err != nil {
			t.Errorf("%s: %v", text, err)
			continue
		}
		if got, err := Render(tm, d, ""); err != nil || got != want {
			t.Errorf("%s:\n got %q, %v\nwant %q", text, got, err, want)
		}
	}
	h, err := ParseHTML("h", `<p>{{ .CommonAnnotations.summary }}{{ "<b>x</b>" | safeHtml }}{{ "<i>" }}</p>`)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := RenderHTML(h, d, ""); err != nil || got != "<p>ZooKeeper is down<b>x</b>&lt;i&gt;</p>" {
		t.Errorf("html %q %v", got, err)
	}
}

// Templates that cannot work are refused at load; one that fails on a
// real message falls back to the default text and says why.
func TestTemplateErrors(t *testing.T) {
	for _, text := range []string{`{{ .NoSuchField }}`, `{{ humanize "x" }}`, `{{ .Labels.x | nosuchfunc }}`, `{{ range }}`} {
		if _, err := Parse("t", text); err == nil {
			t.Errorf("%s: accepted", text)
		}
	}
	tm, err := Parse("t", `{{ if .Labels.value }}{{ humanize .Labels.value }}{{ end }}`)
	if err != nil {
		t.Fatal(err)
	}
	d := Sample(1)
	d.Labels["value"] = "not a number"
	if got := RenderText(tm, d, d.DefaultText()); got != d.DefaultText() || len(d.TemplateErrors()) != 1 {
		t.Errorf("fallback %q, errors %v", got, d.TemplateErrors())
	}
}

// Label values and annotations cannot inject markdown (links, emphasis,
// headings, mentions on new lines) into the default DingTalk message.
func TestDefaultMarkdownEscapesValues(t *testing.T) {
	evil := "[click](http://evil.example) **now**\n### @all"
	d := &Data{IncidentID: "i1", Kind: "firing", Alert: payload.Alert{
		Status: "firing", Labels: map[string]string{"alertname": "ZooKeeperMemberDown", "server": evil},
		Annotations: map[string]string{"summary": evil},
		StartsAt:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}}
	md := d.DefaultMarkdown()
	for _, raw := range []string{"[click](http://evil.example)", "**now**", "\n### @all"} {
		if strings.Contains(md, raw) {
			t.Errorf("unescaped %q in:\n%s", raw, md)
		}
	}
	if !strings.Contains(md, `\[click\](http://evil.example) \*\*now\*\* \#\#\# @all`) {
		t.Errorf("escaped value missing:\n%s", md)
	}
}
