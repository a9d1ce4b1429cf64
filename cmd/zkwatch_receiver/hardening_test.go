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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/httpguard/guardtest"
	"github.com/zkwatch/zkwatch/internal/zktest"
	"github.com/zkwatch/zkwatch/receiver/notify/notifytest"
)

// hangingSink is a webhook endpoint that hangs, until the sender gives
// up, on messages about alert Hang, and notes when others arrive.
type hangingSink struct {
	mu      sync.Mutex
	hanging int
	arrived map[string]time.Time // alertname -> first arrival
	srv     *httptest.Server
}

func newHangingSink(t *testing.T) *hangingSink {
	s := &hangingSink{arrived: map[string]time.Time{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			Alert struct{ Labels map[string]string } `json:"alert"`
		}
		_ = json.NewDecoder(r.Body).Decode(&m)
		name := m.Alert.Labels["alertname"]
		s.mu.Lock()
		if _, ok := s.arrived[name]; !ok {
			s.arrived[name] = time.Now()
		}
		if name == "Hang" {
			s.hanging++
		}
		s.mu.Unlock()
		if name == "Hang" {
			<-r.Context().Done()
			s.mu.Lock()
			s.hanging--
			s.mu.Unlock()
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *hangingSink) state() (int, map[string]time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]time.Time{}
	for k, v := range s.arrived {
		out[k] = v
	}
	return s.hanging, out
}

// Issue 21, item 4: ten deliveries a sink hangs on until notify_timeout
// do not delay an unrelated alert's notification through the same
// notifier (it took 10 x notify_timeout when a notifier sent one message
// at a time).
func TestHangingSinkDoesNotStallOtherAlerts(t *testing.T) {
	dir := t.TempDir()
	sink := newHangingSink(t)
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(t, cfg, fmt.Sprintf(`
global: {notify_timeout: 60s}
notifiers:
  - name: hook
    webhook: {url: %q}
routes:
  - notifiers: [hook]
`, sink.srv.URL))
	p := launch(t, cfg, filepath.Join(dir, "data"))
	for i := range 10 {
		if code, err := post(p.url, alertBody(map[string]string{"alertname": "Hang", "member": fmt.Sprint("m", i)}, time.Now())); err != nil || code != 200 {
			t.Fatalf("post: %d %v", code, err)
		}
	}
	if err := zktest.WaitFor(20*time.Second, 10*time.Millisecond, func() error {
		if n, _ := sink.state(); n != 10 {
			return fmt.Errorf("%d of 10 hanging deliveries in flight", n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	posted := time.Now()
	if code, err := post(p.url, alertBody(map[string]string{"alertname": "Other"}, time.Now())); err != nil || code != 200 {
		t.Fatalf("post: %d %v", code, err)
	}
	var delay time.Duration
	if err := zktest.WaitFor(5*time.Second, 10*time.Millisecond, func() error {
		_, arrived := sink.state()
		at, ok := arrived["Other"]
		if !ok {
			return fmt.Errorf("unrelated alert not delivered after %s", time.Since(posted))
		}
		delay = at.Sub(posted)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("unrelated alert delivered %s after its post, beside 10 hanging deliveries", delay)
}

// Issue 21, item 11: a secret in a webhook URL's path (Slack's
// /services/T0/B0/SECRET) shows neither in the dead letter, nor in the
// API, the page or the log.
func TestWebhookPathSecretRedacted(t *testing.T) {
	dir := t.TempDir()
	const secret = "XyZzy0SECRET"
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(t, cfg, fmt.Sprintf(`
global: {retry_max_attempts: 1}
notifiers:
  - name: slack
    webhook: {url: "http://%s/services/T0/B0/%s"}
routes:
  - notifiers: [slack]
`, freeAddr(t), secret))
	p := launch(t, cfg, filepath.Join(dir, "data"))
	if code, err := post(p.url, alertBody(map[string]string{"alertname": "X"}, time.Now())); err != nil || code != 200 {
		t.Fatalf("post: %d %v", code, err)
	}
	var incident string
	if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error {
		code, body := request(t, "GET", p.url+"/api/v1/dead-letters", "", "", "")
		var dl struct {
			DeadLetters []struct {
				Item struct{ IncidentID, LastError string }
			}
		}
		if err := json.Unmarshal([]byte(body), &dl); err != nil || code != 200 {
			return fmt.Errorf("%d %v", code, err)
		}
		if len(dl.DeadLetters) != 1 || !strings.Contains(dl.DeadLetters[0].Item.LastError, "<redacted>") {
			return fmt.Errorf("dead letters: %s", body)
		}
		incident = dl.DeadLetters[0].Item.IncidentID
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/dead-letters", "/api/v1/incidents", "/api/v1/incidents/" + incident, "/", "/incidents/" + incident} {
		if code, body := request(t, "GET", p.url+path, "", "", ""); code != 200 || strings.Contains(body, secret) {
			t.Errorf("%s: %d, shows the secret: %v", path, code, strings.Contains(body, secret))
		}
	}
	// The log is read from the process's stderr as it comes: wait for the
	// delivery error to reach it.
	var logs string
	if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error {
		p.mu.Lock()
		logs = p.logs.String()
		p.mu.Unlock()
		if !strings.Contains(logs, "<redacted>") {
			return errors.New("no redacted delivery error logged yet")
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	if strings.Contains(logs, secret) {
		t.Errorf("log shows the secret:\n%s", logs)
	}
}

// Issue 21, item 5: through the real receiver and the shipped
// examples/templates/dingtalk.tmpl, label and annotation values carrying
// \r, markdown and javascript: links reach the robot as inert text: no
// link to anything but http(s), no line of the attacker's ("ALL CLEAR").
func TestShippedDingTalkTemplateEscapesValues(t *testing.T) {
	dir := t.TempDir()
	robot := notifytest.NewRobot(t, "SECzk")
	tmplFile, err := filepath.Abs(filepath.Join("..", "..", "examples", "templates", "dingtalk.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(t, cfg, fmt.Sprintf(`templates: [%q]
notifiers:
  - name: ding
    dingtalk: {url: %q, secret: SECzk, title: '{{ template "ding.link.title" . }}', text: '{{ template "ding.link.content" . }}'}
routes: [{notifiers: [ding]}]
`, tmplFile, robot.URL))
	p := launch(t, cfg, filepath.Join(dir, "data"))
	evil := "m1\r\r### ALL CLEAR [details](javascript:alert(1))"
	body, _ := json.Marshal(map[string]any{
		"version": "4", "status": "firing", "receiver": "zk", "groupKey": "g", "externalURL": "javascript:alert(2)",
		"groupLabels": map[string]string{"alertname": "ZooKeeperDown\r### ALL CLEAR"},
		"alerts": []map[string]any{{"status": "firing",
			"labels":       map[string]string{"alertname": "ZooKeeperDown\r### ALL CLEAR", "member": evil},
			"annotations":  map[string]string{"summary": "fine\r\n\r\n#### ALL CLEAR", "runbook_url": "javascript:alert(3)"},
			"generatorURL": "javascript:alert(4)", "startsAt": time.Now().UTC().Format(time.RFC3339Nano), "endsAt": "0001-01-01T00:00:00Z"}},
	})
	if code, err := post(p.url, string(body)); err != nil || code != 200 {
		t.Fatalf("post: %d %v", code, err)
	}
	if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error {
		return expectN(1, len(robot.Bodies()), "robot messages")
	}); err != nil {
		t.Fatal(err)
	}
	var m struct{ Markdown struct{ Title, Text string } }
	if err := json.Unmarshal(robot.Bodies()[0], &m); err != nil {
		t.Fatal(err)
	}
	text := m.Markdown.Text
	if strings.ContainsRune(m.Markdown.Title+text, '\r') {
		t.Errorf("\\r delivered: %q", m.Markdown.Title+text)
	}
	// Each attacker heading stays escaped text inside the line of its value.
	if n, esc := strings.Count(text, "ALL CLEAR"), strings.Count(text, `\# ALL CLEAR`); n != 6 || esc != n {
		t.Errorf("%d ALL CLEAR, %d escaped:\n%s", n, esc, text)
	}
	// Every link left is an http(s) one.
	for _, l := range regexp.MustCompile(`(?:^|[^\\])\]\(([^)]*)`).FindAllStringSubmatch(text, -1) {
		if !strings.HasPrefix(l[1], "http://") && !strings.HasPrefix(l[1], "https://") {
			t.Errorf("link to %q in:\n%s", l[1], text)
		}
	}
	if !strings.Contains(text, `m1  \#\#\# ALL CLEAR \[details\](javascript:alert(1))`) {
		t.Errorf("value not shown escaped:\n%s", text)
	}
}

// Issue 21, item 6: an alert with labels member and MEMBER, which share
// ZKWATCH_LABEL_MEMBER, is refused by the real receiver instead of
// running the command with whichever value won (the unvetted one won in
// 3 of 8 runs); a clean alert runs.
func TestCaseCollidingLabelsRefused(t *testing.T) {
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs.log")
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(t, cfg, fmt.Sprintf(`
restarts:
  - name: member
    match: {alertname: ZooKeeperProcessMemberDown}
    command: ["/bin/sh", "-c", "echo \"$ZKWATCH_LABEL_MEMBER\" >> %s", "sh", "{{ .Labels.member }}"]
`, runs))
	p := launch(t, cfg, filepath.Join(dir, "data"))
	for _, labels := range []map[string]string{
		{"alertname": "ZooKeeperProcessMemberDown", "member": "zk-1", "MEMBER": "zk-1; touch PWNED"},
		{"alertname": "ZooKeeperProcessMemberDown", "member": "zk-2"},
	} {
		if code, err := post(p.url, alertBody(labels, time.Now())); err != nil || code != 200 {
			t.Fatalf("post: %d %v", code, err)
		}
	}
	outcomes := map[string]string{}
	if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error {
		for _, inc := range p.incidents() {
			for _, r := range inc.Restarts {
				outcomes[r.Outcome] = r.Reason
			}
		}
		if _, ok := outcomes["refused"]; !ok || len(outcomes) < 2 {
			return fmt.Errorf("restart outcomes %v", outcomes)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(outcomes["refused"], "ZKWATCH_LABEL_MEMBER") {
		t.Errorf("refusal reason %q", outcomes["refused"])
	}
	waitForFile(t, runs)
	if b, _ := os.ReadFile(runs); string(b) != "zk-2\n" {
		t.Errorf("commands saw %q, want only the clean alert's zk-2", b)
	}
}

// Issue 21, item 10: a form-encoded SMS body (declared by Content-Type,
// or key= without one) gets its values query-escaped, so an alertname
// ending in &to=%2B1999&text=pwned cannot re-address or rewrite it.
func TestSMSFormBodyCannotBeReaddressed(t *testing.T) {
	dir := t.TempDir()
	gw := newGateway(t, http.StatusOK)
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(t, cfg, fmt.Sprintf(`
notifiers:
  - name: sms-form
    sms: {url: "%[1]s/form", body: 'to=%%2B10000000000&text={{ .Labels.alertname }}',
      headers: {content-type: application/x-www-form-urlencoded}}
  - name: sms-bare
    sms: {url: "%[1]s/bare", body: 'to=%%2B10000000000&text={{ .Labels.alertname }}'}
routes:
  - notifiers: [sms-form, sms-bare]
`, gw.srv.URL))
	p := launch(t, cfg, filepath.Join(dir, "data"))
	evil := "x&to=%2B1999&text=pwned"
	if code, err := post(p.url, alertBody(map[string]string{"alertname": evil}, time.Now())); err != nil || code != 200 {
		t.Fatalf("post: %d %v", code, err)
	}
	if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error {
		return expectN(2, len(gw.requests()), "gateway requests")
	}); err != nil {
		t.Fatal(err)
	}
	for _, r := range gw.requests() {
		q, err := url.ParseQuery(string(r.Body))
		if err != nil || len(q["to"]) != 1 || q.Get("to") != "+10000000000" || len(q["text"]) != 1 || q.Get("text") != evil {
			t.Errorf("form body %q: %v %v", r.Body, q, err)
		}
	}
}

// Issue 21, item 7: a loopback receiver without authentication refuses a
// webhook whose Host names the attacker's domain (DNS rebinding) and runs
// nothing, refuses a cross-origin POST /-/reload, and still takes
// Alertmanager's post to 127.0.0.1.
func TestLoopbackReceiverRefusesRebindingAndCrossOrigin(t *testing.T) {
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs.log")
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(t, cfg, fmt.Sprintf(`
restarts:
  - name: member
    match: {alertname: ZooKeeperProcessMemberDown}
    command: ["/bin/sh", "-c", "echo \"$ZKWATCH_LABEL_MEMBER\" >> %s", "sh", "{{ .Labels.member }}"]
`, runs))
	p := launch(t, cfg, filepath.Join(dir, "data"))
	rebound := func(labels map[string]string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, p.url+"/webhook", strings.NewReader(alertBody(labels, time.Now())))
		req.Host = "rebind.attacker.example" + p.url[strings.LastIndex(p.url, ":"):]
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := rebound(map[string]string{"alertname": "ZooKeeperProcessMemberDown", "member": "rebound"}); code != http.StatusMisdirectedRequest {
		t.Errorf("webhook with Host rebind.attacker.example: %d %s, want 421", code, body)
	}
	if code, err := guardtest.CrossOriginPost(p.url + "/-/reload"); err != nil || code != http.StatusForbidden {
		t.Errorf("cross-origin POST /-/reload: %d %v, want 403", code, err)
	}
	if code, err := post(p.url, alertBody(map[string]string{"alertname": "ZooKeeperProcessMemberDown", "member": "zk-1"}, time.Now())); err != nil || code != 200 {
		t.Fatalf("post to 127.0.0.1: %d %v", code, err)
	}
	waitForFile(t, runs)
	if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error {
		return expectN(1, len(p.incidents()), "incidents")
	}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(runs); string(b) != "zk-1\n" {
		t.Errorf("commands ran for %q, want only zk-1", b)
	}
}

// startRaw runs the receiver with args and returns it with its output,
// killed at the end of the test.
func startRaw(t *testing.T, args ...string) (*exec.Cmd, *zktest.SyncBuffer) {
	t.Helper()
	out := &zktest.SyncBuffer{}
	cmd := exec.Command(binary(t), args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("receiver output:\n%s", out.String())
		}
	})
	return cmd, out
}

// Issue 21, item 9: the exposure rule holds for every configuration, not
// only those with restart rules, and is checked again when the web
// configuration changes: a notifier-only receiver does not start
// unauthenticated on a public address, and emptying basic_auth_users at
// run time does not open the webhook or the incident history.
func TestExposureRuleForEveryConfiguration(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(t, cfg, "notifiers: [{name: hook, webhook: {url: 'http://127.0.0.1:1/'}}]\nroutes: [{notifiers: [hook]}]\n")
	// A receiver that starts anyway is stopped after a while.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	out, err := exec.CommandContext(ctx, binary(t), "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "d0"),
		"--web.listen-address=0.0.0.0:0").CombinedOutput()
	timedOut := ctx.Err() != nil
	cancel()
	if err == nil || timedOut || !strings.Contains(string(out), "refusing to serve the webhook and the incident history") {
		t.Errorf("notifier-only receiver on 0.0.0.0: %v\n%s", err, out)
	}

	webCfg := filepath.Join(dir, "web.yml")
	writeFile(t, webCfg, "basic_auth_users: {alice: $2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi}\n")
	addr := "0.0.0.0:" + strings.Split(freeAddr(t), ":")[1]
	base := "http://127.0.0.1:" + strings.Split(addr, ":")[1]
	_, output := startRaw(t, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "d1"), "--web.listen-address="+addr, "--web.config.file="+webCfg)
	if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error {
		resp, err := http.Get(base + "/api/v1/incidents")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return expectN(http.StatusUnauthorized, resp.StatusCode, "status without credentials")
	}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, webCfg, "# basic_auth_users removed\n")
	body := alertBody(map[string]string{"alertname": "X"}, time.Now())
	for _, r := range []struct{ method, path string }{{"GET", "/api/v1/incidents"}, {"GET", "/"}, {"POST", "/webhook"}} {
		if code, b := request(t, r.method, base+r.path, "application/json", "", body); code != http.StatusServiceUnavailable ||
			!strings.Contains(b, "without authentication") {
			t.Errorf("%s %s after basic auth was removed: %d %s, want 503", r.method, r.path, code, b)
		}
	}
	// Logged once, not once per refused request (the log reaches the
	// buffer through a pipe, so wait for it).
	if err := zktest.WaitFor(10*time.Second, 20*time.Millisecond, func() error {
		return expectN(1, strings.Count(output.String(), "refusing every request until the exposure check passes again"), "refusals logged")
	}); err != nil {
		t.Error(err)
	}
}
