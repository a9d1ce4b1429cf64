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
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

const memberRule = `
restarts:
  - name: member
    match: {alertname: ZooKeeperProcessMemberDown}
    command: ["/bin/true", "{{ .Labels.member }}"]
`

// With restart rules, no authentication and a non-loopback listen
// address, the receiver refuses to start and says how to fix it. The
// check runs before anything listens.
func TestRefusesUnauthenticatedExposure(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(t, cfg, memberRule)
	for _, listen := range []string{":0", "0.0.0.0:0", "[::]:0"} {
		// A receiver that starts anyway is stopped after a while.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		out, err := exec.CommandContext(ctx, binary(t), "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
			"--web.listen-address="+listen).CombinedOutput()
		timedOut := ctx.Err() != nil
		cancel()
		if err == nil || timedOut {
			t.Fatalf("%s: started without authentication:\n%s", listen, out)
		}
		for _, want := range []string{"refusing to serve 1 restart rules without authentication", "global.bearer_token",
			"bearer_token_file", "basic_auth_users in --web.config.file", "--web.allow-unauthenticated"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s: error does not mention %q:\n%s", listen, want, out)
			}
		}
	}
	// Bearer token and basic auth together cannot both be presented.
	web := filepath.Join(dir, "web.yml")
	writeFile(t, web, "basic_auth_users: {alice: $2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi}\n")
	writeFile(t, cfg, "global: {bearer_token: s3cret}\n"+memberRule)
	out, err := exec.Command(binary(t), "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:0", "--web.config.file="+web).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "only one Authorization header") {
		t.Errorf("bearer token plus basic auth: %v\n%s", err, out)
	}
}

func request(t *testing.T, method, url, contentType, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// With a bearer token, every route except /-/healthy and /-/ready needs
// it; the webhook takes only application/json.
func TestTokenGuardsEveryRoute(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(t, filepath.Join(dir, "token"), "s3cret\n")
	writeFile(t, cfg, "global: {bearer_token_file: token}\n"+memberRule)
	p := launch(t, cfg, filepath.Join(dir, "data"))
	body := alertBody(map[string]string{"alertname": "X"}, time.Now())
	for _, r := range []struct{ method, path string }{
		{"POST", "/webhook"}, {"GET", "/"}, {"GET", "/api/v1/incidents"}, {"GET", "/api/v1/incidents/x"},
		{"GET", "/api/v1/dead-letters"}, {"POST", "/-/reload"}, {"GET", "/metrics"},
	} {
		if code, _ := request(t, r.method, p.url+r.path, "application/json", "", body); code != http.StatusUnauthorized {
			t.Errorf("%s %s without token: %d, want 401", r.method, r.path, code)
		}
		if code, _ := request(t, r.method, p.url+r.path, "application/json", "wrong", body); code != http.StatusForbidden {
			t.Errorf("%s %s with a wrong token: %d, want 403", r.method, r.path, code)
		}
	}
	for _, path := range []string{"/-/healthy", "/-/ready"} {
		if code, _ := request(t, "GET", p.url+path, "", "", ""); code != http.StatusOK {
			t.Errorf("%s: %d", path, code)
		}
	}
	for _, path := range []string{"/", "/api/v1/incidents", "/metrics"} {
		if code, b := request(t, "GET", p.url+path, "", "s3cret", ""); code != http.StatusOK {
			t.Errorf("%s with token: %d %s", path, code, b)
		}
	}
	// A cross-site form post is text/plain: refused, and nothing stored.
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", ""} {
		if code, b := request(t, "POST", p.url+"/webhook", ct, "s3cret", body); code != http.StatusUnsupportedMediaType {
			t.Errorf("Content-Type %q: %d %s", ct, code, b)
		}
	}
	if code, b := request(t, "GET", p.url+"/api/v1/incidents", "", "s3cret", ""); code != 200 || strings.Contains(b, `"id"`) {
		t.Errorf("refused posts left incidents: %d %s", code, b)
	}
	if code, b := request(t, "POST", p.url+"/webhook", "application/json; charset=utf-8", "s3cret", body); code != http.StatusOK {
		t.Errorf("JSON post with token: %d %s", code, b)
	}
}

