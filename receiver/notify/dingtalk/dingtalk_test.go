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

package dingtalk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/zkwatch/zkwatch/receiver/notify/notifytest"
	"github.com/zkwatch/zkwatch/receiver/payload"
	tmpl "github.com/zkwatch/zkwatch/receiver/template"
)

// documentedSign is the signature by DingTalk's published recipe,
// URL-encoded for the query string.
func documentedSign(timestamp, secret string) string {
	return url.QueryEscape(notifytest.RobotSign(timestamp, secret))
}

func TestSignMatchesDocumentedAlgorithm(t *testing.T) {
	// A fixed vector computed with the recipe above.
	if got, want := url.QueryEscape(Sign(1577262236757, "SECabc")), documentedSign("1577262236757", "SECabc"); got != want {
		t.Fatalf("sign %q, want %q", got, want)
	}
	u, err := SignedURL("http://robot/send?access_token=t", "SECabc", time.UnixMilli(1577262236757))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u, "sign="+documentedSign("1577262236757", "SECabc")) || !strings.Contains(u, "access_token=t") {
		t.Errorf("signed url %s", u)
	}
}

// robot adapts notifytest.Robot to these tests.
type robot struct {
	*notifytest.Robot
	srv struct{ URL string }
}

func newRobot(t *testing.T, secret string) *robot {
	r := &robot{Robot: notifytest.NewRobot(t, secret)}
	r.srv.URL = strings.TrimSuffix(r.URL, "/robot/send?access_token=t")
	return r
}

func testData() *tmpl.Data {
	return notifytest.Firing("abc", "127.0.0.1:2181", map[string]string{"summary": "down"})
}

