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
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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
		out, err := exec.Command(binary(t), "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
			"--web.listen-address="+listen).CombinedOutput()
		if err == nil {
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
	am := startAlertmanager(t, p.url+"/webhook", "s3cret")
	evil := `x","to":"+19999999999`
	am.fire(map[string]string{"alertname": evil}, map[string]string{"alertname": "y&to=+19999999999"})
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