// A restart argument that reaches anything but .Labels.NAME is refused by
// --config.check, which says why.
func TestConfigCheckRefusesUnvettedArgv(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(t, cfg, `
restarts:
  - name: member
    match: {alertname: ZooKeeperProcessMemberDown}
    command: ["/bin/sh", "-c", "echo {{ .Alert.Labels.member }}"]
`)
	out, err := exec.Command(binary(t), "--config.file="+cfg, "--config.check").CombinedOutput()
	if err == nil {
		t.Fatalf("accepted:\n%s", out)
	}
	for _, want := range []string{"{{.Alert.Labels.member}} is not allowed", "only plain text and {{ .Labels.NAME }}", "allow regex"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("error lacks %q:\n%s", want, out)
		}
	}
}

// gateway records the requests an SMS gateway gets.
type gateway struct {
	mu   sync.Mutex
	reqs []gatewayRequest
	srv  *httptest.Server
	code int
}

type gatewayRequest struct {
	Query url.Values
	Body  []byte
}

func newGateway(t *testing.T, code int) *gateway {
	g := &gateway{code: code}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		g.mu.Lock()
		g.reqs = append(g.reqs, gatewayRequest{Query: r.URL.Query(), Body: b})
		code := g.code
		g.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gateway) requests() []gatewayRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]gatewayRequest(nil), g.reqs...)
}

