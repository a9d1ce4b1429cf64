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
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktest"
	"github.com/zkwatch/zkwatch/receiver/store"
)

// textSink keeps the text of every webhook message.
type textSink struct {
	mu    sync.Mutex
	texts []string
	srv   *httptest.Server
}

func newTextSink(t *testing.T) *textSink {
	s := &textSink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct{ Text string }
		_ = json.NewDecoder(r.Body).Decode(&m)
		s.mu.Lock()
		s.texts = append(s.texts, m.Text)
		s.mu.Unlock()
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *textSink) containing(sub string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.texts {
		if strings.Contains(t, sub) {
			n++
		}
	}
	return n
}

// maintenanceConfig restarts a member by writing "member unix-ns" to runs.
func maintenanceConfig(sinkURL, runs string) string {
	return fmt.Sprintf(`
notifiers: [{name: sink, webhook: {url: %q}}]
routes: [{notifiers: [sink]}]
maintenance: {max_duration: 1h}
restarts:
  - name: member
    match: {alertname: ZooKeeperProcessMemberDown}
    command: ["/bin/sh", "-c", "echo \"$ZKWATCH_LABEL_MEMBER $(date +%%s%%N)\" >> %s"]
    allow: {member: "^[a-z0-9-]+$"}
    cooldown: 0s
`, sinkURL, runs)
}

// memberRuns returns when each member's restart command ran.
func memberRuns(t *testing.T, file string) map[string][]time.Time {
	b, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	out := map[string][]time.Time{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if f := strings.Fields(l); len(f) == 2 {
			ns, _ := strconv.ParseInt(f[1], 10, 64)
			out[f[0]] = append(out[f[0]], time.Unix(0, ns))
		}
	}
	return out
}

// createWindow posts a window for member=value ending in endsIn and
// returns its end as the receiver stored it.
func createWindow(t *testing.T, p *proc, value string, endsIn time.Duration) time.Time {
	t.Helper()
	body := fmt.Sprintf(`{"matchers":[{"name":"member","value":%q,"isRegex":false}],"endsAt":%q,"createdBy":"alice","comment":"disk swap"}`,
		value, time.Now().Add(endsIn).UTC().Format(time.RFC3339Nano))
	code, resp := request(t, http.MethodPost, p.url+"/api/v1/maintenance", "application/json", p.token, body)
	var w struct{ EndsAt time.Time }
	if err := json.Unmarshal([]byte(resp), &w); code != http.StatusOK || err != nil {
		t.Fatalf("creating the window: %d %s", code, resp)
	}
	return w.EndsAt
}

// postponedInMaintenance reports whether p recorded the member's restart
// as postponed for maintenance.
func postponedInMaintenance(t *testing.T, p *proc, member string) bool {
	resp, err := p.get("/api/v1/incidents?limit=100")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var all struct{ Incidents []*store.Incident }
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	for _, inc := range all.Incidents {
		for _, a := range inc.Restarts {
			if inc.Alert.Labels["member"] == member && a.Outcome == "postponed" && strings.HasPrefix(a.Reason, "in maintenance") {
				return true
			}
		}
	}
	return false
}

