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
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/zktest"
	"github.com/zkwatch/zkwatch/receiver/payload"
	"github.com/zkwatch/zkwatch/receiver/store"
)

// haStack is two receiver replicas coordinating through a real 3-member
// ensemble behind a real Alertmanager that lists both as webhook_configs,
// each replica notifying two sinks.
type haStack struct {
	t        testing.TB
	dir      string
	zk       *zktest.Ensemble
	am       string
	sinks    [2]*sinkServer
	names    [2]string
	addrs    [2]string
	replicas [2]*proc
	n        int
}

// requireTool fails under CI=true and skips otherwise when tool is missing.
func requireTool(t testing.TB, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		msg := tool + " not installed (apt-get install prometheus-alertmanager)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

func startHA(t testing.TB) *haStack { return startReplicas(t, 2) }

// startReplicas starts n replicas (1: a single receiver without ZooKeeper).
func startReplicas(t testing.TB, n int) *haStack {
	requireTool(t, "amtool")
	s := &haStack{t: t, dir: t.TempDir(), names: [2]string{"a", "b"}, n: n}
	if n > 1 {
		s.zk = zktest.Start(t, 3)
	}
	s.sinks = [2]*sinkServer{newSinkServer(t), newSinkServer(t)}
	for i := 0; i < n; i++ {
		s.addrs[i] = freeAddr(t)
		writeFile(t, s.path("receiver-"+s.names[i]+".yml"), fmt.Sprintf(`
global: {bearer_token: s3cret}
notifiers:
  - {name: one, webhook: {url: %q}}
  - {name: two, webhook: {url: %q}}
routes:
  - notifiers: [one, two]
restarts:
  - name: member
    match: {alertname: ZooKeeperProcessMemberDown}
    command: ["/bin/sh", "-c", "echo \"$ZKWATCH_INCIDENT_ID $(date +%%s%%N)\" >> %s"]
    max_attempts: 2
    backoff: 100ms
    cooldown: 0s
  - name: slow
    match: {alertname: ZooKeeperSlowRestart}
    command: ["/bin/sh", "-c", "echo \"$ZKWATCH_INCIDENT_ID $(date +%%s%%N)\" >> %s; sleep 3"]
    max_attempts: 2
    backoff: 100ms
    cooldown: 0s
`, s.sinks[0].srv.URL, s.sinks[1].srv.URL, s.path("runs-"+s.names[i]), s.path("slow-"+s.names[i])))
		s.launch(i)
	}
	urls := make([]string, n)
	for i := range urls {
		urls[i] = "http://" + s.addrs[i] + "/webhook"
	}
	s.am = "http://" + startAlertmanager(t, s.dir, urls[0], "s3cret", urls[1:]...)
	if err := zktest.WaitFor(60*time.Second, 50*time.Millisecond, func() error {
		resp, err := http.Get(s.am + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("ready: %d", resp.StatusCode)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *haStack) path(name string) string { return filepath.Join(s.dir, name) }

// launch starts replica i on its address, over its store.
func (s *haStack) launch(i int) {
	var ha []string
	if s.zk != nil {
		ha = []string{"--ha.zookeeper.servers=" + s.zk.Servers(), "--ha.replica-name=" + s.names[i],
			"--ha.zookeeper.session-timeout=4s", "--ha.notify.fail-open-after=3s"}
	}
	s.replicas[i] = launchAt(s.t, s.addrs[i], s.path("receiver-"+s.names[i]+".yml"), s.path("data-"+s.names[i]), ha...)
	s.replicas[i].token = "s3cret"
}

// fire adds an alert through amtool.
func (s *haStack) fire(labels ...string) error {
	out, err := exec.Command("amtool", append([]string{"alert", "add", "--alertmanager.url=" + s.am}, labels...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("amtool: %v: %s", err, out)
	}
	return nil
}

// incidents returns replica i's incidents whose alert has label=value.
func (s *haStack) incidents(i int, label, value string) ([]*store.Incident, error) {
	resp, err := s.replicas[i].get("/api/v1/incidents?limit=1000")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var all struct{ Incidents []*store.Incident }
	if err := json.NewDecoder(resp.Body).Decode(&all); err != nil {
		return nil, err
	}
	var out []*store.Incident
	for _, inc := range all.Incidents {
		if inc.Alert.Labels[label] == value {
			out = append(out, inc)
		}
	}
	return out, nil
}

// runs counts the restart command's runs by incident across replicas.
func (s *haStack) runs(prefix string) map[string]int {
	n := map[string]int{}
	for _, name := range s.names {
		b, err := os.ReadFile(s.path(prefix + "-" + name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			s.t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if f := strings.Fields(l); len(f) > 0 {
				n[f[0]]++
			}
		}
	}
	return n
}

// settled waits until both replicas know n incidents of the batch, each
// with its restart done and its firing message to both notifiers recorded
// (the restart report is queued with the restart's record, by the replica
// that ran it), and nothing left in either outbox.
func (s *haStack) settled(batch string, n int, timeout time.Duration) [2][]*store.Incident {
	var got [2][]*store.Incident
	if err := zktest.WaitFor(timeout, 100*time.Millisecond, func() error {
		for i := range s.replicas {
			incs, err := s.settledOn(i, batch, n)
			if err != nil {
				return err
			}
			got[i] = incs
		}
		return nil
	}); err != nil {
		s.t.Fatal(err)
	}
	return got
}

// settledOn is settled's condition for replica i.
func (s *haStack) settledOn(i int, batch string, n int) ([]*store.Incident, error) {
	incs, err := s.incidents(i, "batch", batch)
	if err != nil {
		return nil, err
	}
	if len(incs) != n {
		return nil, fmt.Errorf("replica %s has %d incidents of %d", s.names[i], len(incs), n)
	}
	for _, inc := range incs {
		if !restartDone(inc) || firingRecorded(inc) < 2 {
			return nil, fmt.Errorf("replica %s, incident %s: restarts %+v, notifications %+v", s.names[i], inc.ID, inc.Restarts, inc.Notifications)
		}
	}
	if p := s.replicas[i].metric("zkwatch_receiver_outbox_pending"); p != 0 {
		return nil, fmt.Errorf("replica %s: %v pending", s.names[i], p)
	}
	return incs, nil
}

// firingRecorded counts the firing messages recorded on inc, sent by this
// replica or by the other.
func firingRecorded(inc *store.Incident) int {
	n := 0
	for _, m := range inc.Notifications {
		if m.Kind == store.KindFiring {
			n++
		}
	}
	return n
}

func restartDone(inc *store.Incident) bool {
	for _, a := range inc.Restarts {
		if a.Outcome == "success" {
			return true
		}
	}
	return false
}

// exactlyOnce checks that every incident's restart ran once and each sink
// got one firing message and one restart report for it. With killed set, a
// second run or message is accepted only where the killed replica held the
// claim and died before recording an outcome, so that the action's fate
// was unknown and the claim was taken over (at-least-once for that one
// action, as a single receiver's crash recovery does); it returns how
// many such actions there were.
func (s *haStack) exactlyOnce(incs []*store.Incident, runs map[string]int, killed bool) int {
	t := s.t
	unknown := 0
	check := func(id, what string, n int, claim string) {
		switch {
		case n == 1:
		case n == 2 && killed && s.takenOver(id, claim):
			unknown++
			t.Logf("incident %s: %s twice, its claim %s was taken over from the killed replica", id, what, claim)
		default:
			t.Errorf("incident %s: %s %d times; claims:\n%s", id, what, n, s.claims(id))
		}
	}
	for _, inc := range incs {
		check(inc.ID, "restart ran", runs[inc.ID], "restart/member-1")
		attempts := s.attempts(inc.ID)
		for j, sink := range s.sinks {
			n := []string{"one", "two"}[j]
			check(inc.ID, "firing message to "+n, sink.get(inc.ID+" firing"), "notify/"+n+"/firing-1")
			// One report per attempt (an interrupted attempt is reported
			// as such), or a report whose sender died before recording it.
			if r := sink.get(inc.ID + " restart"); r != 1 && (!killed || r > attempts) {
				check(inc.ID, "restart report to "+n, r, "notify/"+n+"/restart/")
			}
		}
	}
	return unknown
}

// attempts counts the restart attempts claimed for an incident.
func (s *haStack) attempts(id string) int {
	conn, _, err := zk.Connect(s.zk.Addrs(), 4*time.Second, zk.WithLogInfo(false))
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close()
	names, _, err := conn.Children("/zkwatch/receiver/claims/" + id)
	if err != nil {
		s.t.Fatal(err)
	}
	n := 0
	for _, name := range names {
		if strings.HasPrefix(name, url.PathEscape("restart/member")+"-") {
			n++
		}
	}
	return n
}

// takenOver reports whether a claim of the incident whose node name
// starts with url.PathEscape(prefix) was taken over or abandoned: its first
// owner's session ended before it recorded an outcome.
func (s *haStack) takenOver(id, prefix string) bool {
	conn, _, err := zk.Connect(s.zk.Addrs(), 4*time.Second, zk.WithLogInfo(false))
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close()
	p := "/zkwatch/receiver/claims/" + id
	names, _, err := conn.Children(p)
	if err != nil {
		return false
	}
	for _, name := range names {
		if !strings.HasPrefix(name, url.PathEscape(prefix)) {
			continue
		}
		data, _, err := conn.Get(p + "/" + name)
		var d struct{ TakenOverFrom, Outcome string }
		if err == nil && json.Unmarshal(data, &d) == nil && (d.TakenOverFrom != "" || d.Outcome == "abandoned") {
			return true
		}
	}
	return false
}

// Two replicas behind one Alertmanager: 50 alerts fired with amtool give
// 50 restarts and 50 firing messages per sink; then a replica is killed
// with SIGKILL in the middle of a second burst and started again: nothing
// is lost, nothing doubled.
func TestHAExactlyOnceWithReplicaKilled(t *testing.T) {
	s := startHA(t)
	begin := time.Now()
	for i := 0; i < 50; i++ {
		if err := s.fire("alertname=ZooKeeperProcessMemberDown", "batch=one", fmt.Sprintf("member=m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	incs := s.settled("one", 50, 120*time.Second)
	t.Logf("50 alerts: restarted and notified in %s", time.Since(begin).Round(time.Millisecond))
	s.exactlyOnce(incs[0], s.runs("runs"), false)
	// Both replicas show which replica ran each restart, and agree.
	byA := map[string]string{}
	for _, inc := range incs[0] {
		byA[inc.ID] = actor(inc)
	}
	for _, inc := range incs[1] {
		if a := actor(inc); a == "" || a != byA[inc.ID] {
			t.Errorf("incident %s: replica a says %q ran the restart, replica b says %q", inc.ID, byA[inc.ID], a)
		}
	}
	// So do their pages.
	for i := range s.replicas {
		resp, err := s.replicas[i].get("/")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(page), `<td class="replica">a</td>`) && !strings.Contains(string(page), `<td class="replica">b</td>`) {
			t.Errorf("replica %s's page names no replica that acted", s.names[i])
		}
	}
	won := s.replicas[0].metric(`zkwatch_receiver_ha_claims_total{result="won"}`) + s.replicas[1].metric(`zkwatch_receiver_ha_claims_total{result="won"}`)
	if won < 50+50*4 {
		t.Errorf("won claims across replicas = %v, want at least 250 (50 restarts, 200 messages)", won)
	}
	for i := range s.replicas {
		if c := s.replicas[i].metric("zkwatch_receiver_ha_connected"); c != 1 {
			t.Errorf("replica %s: ha_connected = %v", s.names[i], c)
		}
	}

	// Second burst; replica a dies after 10 of its alerts went out.
	errc := make(chan error, 1)
	go func() {
		for i := 0; i < 50; i++ {
			if err := s.fire("alertname=ZooKeeperProcessMemberDown", "batch=two", fmt.Sprintf("member=m%d", i)); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	if err := zktest.WaitFor(60*time.Second, 5*time.Millisecond, func() error {
		if n := len(s.runs("runs")); n < 60 {
			return fmt.Errorf("%d incidents restarted", n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.replicas[0].kill()
	t.Logf("replica a killed with %d incidents restarted", len(s.runs("runs")))
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	s.launch(0)
	incs = s.settled("two", 50, 120*time.Second)
	unknown := s.exactlyOnce(incs[0], s.runs("runs"), true)
	t.Logf("after the kill: %d actions whose outcome the killed replica had not recorded were repeated", unknown)
}

// claims describes an incident's claims in ZooKeeper, for failures.
func (s *haStack) claims(id string) string {
	conn, _, err := zk.Connect(s.zk.Addrs(), 4*time.Second, zk.WithLogInfo(false))
	if err != nil {
		return err.Error()
	}
	defer conn.Close()
	p := "/zkwatch/receiver/claims/" + id
	names, _, err := conn.Children(p)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, n := range names {
		data, _, err := conn.Get(p + "/" + n)
		fmt.Fprintf(&b, "%s: %s %v\n", n, data, err)
	}
	return b.String()
}

// actor is the replica that ran the incident's successful restart.
func actor(inc *store.Incident) string {
	for _, a := range inc.Restarts {
		if a.Outcome == "success" {
			return a.Replica
		}
	}
	return ""
}

// With ZooKeeper down, restarts wait, visibly postponed, and run once when
// it is back; notifications go out after the fail-open wait, marked as
// possible duplicates.
func TestHAZooKeeperDown(t *testing.T) {
	s := startHA(t)
	for i := 0; i < 3; i++ {
		s.zk.Kill(i)
	}
	if err := zktest.WaitFor(30*time.Second, 50*time.Millisecond, func() error {
		for i := range s.replicas {
			if c := s.replicas[i].metric("zkwatch_receiver_ha_connected"); c != 0 {
				return fmt.Errorf("replica %s still connected", s.names[i])
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.fire("alertname=ZooKeeperProcessMemberDown", "batch=down", "member=m1"); err != nil {
		t.Fatal(err)
	}
	var id string
	if err := zktest.WaitFor(60*time.Second, 100*time.Millisecond, func() error {
		for i := range s.replicas {
			incs, err := s.incidents(i, "batch", "down")
			if err != nil || len(incs) != 1 {
				return fmt.Errorf("replica %s: %d incidents, %v", s.names[i], len(incs), err)
			}
			id = incs[0].ID
			if !postponedForZooKeeper(incs[0]) {
				return fmt.Errorf("replica %s: restarts %+v", s.names[i], incs[0].Restarts)
			}
		}
		// Fail open: both replicas sent the firing message, marked.
		for j, sink := range s.sinks {
			if n, d := sink.get(id+" firing"), sink.get(id+" firing marked duplicate"); n != 2 || d != 2 {
				return fmt.Errorf("sink %d: %d firing messages, %d marked", j, n, d)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n := s.runs("runs")[id]; n != 0 {
		t.Fatalf("restart ran %d times without ZooKeeper", n)
	}
	for i := range s.replicas {
		if v := s.replicas[i].metric(`zkwatch_receiver_ha_claims_total{result="fail_open"}`); v != 2 {
			t.Errorf("replica %s: fail_open claims = %v, want 2 (one per notifier)", s.names[i], v)
		}
	}
	for i := 0; i < 3; i++ {
		if err := s.zk.Start(i); err != nil {
			t.Fatal(err)
		}
	}
	if err := zktest.WaitFor(120*time.Second, 100*time.Millisecond, func() error {
		if n := s.runs("runs")[id]; n != 1 {
			return fmt.Errorf("restart ran %d times", n)
		}
		for i := range s.replicas {
			incs, err := s.incidents(i, "batch", "down")
			if err != nil || len(incs) != 1 || !restartDone(incs[0]) {
				return fmt.Errorf("replica %s: restart not recorded (%v)", s.names[i], err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Still once after both replicas settled.
	s.settled("down", 1, 60*time.Second)
	if n := s.runs("runs")[id]; n != 1 {
		t.Fatalf("restart ran %d times", n)
	}
	for j, sink := range s.sinks {
		if n := sink.get(id + " restart"); n != 1 {
			t.Errorf("sink %d: %d restart reports", j, n)
		}
	}
}

func postponedForZooKeeper(inc *store.Incident) bool {
	for _, a := range inc.Restarts {
		if a.Outcome == "postponed" && strings.Contains(a.Reason, "waiting for ZooKeeper") {
			return true
		}
	}
	return false
}

// A replica killed while its command runs holds the claim until its
// ZooKeeper session expires: the other replica's next attempt starts only
// after the lease node is gone.
func TestHAOwnerKilledDuringCommand(t *testing.T) {
	s := startHA(t)
	if err := s.fire("alertname=ZooKeeperSlowRestart", "batch=slow", "member=m1"); err != nil {
		t.Fatal(err)
	}
	owner := -1
	if err := zktest.WaitFor(60*time.Second, 5*time.Millisecond, func() error {
		for i, name := range s.names {
			if b, _ := os.ReadFile(s.path("slow-" + name)); len(b) > 0 {
				owner = i
				return nil
			}
		}
		return errors.New("slow command not started")
	}); err != nil {
		t.Fatal(err)
	}
	other := 1 - owner
	s.replicas[owner].kill()
	killed := time.Now()
	incs, err := s.incidents(other, "batch", "slow")
	if err != nil || len(incs) != 1 {
		t.Fatalf("incidents: %v %v", incs, err)
	}
	lease := "/zkwatch/receiver/claims/" + incs[0].ID + "/" + url.PathEscape("restart/slow") + "-1/lease"
	conn, _, err := zk.Connect(s.zk.Addrs(), 4*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var gone time.Time
	if err := zktest.WaitFor(30*time.Second, 10*time.Millisecond, func() error {
		ok, _, err := conn.Exists(lease)
		if err != nil || ok {
			return fmt.Errorf("lease %s still there (%v)", lease, err)
		}
		gone = time.Now()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("lease of the killed owner gone %s after the kill", gone.Sub(killed).Round(time.Millisecond))
	if gone.Sub(killed) < time.Second {
		t.Fatalf("lease vanished %s after the kill: not held by the session", gone.Sub(killed))
	}
	var started time.Time
	if err := zktest.WaitFor(60*time.Second, 10*time.Millisecond, func() error {
		b, _ := os.ReadFile(s.path("slow-" + s.names[other]))
		f := strings.Fields(string(b))
		if len(f) < 2 {
			return errors.New("no second attempt yet")
		}
		ns, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return zktest.Permanent(err)
		}
		started = time.Unix(0, ns)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if started.Before(gone.Add(-50 * time.Millisecond)) { // the lease poll's granularity
		t.Fatalf("second attempt started at %s, before the owner's lease was gone at %s", started, gone)
	}
	if err := zktest.WaitFor(60*time.Second, 100*time.Millisecond, func() error {
		incs, err := s.incidents(other, "batch", "slow")
		if err != nil || len(incs) != 1 {
			return fmt.Errorf("%v %v", incs, err)
		}
		var outcomes []string
		for _, a := range incs[0].Restarts {
			outcomes = append(outcomes, fmt.Sprintf("%d:%s", a.Attempt, a.Outcome))
		}
		if got := strings.Join(outcomes, " "); !strings.Contains(got, "1:interrupted") || !strings.Contains(got, "2:success") {
			return fmt.Errorf("restarts: %s", got)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// Bad --ha.* settings stop the receiver at startup with the reason.
func TestHAFlagErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(t, cfg, "notifiers: []\n")
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--ha.zookeeper.acl=creator"}, "needs an authenticated identity"},
		{[]string{"--ha.zookeeper.acl=open", "--ha.path=zkwatch"}, "not absolute"},
		{nil, "no ZooKeeper identity"},
		{[]string{"--ha.zookeeper.auth.digest-file=" + filepath.Join(dir, "missing")}, "--ha.zookeeper.auth.digest-file"},
		{[]string{"--zookeeper.tls.ca-file=" + filepath.Join(dir, "missing.pem")}, "zookeeper TLS CA file"},
	} {
		args := append([]string{"--config.file=" + cfg, "--storage.path=" + filepath.Join(dir, "data"),
			"--web.listen-address=" + freeAddr(t), "--ha.zookeeper.servers=127.0.0.1:1"}, c.flags...)
		out, err := exec.Command(binary(t), args...).CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), c.want) {
			t.Errorf("%v: %v, want exit 1 naming %q:\n%s", c.flags, err, c.want, out)
		}
	}
}

// The replicas' session speaks TLS to the members' secure client port
// with the --zookeeper.tls.* flags (client certificate required).
func TestHAOverTLS(t *testing.T) {
	e := zktest.Start(t, 1, func(o *zktest.Options) { o.TLS = &zktest.TLSOptions{ClientAuth: "need"} })
	dir := t.TempDir()
	sink := newSinkServer(t)
	runs := filepath.Join(dir, "runs")
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
`, sink.srv.URL, runs))
	c := e.Certs.Client()
	p := launchAt(t, freeAddr(t), cfg, filepath.Join(dir, "data"), "--ha.zookeeper.servers="+strings.Join(e.SecureAddrs(), ","),
		"--ha.replica-name=tls", "--zookeeper.tls.ca-file="+c.CAFile, "--zookeeper.tls.cert-file="+c.CertFile,
		"--zookeeper.tls.key-file="+c.KeyFile, "--ha.zookeeper.acl=world-read")
	if err := zktest.WaitFor(30*time.Second, 50*time.Millisecond, func() error {
		if v := p.metric("zkwatch_receiver_ha_connected"); v != 1 {
			return fmt.Errorf("ha_connected = %v", v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"alertname": "ZooKeeperProcessMemberDown", "member": "m1"}
	startsAt := time.Now()
	if code, err := post(p.url, alertBody(labels, startsAt)); err != nil || code != http.StatusOK {
		t.Fatal(code, err)
	}
	id := (&payload.Alert{Labels: labels, StartsAt: startsAt, Fingerprint: payload.Fingerprint(labels)}).IncidentID()
	if err := zktest.WaitFor(30*time.Second, 50*time.Millisecond, func() error {
		if b, _ := os.ReadFile(runs); strings.TrimSpace(string(b)) != id {
			return fmt.Errorf("runs %q", b)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	conn, _, err := zk.Connect(e.Addrs(), 4*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	data, _, err := conn.Get("/zkwatch/receiver/claims/" + id + "/" + url.PathEscape("restart/member") + "-1")
	if err != nil || !strings.Contains(string(data), `"owner":"tls"`) {
		t.Fatalf("claim %s: %v", data, err)
	}
}