// An alertname crafted to close the JSON string and add a "to" key, or to
// add a query parameter, reaches the SMS gateway as inert text, from a
// real Alertmanager through the real receiver.
func TestSMSCannotBeReaddressed(t *testing.T) {
	dir := t.TempDir()
	gw := newGateway(t, http.StatusOK)
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(t, cfg, fmt.Sprintf(`
global: {bearer_token: s3cret}
notifiers:
  - name: sms-json
    sms: {url: "%[1]s/send", body: '{"to":"+10000000000","text":"{{ .Status }} {{ .Labels.alertname }}"}'}
  - name: sms-get
    sms: {url: "%[1]s/get?to=%%2B10000000000&text={{ .Labels.alertname }}", method: GET}
routes:
  - notifiers: [sms-json, sms-get]
`, gw.srv.URL))
	p := launch(t, cfg, filepath.Join(dir, "data"))
	amAddr := startAlertmanager(t, dir, p.url+"/webhook", "s3cret")
	evil := `x","to":"+19999999999`
	now := time.Now().UTC().Format(time.RFC3339)
	postAlerts(t, amAddr, []map[string]any{{"labels": map[string]string{"alertname": evil}, "startsAt": now},
		{"labels": map[string]string{"alertname": "y&to=+19999999999"}, "startsAt": now}})
	if err := zktest.WaitFor(60*time.Second, 20*time.Millisecond, func() error {
		if n := len(gw.requests()); n != 4 {
			return fmt.Errorf("%d gateway requests", n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	texts := map[string]bool{}
	for _, r := range gw.requests() {
		if len(r.Body) > 0 {
			var m map[string]string
			if err := json.Unmarshal(r.Body, &m); err != nil {
				t.Fatalf("body %s: %v", r.Body, err)
			}
			if len(m) != 2 || m["to"] != "+10000000000" {
				t.Errorf("re-addressed: %s", r.Body)
			}
			texts[m["text"]] = true
			continue
		}
		if to := r.Query["to"]; len(to) != 1 || to[0] != "+10000000000" {
			t.Errorf("re-addressed by query: %v", r.Query)
		}
		texts[r.Query.Get("text")] = true
	}
	for _, want := range []string{"firing " + evil, "firing y&to=+19999999999", evil, "y&to=+19999999999"} {
		if !texts[want] {
			t.Errorf("text %q not delivered intact; got %v", want, texts)
		}
	}
}

// A message the gateway keeps failing with 5xx does not block the later
// ones; after retry_max_attempts it becomes a dead letter, visible in the
// API, the page and the metrics.
func TestFailingMessageBecomesDeadLetter(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	delivered := map[string]int{}
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			Alert struct{ Labels map[string]string }
		}
		_ = json.NewDecoder(r.Body).Decode(&m)
		name := m.Alert.Labels["alertname"]
		if name == "Poison" {
			http.Error(w, "gateway cannot take this one", http.StatusBadGateway)
			return
		}
		mu.Lock()
		delivered[name]++
		mu.Unlock()
	}))
	defer gw.Close()
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(t, cfg, fmt.Sprintf(`
global: {retry_initial_backoff: 50ms, retry_max_backoff: 200ms, retry_max_attempts: 4}
notifiers: [{name: gw, webhook: {url: %q}}]
routes: [{notifiers: [gw]}]
`, gw.URL))
	p := launch(t, cfg, filepath.Join(dir, "data"))
	for _, name := range []string{"Poison", "Later1", "Later2"} {
		if code, err := post(p.url, alertBody(map[string]string{"alertname": name}, time.Now())); err != nil || code != 200 {
			t.Fatalf("post %s: %d %v", name, code, err)
		}
	}
	if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		if delivered["Later1"] != 1 || delivered["Later2"] != 1 {
			return fmt.Errorf("delivered %v", delivered)
		}
		return nil
	}); err != nil {
		t.Fatalf("later messages held back by a failing one: %v", err)
	}
	if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error {
		if v := p.metric("zkwatch_receiver_dead_letters"); v != 1 {
			return fmt.Errorf("dead_letters %v", v)
		}
		// Counted just after the commit the gauge reads.
		if v := p.metric(`zkwatch_receiver_dead_letters_total{notifier="gw"}`); v != 1 {
			return fmt.Errorf("dead_letters_total = %v", v)
		}
		if v := p.metric(`zkwatch_receiver_notifications_total{notifier="gw",outcome="failure"}`); v != 1 {
			return fmt.Errorf("failures = %v (the alert ZooKeeperReceiverNotificationsFailing counts these)", v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if v := p.metric(`zkwatch_receiver_notifications_total{notifier="gw",outcome="retry"}`); v != 3 {
		t.Errorf("retries = %v, want 3 (4 attempts)", v)
	}
	var api struct {
		DeadLetters []struct {
			Reason string
			Item   struct {
				Attempts  int
				LastError string
				Alert     struct{ Labels map[string]string }
			}
		}
	}
	resp, err := p.get("/api/v1/dead-letters")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&api)
	resp.Body.Close()
	if err != nil || len(api.DeadLetters) != 1 {
		t.Fatalf("dead letters %+v %v", api, err)
	}
	d := api.DeadLetters[0]
	if d.Item.Alert.Labels["alertname"] != "Poison" || d.Item.Attempts != 4 || !strings.Contains(d.Reason, "retry_max_attempts") ||
		!strings.Contains(d.Item.LastError, "502") {
		t.Errorf("dead letter %+v", d)
	}
	resp, err = p.get("/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), `<tr class="dead-letter">`) || !strings.Contains(string(page), "retry_max_attempts") {
		t.Errorf("page does not show the dead letter")
	}
	if v := p.metric("zkwatch_receiver_outbox_pending"); v != 0 {
		t.Errorf("outbox pending %v", v)
	}
}

// More alerts in one payload than max_alerts_per_payload: 413, and
// nothing of the payload is stored.
func TestAlertCap(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(t, cfg, "storage: {retention: 24h}\n")
	p := launch(t, cfg, filepath.Join(dir, "data"))
	alerts := make([]map[string]any, 1001)
	for i := range alerts {
		alerts[i] = map[string]any{"status": "firing", "labels": map[string]string{"alertname": "A", "n": fmt.Sprint(i)},
			"startsAt": time.Now().UTC().Format(time.RFC3339Nano)}
	}
	b, _ := json.Marshal(map[string]any{"version": "4", "status": "firing", "receiver": "r", "groupKey": "g", "alerts": alerts})
	code, msg := request(t, "POST", p.url+"/webhook", "application/json", "", string(b))
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(msg, "1001 alerts, more than max_alerts_per_payload (1000)") {
		t.Errorf("1001 alerts: %d %s", code, msg)
	}
	if v := p.metric(`zkwatch_receiver_incidents{status="firing"}`); v != 0 {
		t.Errorf("%v incidents stored from a refused payload", v)
	}
	b, _ = json.Marshal(map[string]any{"version": "4", "status": "firing", "receiver": "r", "groupKey": "g", "alerts": alerts[:1000]})
	if code, msg := request(t, "POST", p.url+"/webhook", "application/json", "", string(b)); code != http.StatusOK {
		t.Errorf("1000 alerts: %d %s", code, msg)
	}
}

// incidents returns the receiver's incidents through its API.
func (p *proc) incidents() []struct {
	ID       string
	Restarts []struct{ Outcome, Reason string }
} {
	p.t.Helper()
	resp, err := p.get("/api/v1/incidents")
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Incidents []struct {
			ID       string
			Restarts []struct{ Outcome, Reason string }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		p.t.Fatal(err)
	}
	return v.Incidents
}

func waitForFile(t *testing.T, path string) {
	t.Helper()
	if err := zktest.WaitFor(30*time.Second, 10*time.Millisecond, func() error {
		_, err := os.Stat(path)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// SIGTERM while a restart runs: the receiver waits for the command
// (within its timeout) and records its real outcome, instead of killing
// it halfway.
func TestShutdownWaitsForRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(t, cfg, fmt.Sprintf(`
restarts:
  - name: member
    match: {alertname: ZooKeeperProcessMemberDown}
    command: ["/bin/sh", "-c", "touch started; while [ ! -e go ]; do sleep 0.02; done; touch done"]
    workdir: %q
    timeout: 60s
`, dir))
	storage := filepath.Join(dir, "data")
	p := launch(t, cfg, storage)
	if code, err := post(p.url, alertBody(map[string]string{"alertname": "ZooKeeperProcessMemberDown", "member": "m1"}, time.Now())); err != nil || code != 200 {
		t.Fatalf("post: %d %v", code, err)
	}
	waitForFile(t, filepath.Join(dir, "started"))
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := zktest.WaitFor(30*time.Second, 10*time.Millisecond, func() error {
		p.mu.Lock()
		defer p.mu.Unlock()
		if !strings.Contains(p.logs.String(), "shutting down") {
			return errors.New("no shutdown logged")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
		t.Fatal("the receiver exited while its restart command still ran")
	default:
	}
	writeFile(t, filepath.Join(dir, "go"), "")
	<-p.done
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d", code)
	}
	waitForFile(t, filepath.Join(dir, "done"))
	q := launch(t, cfg, storage)
	incs := q.incidents()
	if len(incs) != 1 || len(incs[0].Restarts) != 1 || incs[0].Restarts[0].Outcome != "success" {
		t.Errorf("incidents after restart: %+v", incs)
	}
}

// kill -9 while a restart runs: what the command started lives on in its
// process group. At start-up the receiver kills it (so no retry can overlap it) and records
// what it did.
func TestOrphanedRestartKilledAtStartup(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(t, cfg, fmt.Sprintf(`
restarts:
  - name: member
    match: {alertname: ZooKeeperProcessMemberDown}
    command: ["/bin/sh", "-c", "sleep 300 & echo $! > child; echo $$ > leader; wait"]
    workdir: %q
    timeout: 10m
`, dir))
	storage := filepath.Join(dir, "data")
	p := launch(t, cfg, storage)
	if code, err := post(p.url, alertBody(map[string]string{"alertname": "ZooKeeperProcessMemberDown", "member": "m1"}, time.Now())); err != nil || code != 200 {
		t.Fatalf("post: %d %v", code, err)
	}
	waitForFile(t, filepath.Join(dir, "leader"))
	var pids []int
	for _, f := range []string{"leader", "child"} {
		waitForFile(t, filepath.Join(dir, f))
		var pid int
		if err := zktest.WaitFor(10*time.Second, 10*time.Millisecond, func() error {
			b, _ := os.ReadFile(filepath.Join(dir, f))
			_, err := fmt.Sscan(string(b), &pid)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	t.Cleanup(func() {
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	// The job records its process group just after the command starts;
	// the gauge counts it once it is recorded.
	if err := zktest.WaitFor(30*time.Second, 10*time.Millisecond, func() error {
		if v := p.metric(`zkwatch_receiver_restarts_running{rule="member"}`); v != 1 {
			return fmt.Errorf("restarts_running = %v, want 1", v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	p.kill()
	// The leader dies with the receiver (Pdeathsig); its background child
	// lives on in the command's process group, as a command's daemonized
	// helper would.
	if !processAlive(pids[1]) {
		t.Fatalf("child %d died with the receiver; nothing to test", pids[1])
	}
	q := launch(t, cfg, storage)
	for _, pid := range pids {
		if processAlive(pid) {
			t.Errorf("orphaned restart process %d still alive after start-up", pid)
		}
	}
	incs := q.incidents()
	if len(incs) != 1 || len(incs[0].Restarts) != 1 || incs[0].Restarts[0].Outcome != "interrupted" ||
		!strings.Contains(incs[0].Restarts[0].Reason, "was still running and was killed") {
		t.Errorf("incidents after restart: %+v", incs)
	}
}

// processAlive tells whether pid runs and is not a zombie.
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && i+2 < len(b) && b[i+2] != 'Z'
}