func newNotifier(t *testing.T, yaml string) *Notifier {
	n, err := New(notifytest.Notifier(t, yaml).DingTalk, "d")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNotifySigned(t *testing.T) {
	r := newRobot(t, "SECabc")
	n := newNotifier(t, "notifiers: [{name: d, dingtalk: {url: '"+r.srv.URL+"/robot/send?access_token=t', secret: SECabc}}]")
	if retry, err := n.Notify(context.Background(), testData()); err != nil {
		t.Fatalf("retry=%v err=%v", retry, err)
	}
	var m message
	if err := json.Unmarshal(r.Bodies()[0], &m); err != nil {
		t.Fatal(err)
	}
	if m.MsgType != "markdown" || !strings.Contains(m.Markdown.Title, "[FIRING] ZooKeeperDown") || !strings.Contains(m.Markdown.Text, "server") {
		t.Errorf("message %+v", m)
	}
	// A wrong secret is a permanent failure; "send too fast" is retried.
	bad := newNotifier(t, "notifiers: [{name: d, dingtalk: {url: '"+r.srv.URL+"/robot/send?access_token=t', secret: wrong}}]")
	if retry, err := bad.Notify(context.Background(), testData()); err == nil || retry || !strings.Contains(err.Error(), "310000") {
		t.Errorf("wrong secret: retry=%v err=%v", retry, err)
	}
	r.Answer(`{"errcode":130101,"errmsg":"send too fast"}`)
	if retry, err := n.Notify(context.Background(), testData()); err == nil || !retry {
		t.Errorf("too fast: retry=%v err=%v", retry, err)
	}
}

func TestLongMessageTruncatedVisibly(t *testing.T) {
	r := newRobot(t, "s")
	n := newNotifier(t, "notifiers: [{name: d, dingtalk: {url: '"+r.srv.URL+"/?access_token=t', secret: s, text: '{{ .Annotations.summary }}'}}]")
	d := testData()
	d.Annotations["summary"] = strings.Repeat("é\"<", 20000)
	if _, err := n.Notify(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	body := r.Bodies()[0]
	if len(body) > 20000 {
		t.Errorf("body is %d bytes", len(body))
	}
	var m message
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	// The marker says exactly how much is missing.
	kept, marker, ok := strings.Cut(m.Markdown.Text, "\n\n... (")
	var cut int
	var err error
	if ok {
		_, err = fmt.Sscanf(marker, "%d more bytes cut; the incident page has the whole alert)", &cut)
	}
	if !ok || err != nil || len(kept)+cut != len(d.Annotations["summary"]) || !utf8.ValidString(m.Markdown.Text) {
		t.Errorf("text tail %q (kept %d, cut %d, of %d)", m.Markdown.Text[len(m.Markdown.Text)-80:], len(kept), cut, len(d.Annotations["summary"]))
	}
	if len(body) < 19000 {
		t.Errorf("truncated too much: %d bytes", len(body))
	}
}

func TestRateLimitQueues(t *testing.T) {
	r := newRobot(t, "s")
	n := newNotifier(t, "notifiers: [{name: d, dingtalk: {url: '"+r.srv.URL+"/rl?access_token=t', secret: s, messages_per_minute: 2}}]")
	now := time.Now()
	n.now = func() time.Time { return now }
	for range 2 {
		if err := n.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Notify(context.Background(), testData()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := n.Wait(ctx); err == nil {
		t.Fatal("third message in the same minute was not held back")
	}
	now = now.Add(61 * time.Second)
	if err := n.Wait(context.Background()); err != nil {
		t.Fatalf("after a minute: %v", err)
	}
}

// grouped is one Alertmanager notification of n alerts, each with a
// label value of labelBytes and a mention label.
func grouped(n, labelBytes int) *tmpl.Data {
	as := make([]tmpl.Alert, n)
	for i := range as {
		a := payload.Alert{Status: "firing", StartsAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			Labels: payload.KV{"alertname": "ZooKeeperDown", "group": "zk", "server": fmt.Sprintf("zk-%02d:2181", i),
				"detail": fmt.Sprintf("alert-%02d-", i) + strings.Repeat("x", labelBytes), "oncall_mobile": "13900000000"},
			Annotations:  payload.KV{"summary": fmt.Sprintf("zk-%02d does not answer", i), "runbook_url": "https://rb.example/zk"},
			GeneratorURL: "https://prom.example/graph?g0.expr=up"}
		as[i] = tmpl.Alert{Alert: a, Kind: "firing", IncidentID: fmt.Sprintf("inc-%02d", i)}
	}
	return tmpl.New(tmpl.Message{Kind: "firing", ExternalURL: "http://am.example", Receiver: "zk team",
		GroupLabels: map[string]string{"alertname": "ZooKeeperDown"}, Alerts: as},
		tmpl.Options{ReceiverURL: "https://rcv.example"})
}

func decodeAll(t *testing.T, bodies [][]byte) []message {
	t.Helper()
	out := make([]message, len(bodies))
	for i, b := range bodies {
		if err := json.Unmarshal(b, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// The configured mobiles, user ids and those of mention_label are in the
// at block and, as DingTalk requires, as @mobile in the text.
func TestMentions(t *testing.T) {
	r := newRobot(t, "s")
	n := newNotifier(t, "notifiers: [{name: d, dingtalk: {url: '"+r.srv.URL+"/?access_token=t', secret: s, "+
		"at: {mobiles: ['13800000000'], user_ids: [u1]}, mention_label: oncall_mobile}}]")
	d := grouped(3, 10)
	d.Alerts[1].Labels["oncall_mobile"] = "13700000000, 13900000000"
	if _, err := n.Notify(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	m := decodeAll(t, r.Bodies())[0]
	if m.At == nil || strings.Join(m.At.AtMobiles, ",") != "13800000000,13900000000,13700000000" ||
		strings.Join(m.At.AtUserIDs, ",") != "u1" || m.At.IsAtAll {
		t.Errorf("at block %+v", m.At)
	}
	for _, want := range []string{"@13800000000", "@13900000000", "@13700000000", "@u1"} {
		if !strings.Contains(m.Markdown.Text, want) {
			t.Errorf("text lacks %s", want)
		}
	}
	// Without mentions there is no at block at all.
	r.Reset()
	plain := newNotifier(t, "notifiers: [{name: d, dingtalk: {url: '"+r.srv.URL+"/?access_token=t', secret: s}}]")
	if _, err := plain.Notify(context.Background(), grouped(1, 10)); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(r.Bodies()[0], []byte(`"at"`)) || bytes.Contains(r.Bodies()[0], []byte("@1")) {
		t.Errorf("unexpected mention: %s", r.Bodies()[0])
	}
}

// 50 alerts with long labels: the message is split where the size limit
// requires, each part says how many alerts follow, and every alert is
// sent whole exactly once.
func TestSplitLosesNothing(t *testing.T) {
	r := newRobot(t, "s")
	n := newNotifier(t, "notifiers: [{name: d, dingtalk: {url: '"+r.srv.URL+"/?access_token=t', secret: s, at: {mobiles: ['13800000000']}}}]")
	d := grouped(50, 900)
	for d.Sent == 0 || d.More {
		if _, err := n.Notify(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	ms := decodeAll(t, r.Bodies())
	t.Logf("50 alerts with 900-byte labels: %d messages", len(ms))
	if len(ms) < 3 || d.Sent != len(ms) {
		t.Fatalf("%d parts, Sent %d", len(ms), d.Sent)
	}
	seen := 0
	for i, m := range ms {
		if len(r.Bodies()[i]) > 20000 {
			t.Errorf("part %d is %d bytes", i, len(r.Bodies()[i]))
		}
		if !strings.HasSuffix(m.Markdown.Title, fmt.Sprintf("(%d/%d)", i+1, len(ms))) || !strings.Contains(m.Markdown.Text, "@13800000000") {
			t.Errorf("part %d title %q", i, m.Markdown.Title)
		}
		count := strings.Count(m.Markdown.Text, "- detail = alert-")
		seen += count
		more := fmt.Sprintf("(%d more alerts in the next message)", 50-seen)
		if (i < len(ms)-1) != strings.Contains(m.Markdown.Text, more) || strings.Contains(m.Markdown.Text, "bytes cut") {
			t.Errorf("part %d (%d alerts) lacks %q or was cut:\n...%s", i, count, more, m.Markdown.Text[len(m.Markdown.Text)-200:])
		}
	}
	for i := range 50 {
		if c := bytes.Count(bytes.Join(r.Bodies(), nil), []byte(fmt.Sprintf("- detail = alert-%02d-%s", i, strings.Repeat("x", 900)))); c != 1 {
			t.Errorf("alert %d sent %d times", i, c)
		}
	}
	// A retry after a failed second part resumes there.
	r.Reset()
	d = grouped(50, 900)
	if _, err := n.Notify(context.Background(), d); err != nil || d.Sent != 1 || !d.More {
		t.Fatalf("first part: %v sent %d more %v", err, d.Sent, d.More)
	}
	r.Answer(`{"errcode":130101,"errmsg":"send too fast"}`)
	if retry, err := n.Notify(context.Background(), d); err == nil || !retry || d.Sent != 1 {
		t.Fatalf("failing part: retry %v err %v sent %d", retry, err, d.Sent)
	}
	r.Answer(`{"errcode":0,"errmsg":"ok"}`)
	if _, err := n.Notify(context.Background(), d); err != nil || d.Sent != 2 {
		t.Fatalf("resumed: %v sent %d", err, d.Sent)
	}
	if ms := decodeAll(t, r.Bodies()); len(ms) != 3 || ms[0].Markdown.Title == ms[2].Markdown.Title || !strings.Contains(ms[2].Markdown.Title, "(2/") {
		t.Errorf("titles after retry: %q", []string{ms[0].Markdown.Title, ms[len(ms)-1].Markdown.Title})
	}
}

// http_config reaches a robot behind TLS signed by its own CA.
func TestHTTPConfigOwnCA(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("sign") == "" {
			http.Error(w, "unsigned", http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte(`{"errcode":0,"errmsg":"ok"}`))
	}))
	defer srv.Close()
	ca := notifytest.CAFile(t, srv)
	good := newNotifier(t, fmt.Sprintf("notifiers: [{name: d, dingtalk: {url: '%s/?access_token=t', secret: s, http_config: {tls_config: {ca_file: %q}}}}]", srv.URL, ca))
	if _, err := good.Notify(context.Background(), testData()); err != nil {
		t.Errorf("with the CA: %v", err)
	}
	bad := newNotifier(t, fmt.Sprintf("notifiers: [{name: d, dingtalk: {url: '%s/?access_token=t', secret: s}}]", srv.URL))
	if _, err := bad.Notify(context.Background(), testData()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without the CA: %v", err)
	}
}

// The shipped examples/templates/dingtalk.tmpl (prometheus-webhook-
// dingtalk's template names and layout) renders a grouped message with
// every alert's links and times, and the @mention.
func TestExampleTemplate(t *testing.T) {
	file, err := filepath.Abs("../../../examples/templates/dingtalk.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	r := newRobot(t, "s")
	n := newNotifier(t, fmt.Sprintf(`templates: [%q]
global: {timezone: Asia/Shanghai}
notifiers: [{name: d, dingtalk: {url: '%s/?access_token=t', secret: s, at: {mobiles: ['13800000000']},
  title: '{{ template "ding.link.title" . }}', text: '{{ template "ding.link.content" . }}'}}]`, file, r.srv.URL))
	d := grouped(30, 10)
	d.Location, _ = time.LoadLocation("Asia/Shanghai")
	d = tmpl.New(tmpl.Message{Kind: d.Kind, ExternalURL: d.ExternalURL, Receiver: d.Receiver, GroupLabels: d.GroupLabels,
		Alerts: append(d.Alerts[:29:29], resolvedAlert(d.Alerts[29]))}, tmpl.Options{ReceiverURL: "https://rcv.example", Location: d.Location})
	for d.Sent == 0 || d.More {
		if _, err := n.Notify(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	ms := decodeAll(t, r.Bodies())
	if len(ms) != 1 {
		t.Fatalf("%d messages", len(ms))
	}
	m := ms[0]
	if m.Markdown.Title != "[FIRING:29] ZooKeeperDown (zk 13900000000)" {
		t.Errorf("title %q", m.Markdown.Title)
	}
	text := m.Markdown.Text
	for what, n := range map[string]int{
		"#### \\[FIRING:29\\] **[ZooKeeperDown](http://am.example/#/alerts?receiver=zk+team)**": 1,
		"**Alerts Firing**": 1, "**Alerts Resolved**": 1, "[Runbook](https://rb.example/zk)": 30,
		"[Source](https://prom.example/graph?g0.expr=up)": 30, "[Silence](http://am.example/#/silences/new?filter=": 30,
		"- Started: 2026-01-02 11:04:05 +08:00 CST": 30, ", ended: 2026-01-02 12:04:05 +08:00 CST": 1,
		"[Incident](https://rcv.example/incidents/inc-29)": 1, "\n\n@13800000000": 1,
	} {
		if c := strings.Count(text, what); c != n {
			t.Errorf("%d times %q, want %d", c, what, n)
		}
	}
	if t.Failed() {
		t.Logf("text:\n%.3000s", text)
	}
}

func resolvedAlert(a tmpl.Alert) tmpl.Alert {
	a.Status, a.Kind, a.EndsAt = "resolved", "resolved", a.StartsAt.Add(time.Hour)
	return a
}
