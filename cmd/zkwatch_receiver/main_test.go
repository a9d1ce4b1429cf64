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
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktest"
	"github.com/zkwatch/zkwatch/receiver/notify/notifytest"
	"github.com/zkwatch/zkwatch/receiver/payload"
	"github.com/zkwatch/zkwatch/receiver/store"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the real receiver once per test run.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "zkwatch-receiver-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "zkwatch_receiver")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

type proc struct {
	t    testing.TB
	cmd  *exec.Cmd
	url  string
	done chan struct{}
	logs *strings.Builder
	mu   *sync.Mutex
	// token, when set, is sent as the bearer token by metric and get.
	token string
}

// get fetches path with the receiver's token, if any.
func (p *proc) get(path string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, p.url+path, nil)
	if err != nil {
		return nil, err
	}
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	return http.DefaultClient.Do(req)
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// launch starts the binary and waits until it is ready.
func launch(t testing.TB, configFile, storage string, flags ...string) *proc {
	t.Helper()
	return launchAt(t, freeAddr(t), configFile, storage, flags...)
}

// launchAt starts the binary listening on addr and waits until it is ready.
func launchAt(t testing.TB, addr, configFile, storage string, flags ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"--config.file=" + configFile, "--storage.path=" + storage,
		"--web.listen-address=" + addr, "--log.level=debug"}, withOpenHA(flags)...)...)
	p := &proc{t: t, cmd: cmd, url: "http://" + addr, done: make(chan struct{}), logs: &strings.Builder{}, mu: &sync.Mutex{}}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.logs.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			p.mu.Lock()
			t.Logf("receiver log:\n%s", p.logs.String())
			p.mu.Unlock()
		}
	})
	if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error {
		select {
		case <-p.done:
			return errors.New("receiver exited")
		default:
		}
		resp, err := http.Get(p.url + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("ready: %d", resp.StatusCode)
		}
		return nil
	}); err != nil {
		t.Fatalf("receiver not ready: %v", err)
	}
	return p
}

func (p *proc) kill() {
	_ = p.cmd.Process.Kill() // SIGKILL: no chance to flush anything
	<-p.done
}

func (p *proc) metric(name string) float64 {
	resp, err := p.get("/metrics")
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, name+" "); ok {
			var v float64
			fmt.Sscan(rest, &v)
			return v
		}
	}
	return -1
}