// TestMaintenanceWindowPostponesRestart, on the real binary: while a
// window for member web-1 is active, web-1's restart is postponed (recorded,
// reported "in maintenance", counted in the metrics) while web-2's runs at
// once; web-1's runs after the window expires by itself.
func TestMaintenanceWindowPostponesRestart(t *testing.T) {
	dir := t.TempDir()
	sink := newTextSink(t)
	runs := dir + "/runs"
	writeFile(t, dir+"/receiver.yml", maintenanceConfig(sink.srv.URL, runs))
	p := launch(t, dir+"/receiver.yml", dir+"/data")
	end := createWindow(t, p, "web-1", 8*time.Second)
	if v := p.metric(`zkwatch_receiver_maintenance_windows{state="active"}`); v != 1 {
		t.Fatalf("active windows: %v", v)
	}
	for _, m := range []string{"web-1", "web-2"} {
		if code, err := post(p.url, alertBody(map[string]string{"alertname": "ZooKeeperProcessMemberDown", "member": m}, time.Now())); err != nil || code != 200 {
			t.Fatalf("post %s: %d %v", m, code, err)
		}
	}
	if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error {
		if r := memberRuns(t, runs); len(r["web-2"]) != 1 {
			return fmt.Errorf("web-2 runs: %v", r["web-2"])
		}
		if !postponedInMaintenance(t, p, "web-1") || sink.containing("postponed: in maintenance until") != 1 {
			return fmt.Errorf("web-1 not yet postponed and reported")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if time.Now().Before(end) && len(memberRuns(t, runs)["web-1"]) != 0 {
		t.Fatal("web-1 restarted inside its window")
	}
	var ran time.Time
	if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error {
		r := memberRuns(t, runs)["web-1"]
		if len(r) != 1 {
			return fmt.Errorf("web-1 runs: %v", r)
		}
		ran = r[0]
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if ran.Before(end) {
		t.Fatalf("web-1 restarted at %s, before its window ended at %s", ran, end)
	}
	t.Logf("web-1 restarted %s after its window ended", ran.Sub(end))
	if v := p.metric(`zkwatch_receiver_maintenance_windows{state="active"}`); v != 0 {
		t.Errorf("active windows after the end: %v", v)
	}
	if v := p.metric(`zkwatch_receiver_restarts_total{outcome="postponed",rule="member"}`); v < 1 {
		t.Errorf("postponed restarts: %v", v)
	}
}

// TestMaintenanceWindowSharedByReplicas: two replicas over a real
// ZooKeeper ensemble with digest credentials (the protected default ACL).
// A window created on replica a reaches replica b through ZooKeeper, and
// the alert, posted to b only, has its restart postponed there until the
// window ends, then run once.
func TestMaintenanceWindowSharedByReplicas(t *testing.T) {
	dir := t.TempDir()
	e := zktest.Start(t, 3)
	sink := newTextSink(t)
	runs := dir + "/runs"
	writeFile(t, dir+"/receiver.yml", maintenanceConfig(sink.srv.URL, runs))
	writeFile(t, dir+"/digest", "rcv:s3cret\n")
	var reps [2]*proc
	for i, name := range []string{"a", "b"} {
		reps[i] = launch(t, dir+"/receiver.yml", dir+"/data-"+name, "--ha.zookeeper.servers="+e.Servers(), "--ha.replica-name="+name,
			"--ha.zookeeper.session-timeout=4s", "--ha.zookeeper.auth.digest-file="+dir+"/digest")
	}
	created := time.Now()
	end := createWindow(t, reps[0], "web-1", 10*time.Second)
	if err := zktest.WaitFor(10*time.Second, 10*time.Millisecond, func() error {
		if v := reps[1].metric(`zkwatch_receiver_maintenance_windows{state="active"}`); v != 1 {
			return fmt.Errorf("replica b: %v active windows", v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("window reached replica b %s after the POST to a", time.Since(created).Round(time.Millisecond))
	if code, err := post(reps[1].url, alertBody(map[string]string{"alertname": "ZooKeeperProcessMemberDown", "member": "web-1"}, time.Now())); err != nil || code != 200 {
		t.Fatalf("post: %d %v", code, err)
	}
	if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error {
		if !postponedInMaintenance(t, reps[1], "web-1") {
			return fmt.Errorf("not postponed on b yet")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var ran time.Time
	if err := zktest.WaitFor(40*time.Second, 20*time.Millisecond, func() error {
		r := memberRuns(t, runs)["web-1"]
		if len(r) != 1 {
			return fmt.Errorf("web-1 runs: %v", r)
		}
		ran = r[0]
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if ran.Before(end) {
		t.Fatalf("web-1 restarted at %s, before the window ended at %s", ran, end)
	}
	t.Logf("web-1 restarted %s after the window ended", ran.Sub(end).Round(time.Millisecond))
	// Deleting on b ends it on a too.
	createWindow(t, reps[1], "web-2", 10*time.Minute)
	if err := zktest.WaitFor(10*time.Second, 10*time.Millisecond, func() error {
		if v := reps[0].metric(`zkwatch_receiver_maintenance_windows{state="active"}`); v != 1 {
			return fmt.Errorf("replica a: %v active windows", v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_, list := request(t, http.MethodGet, reps[0].url+"/api/v1/maintenance", "", "", "")
	var ws struct{ Windows []struct{ ID string } }
	if err := json.Unmarshal([]byte(list), &ws); err != nil || len(ws.Windows) != 2 {
		t.Fatalf("replica a lists %s", list)
	}
	for _, w := range ws.Windows {
		if code, body := request(t, http.MethodDelete, reps[1].url+"/api/v1/maintenance/"+w.ID, "", "", ""); code != 200 {
			t.Fatalf("delete on b: %d %s", code, body)
		}
	}
	if err := zktest.WaitFor(10*time.Second, 10*time.Millisecond, func() error {
		if _, list := request(t, http.MethodGet, reps[0].url+"/api/v1/maintenance", "", "", ""); !strings.Contains(list, `"windows": []`) {
			return fmt.Errorf("replica a still lists %s", list)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestMaintenanceWindowDeletedReleasesRestart: ending a window early
// (DELETE) runs the restart it held at once, not at the window's old end.
func TestMaintenanceWindowDeletedReleasesRestart(t *testing.T) {
	dir := t.TempDir()
	sink := newTextSink(t)
	runs := dir + "/runs"
	writeFile(t, dir+"/receiver.yml", maintenanceConfig(sink.srv.URL, runs))
	p := launch(t, dir+"/receiver.yml", dir+"/data")
	createWindow(t, p, "web-1", 30*time.Minute)
	if code, err := post(p.url, alertBody(map[string]string{"alertname": "ZooKeeperProcessMemberDown", "member": "web-1"}, time.Now())); err != nil || code != 200 {
		t.Fatalf("post: %d %v", code, err)
	}
	if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error {
		if !postponedInMaintenance(t, p, "web-1") {
			return fmt.Errorf("not postponed yet")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_, list := request(t, http.MethodGet, p.url+"/api/v1/maintenance", "", "", "")
	var ws struct{ Windows []struct{ ID string } }
	if err := json.Unmarshal([]byte(list), &ws); err != nil || len(ws.Windows) != 1 {
		t.Fatalf("windows: %s", list)
	}
	if len(memberRuns(t, runs)["web-1"]) != 0 {
		t.Fatal("web-1 restarted inside its window")
	}
	deleted := time.Now()
	if code, body := request(t, http.MethodDelete, p.url+"/api/v1/maintenance/"+ws.Windows[0].ID, "", "", ""); code != 200 {
		t.Fatalf("delete: %d %s", code, body)
	}
	if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error {
		if r := memberRuns(t, runs)["web-1"]; len(r) != 1 {
			return fmt.Errorf("web-1 runs: %v", r)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("web-1 restarted %s after the window was deleted", time.Since(deleted).Round(time.Millisecond))
}