func post(url, body string) (int, error) {
	resp, err := http.Post(url+"/webhook", "application/json", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func alertBody(labels map[string]string, startsAt time.Time) string {
	b, _ := json.Marshal(map[string]any{
		"version": "4", "status": "firing", "receiver": "zkwatch", "groupKey": "g",
		"alerts": []map[string]any{{"status": "firing", "labels": labels, "annotations": map[string]string{},
			"startsAt": startsAt.UTC().Format(time.RFC3339Nano), "endsAt": "0001-01-01T00:00:00Z"}},
	})
	return string(b)
}

type sinkServer struct {
	mu    sync.Mutex
	count map[string]int // incident id + kind -> messages
	srv   *httptest.Server
}

func newSinkServer(t testing.TB) *sinkServer {
	s := &sinkServer{count: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct{ IncidentID, Kind, Text string }
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.count[m.IncidentID+" "+m.Kind]++
		if strings.Contains(m.Text, "Possible duplicate") {
			s.count[m.IncidentID+" "+m.Kind+" marked duplicate"]++
		}
		s.mu.Unlock()
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sinkServer) get(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count[key]
}

func writeFile(t testing.TB, path, content string) {
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// kill -9 in the middle of a burst of posts: every acknowledged alert is
// in the store afterwards, pending notifications go out, and no restart
// runs twice.
func TestCrashDuringBurst(t *testing.T) {
	dir := t.TempDir()
	sink := newSinkServer(t)
	runs := filepath.Join(dir, "runs.log")
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(t, cfg, fmt.Sprintf(`
notifiers:
  - {name: sink, webhook: {url: %q}}
routes:
  - notifiers: [sink]
restarts:
  - name: member
    match: {alertname: ZooKeeperProcessMemberDown}
    command: ["/bin/sh", "-c", "echo \"$ZKWATCH_INCIDENT_ID\" >> %s"]
    max_attempts: 1
`, sink.srv.URL, runs))
	storage := filepath.Join(dir, "data")
	p := launch(t, cfg, storage)

	startsAt := time.Now().Add(-time.Minute)
	var (
		mu    sync.Mutex
		acked []string
		next  atomic.Int64
		wg    sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				labels := map[string]string{"alertname": "ZooKeeperProcessMemberDown", "group": "g", "member": fmt.Sprintf("m%d", n)}
				code, err := post(p.url, alertBody(labels, startsAt))
				if err != nil {
					return // the receiver is gone
				}
				if code != 200 {
					t.Errorf("post: %d", code)
					return
				}
				a := payload.Alert{Labels: labels, StartsAt: startsAt, Fingerprint: payload.Fingerprint(labels)}
				mu.Lock()
				acked = append(acked, a.IncidentID())
				mu.Unlock()
			}
		}()
	}
	if err := zktest.WaitFor(30*time.Second, 5*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(acked) < 150 {
			return fmt.Errorf("%d acknowledged", len(acked))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	p.kill()
	wg.Wait()
	t.Logf("%d alerts acknowledged before kill -9", len(acked))

	p = launch(t, cfg, storage)
	for _, id := range acked {
		resp, err := http.Get(p.url + "/api/v1/incidents/" + id)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("acknowledged incident %s lost: %d", id, resp.StatusCode)
		}
	}
	if err := zktest.WaitFor(60*time.Second, 50*time.Millisecond, func() error {
		for _, id := range acked {
			if sink.get(id+" firing") == 0 || sink.get(id+" restart") == 0 {
				return fmt.Errorf("incident %s: firing %d, restart reports %d", id, sink.get(id+" firing"), sink.get(id+" restart"))
			}
		}
		if n := p.metric("zkwatch_receiver_outbox_pending"); n != 0 {
			return fmt.Errorf("%v notifications pending", n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(runs)
	if err != nil {
		t.Fatal(err)
	}
	ran := map[string]int{}
	for _, id := range strings.Fields(string(b)) {
		ran[id]++
	}
	interrupted := 0
	for _, id := range acked {
		switch ran[id] {
		case 1:
		case 0:
			// Only a run cut short by the kill may be missing, and then it
			// is recorded as interrupted rather than silently repeated.
			var inc struct{ Restarts []struct{ Outcome string } }
			resp, err := http.Get(p.url + "/api/v1/incidents/" + id)
			if err != nil {
				t.Fatal(err)
			}
			_ = json.NewDecoder(resp.Body).Decode(&inc)
			resp.Body.Close()
			if len(inc.Restarts) != 1 || inc.Restarts[0].Outcome != "interrupted" {
				t.Errorf("incident %s: restart never ran: %+v", id, inc.Restarts)
			}
			interrupted++
		default:
			t.Errorf("incident %s: restart ran %d times", id, ran[id])
		}
	}
	dups := 0
	for _, id := range acked {
		if sink.get(id+" firing") > 1 {
			dups++
		}
	}
	t.Logf("%d restarts interrupted by the kill, %d notifications delivered twice (at-least-once)", interrupted, dups)
}

func TestConfigCheckAndReload(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(t, cfg, "storage: {retention: 24h}\n")
	out, err := exec.Command(binary(t), "--config.file="+cfg, "--config.check").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "configuration is valid") {
		t.Errorf("check of a good file: %v %s", err, out)
	}
	out, err = exec.Command(binary(t), "--config.file=../../examples/receiver.yml", "--config.check").CombinedOutput()
	if err != nil {
		t.Errorf("check of the example: %v %s", err, out)
	}
	bad := filepath.Join(dir, "bad.yml")
	writeFile(t, bad, "storage: {retention: 24h}\nunknown: 1\n")
	out, err = exec.Command(binary(t), "--config.file="+bad, "--config.check").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "line 2: field unknown not found") {
		t.Errorf("check of a bad file: %v %s", err, out)
	}

	p := launch(t, cfg, filepath.Join(dir, "data"))
	if v := p.metric("zkwatch_receiver_config_last_reload_successful"); v != 1 {
		t.Fatalf("reload gauge %v", v)
	}
	// An invalid file keeps the old configuration, by SIGHUP or HTTP.
	writeFile(t, cfg, "notifiers: [{name: x}]\n")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error {
		if v := p.metric("zkwatch_receiver_config_last_reload_successful"); v != 0 {
			return fmt.Errorf("gauge %v", v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if code, err := post(p.url, alertBody(map[string]string{"alertname": "A"}, time.Now())); err != nil || code != 200 {
		t.Errorf("post after failed reload: %d %v", code, err)
	}
	resp, err := http.Post(p.url+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("reload of a bad file: %d", resp.StatusCode)
	}
	writeFile(t, cfg, "global: {bearer_token: tok}\n")
	resp, err = http.Post(p.url+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	p.token = "tok" // in force from now on, also for /metrics
	if resp.StatusCode != http.StatusOK || p.metric("zkwatch_receiver_config_last_reload_successful") != 1 {
		t.Errorf("reload of a good file: %d", resp.StatusCode)
	}
	if code, _ := post(p.url, alertBody(map[string]string{"alertname": "A"}, time.Now())); code != 401 {
		t.Errorf("new token not in force: %d", code)
	}
	for _, m := range []string{"zkwatch_receiver_build_info", "go_goroutines", "process_resident_memory_bytes", "zkwatch_receiver_store_size_bytes"} {
		resp, err := p.get("/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	// SIGTERM shuts down cleanly.
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("exit code %d after SIGTERM", code)
		}
	case <-time.After(30 * time.Second):
		t.Error("no exit after SIGTERM")
	}
}

// A real Alertmanager delivers to the receiver with a bearer token, and
// its payloads (firing, then resolved) decode into one incident.
// startAlertmanager runs a real Alertmanager that sends every group to
// the receiver's webhook, and to those of more replicas, with token; it
// returns Alertmanager's address.
func startAlertmanager(t testing.TB, dir, webhookURL, token string, more ...string) string {
	t.Helper()
	return startAlertmanagerWait(t, dir, 100*time.Millisecond, webhookURL, token, more...)
}

// startAlertmanagerWait is startAlertmanager with the route's group_wait.
func startAlertmanagerWait(t testing.TB, dir string, groupWait time.Duration, webhookURL, token string, more ...string) string {
	t.Helper()
	var hooks strings.Builder
	for _, u := range append([]string{webhookURL}, more...) {
		fmt.Fprintf(&hooks, "      - url: %q\n        send_resolved: true\n        http_config:\n          authorization: {credentials: %s}\n", u, token)
	}
	return runAlertmanager(t, dir, `
route:
  receiver: zkwatch
  group_by: [alertname, member]
  group_wait: `+groupWait.String()+`
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: zkwatch
    webhook_configs:
`+hooks.String()).addr
}

// alertmanagerProc is a running Alertmanager.
type alertmanagerProc struct {
	addr string
	cmd  *exec.Cmd
}

// stop kills Alertmanager (its alerts are gone with it: it keeps only
// silences and the notification log on disk).
func (a *alertmanagerProc) stop() {
	_ = a.cmd.Process.Kill()
	_ = a.cmd.Wait()
}

// runAlertmanager starts the real Alertmanager with configuration cfg,
// its state in dir; it is stopped at the end of the test.
func runAlertmanager(t testing.TB, dir, cfg string) *alertmanagerProc {
	t.Helper()
	am, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		if am, err = exec.LookPath("alertmanager"); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("Alertmanager is not installed (apt-get install prometheus-alertmanager)")
			}
			t.Skip("Alertmanager is not installed")
		}
	}
	amAddr := freeAddr(t)
	amCfg := filepath.Join(dir, "alertmanager.yml")
	writeFile(t, amCfg, cfg)
	cmd := exec.Command(am, "--config.file="+amCfg, "--storage.path="+filepath.Join(dir, "am"),
		"--web.listen-address="+amAddr, "--web.external-url=http://"+amAddr, "--cluster.listen-address=")
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &alertmanagerProc{addr: amAddr, cmd: cmd}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("alertmanager output:\n%s", out)
		}
	})
	return p
}

// postAlerts posts alerts to Alertmanager's API until it accepts them.
func postAlerts(t *testing.T, amAddr string, alerts []map[string]any) {
	t.Helper()
	b, _ := json.Marshal(alerts)
	if err := zktest.WaitFor(30*time.Second, 100*time.Millisecond, func() error {
		resp, err := http.Post("http://"+amAddr+"/api/v2/alerts", "application/json", strings.NewReader(string(b)))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("alertmanager answered %d", resp.StatusCode)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestRealAlertmanager(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(t, cfg, "global: {bearer_token: s3cret}\n")
	p := launch(t, cfg, filepath.Join(dir, "data"))
	p.token = "s3cret"
	amAddr := startAlertmanager(t, dir, p.url+"/webhook", "s3cret")
	labels := map[string]string{"alertname": "ZooKeeperProcessMemberDown", "group": "zk-main", "member": "zk-2", "severity": "critical"}
	startsAt := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	postAM := func(endsAt time.Time) {
		postAlerts(t, amAddr, []map[string]any{{"labels": labels, "annotations": map[string]string{"summary": "down"},
			"startsAt": startsAt.Format(time.RFC3339Nano), "endsAt": endsAt.UTC().Format(time.RFC3339Nano)}})
	}
	postAM(time.Now().Add(time.Hour))
	var incs struct {
		Incidents []struct {
			ID, Status string
			Alert      payload.Alert
		}
	}
	waitStatus := func(status string) {
		t.Helper()
		if err := zktest.WaitFor(30*time.Second, 100*time.Millisecond, func() error {
			resp, err := p.get("/api/v1/incidents")
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if err := json.NewDecoder(resp.Body).Decode(&incs); err != nil {
				return err
			}
			if len(incs.Incidents) != 1 || incs.Incidents[0].Status != status {
				return fmt.Errorf("incidents %+v", incs.Incidents)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	waitStatus("firing")
	a := incs.Incidents[0].Alert
	if a.Labels["member"] != "zk-2" || !a.StartsAt.Equal(startsAt) || a.Fingerprint == "" {
		t.Errorf("alert %+v", a)
	}
	postAM(time.Now())
	waitStatus("resolved")
	if v := p.metric(`zkwatch_receiver_webhook_requests_total{code="200"}`); v < 2 {
		t.Errorf("webhook 200s: %v", v)
	}
	for _, code := range []string{"401", "403"} {
		// Every known status starts at 0 (so increase() counts the first).
		if v := p.metric(`zkwatch_receiver_webhook_requests_total{code="` + code + `"}`); v != 0 {
			t.Errorf("Alertmanager got %v answers with code %s", v, code)
		}
	}
}

// The Done-when end to end: real Alertmanager sends one
// notification of 30 alerts to the receiver binary, whose DingTalk
// notifier (grouping: notification by default) sends one or two signed
// messages within the robot's rate limit, @mentioning the configured
// mobile in text and at block, with runbook, source, silence and incident
// links and times in global.timezone.
func TestRealAlertmanagerThirtyAlertsToDingTalk(t *testing.T) {
	dir := t.TempDir()
	robot := notifytest.NewRobot(t, "SECzk")
	robot.Limit(20)
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(t, cfg, fmt.Sprintf(`global: {bearer_token: s3cret, timezone: Asia/Shanghai}
notifiers: [{name: ding, dingtalk: {url: %q, secret: SECzk, at: {mobiles: ["13800138000"]}}}]
routes: [{notifiers: [ding]}]
`, robot.URL))
	addr := freeAddr(t)
	p := launchAt(t, addr, cfg, filepath.Join(dir, "data"), "--web.external-url=http://"+addr+"/")
	p.token = "s3cret"
	// On a loaded machine Alertmanager may take longer than the usual
	// 100 ms to take in 30 alerts, and would then flush the group in parts.
	amAddr := startAlertmanagerWait(t, dir, 2*time.Second, p.url+"/webhook", "s3cret")

	startsAt := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	alerts := make([]map[string]any, 30)
	for i := range alerts {
		alerts[i] = map[string]any{
			"labels": map[string]string{"alertname": "ZooKeeperDown", "group": "zk", "server": fmt.Sprintf("zk-%02d.example:2181", i)},
			"annotations": map[string]string{"summary": fmt.Sprintf("zk-%02d does not answer", i),
				"runbook_url": "https://runbooks.example/zookeeper#zookeeperdown"},
			"generatorURL": "http://prometheus.example:9090/graph?g0.expr=zookeeper_up+%3D%3D+0",
			"startsAt":     startsAt.Format(time.RFC3339Nano), "endsAt": startsAt.Add(time.Hour).Format(time.RFC3339Nano),
		}
	}
	postAlerts(t, amAddr, alerts)
	var incs struct{ Incidents []store.Incident }
	if err := zktest.WaitFor(60*time.Second, 100*time.Millisecond, func() error {
		resp, err := p.get("/api/v1/incidents")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&incs); err != nil {
			return err
		}
		told := 0
		for _, inc := range incs.Incidents {
			if len(inc.Notifications) > 0 {
				told++
			}
		}
		return expectN(30, told, "incidents notified")
	}); err != nil {
		t.Fatal(err)
	}
	bodies := robot.Bodies()
	t.Logf("%d DingTalk message(s) for 30 alerts", len(bodies))
	if len(bodies) < 1 || len(bodies) > 2 || robot.Rejected() != 0 || robot.TooFast() != 0 {
		t.Fatalf("%d messages, %d badly signed, %d too fast", len(bodies), robot.Rejected(), robot.TooFast())
	}
	var text strings.Builder
	for _, b := range bodies {
		var m struct {
			Markdown struct{ Text string }
			At       struct{ AtMobiles []string }
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(m.Markdown.Text, "@13800138000") || strings.Join(m.At.AtMobiles, ",") != "13800138000" {
			t.Errorf("no @mention: at %v", m.At.AtMobiles)
		}
		text.WriteString(m.Markdown.Text)
	}
	local := startsAt.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04:05") + " +08:00 CST"
	for what, n := range map[string]int{
		"[runbook](https://runbooks.example/zookeeper#zookeeperdown)":                           30,
		"[source](http://prometheus.example:9090/graph?g0.expr=zookeeper_up+%3D%3D+0)":          30,
		"[silence](http://" + amAddr + "/#/silences/new?filter=%7Balertname%3D%22ZooKeeperDown": 30,
		"- started: " + local: 30,
	} {
		if c := strings.Count(text.String(), what); c != n {
			t.Errorf("%d times %q, want %d", c, what, n)
		}
	}
	for _, inc := range incs.Incidents {
		if !strings.Contains(text.String(), "[incident](http://"+addr+"/incidents/"+inc.ID+")") {
			t.Errorf("no incident link for %s", inc.ID)
		}
		if n := inc.Notifications[0]; n.Grouped < 1 || n.Outcome != "success" {
			t.Errorf("incident %s: %+v", inc.ID, n)
		}
	}
	// One message per Alertmanager notification: a loaded Alertmanager may
	// flush the group in two parts (say 20 and 10 a group_interval apart),
	// but every message lists all the alerts of its notification.
	grouped := map[time.Time]int{}
	for _, inc := range incs.Incidents {
		grouped[inc.Notifications[0].At] = inc.Notifications[0].Grouped
	}
	sum := 0
	for _, n := range grouped {
		sum += n
	}
	if len(grouped) != len(bodies) || sum != 30 {
		t.Errorf("%d messages, notifications grouping %v alerts, want one message per notification and 30 alerts", len(bodies), grouped)
	}
}

func expectN(want, got int, what string) error {
	if got != want {
		return fmt.Errorf("%s: %d, want %d", what, got, want)
	}
	return nil
}

func TestExternalURLFlag(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "receiver.yml")
	writeFile(t, cfg, "storage: {retention: 24h}\n")
	for _, u := range []string{"ftp://example.org/", "receiver.example.org", "http://h/?q=1"} {
		out, err := exec.Command(binary(t), "--config.file="+cfg, "--storage.path="+t.TempDir(), "--web.external-url="+u).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "invalid --web.external-url") {
			t.Errorf("%s: %v %s", u, err, out)
		}
	}
}
