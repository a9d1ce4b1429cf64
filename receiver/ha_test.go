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

package receiver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/zkwatch/zkwatch/receiver"
	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/ha"
	"github.com/zkwatch/zkwatch/receiver/payload"
	"github.com/zkwatch/zkwatch/receiver/store"
)

// scripted is a Coordinator whose answers the test sets, to check what
// the scheduler and the outbox do with each kind of claim result (the
// ZooKeeper side is tested against real ensembles in receiver/ha and
// cmd/zkwatch_receiver).
type scripted struct {
	mu      sync.Mutex
	answer  func(k ha.Key) (ha.Result, error)
	claims  []ha.Key
	records map[ha.Key]string
	details map[ha.Key][]byte
	down    time.Time
}

func (s *scripted) Replica() string { return "me" }
func (s *scripted) Claim(_ context.Context, k ha.Key) (ha.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.claims = append(s.claims, k)
	return s.answer(k)
}
func (s *scripted) Record(k ha.Key, outcome string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[k] = outcome
}
func (s *scripted) RecordDetail(k ha.Key, outcome string, detail []byte) {
	s.Record(k, outcome)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.details[k] = detail
}
func (s *scripted) FailOpen()                      {}
func (s *scripted) DownSince() time.Time           { return s.down }
func (s *scripted) Cleanup(time.Time) (int, error) { return 0, nil }

func (s *scripted) set(f func(k ha.Key) (ha.Result, error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answer = f
}

func (s *scripted) recorded(k ha.Key) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records[k]
}

func unavailable(ha.Key) (ha.Result, error) { return ha.Result{}, ha.ErrUnavailable }
func won(ha.Key) (ha.Result, error)         { return ha.Result{Won: true, Owner: "me"}, nil }

func haEnv(t *testing.T, failOpen time.Duration, answer func(ha.Key) (ha.Result, error)) (*env, *sink, *scripted, string) {
	s := newSink(t)
	runs := filepath.Join(t.TempDir(), "runs")
	c := &scripted{answer: answer, records: map[ha.Key]string{}, details: map[ha.Key][]byte{}, down: time.Now()}
	e := start(t, restartConfig(s.srv.URL, fmt.Sprintf(`
  - name: member
    match: {alertname: ZooKeeperProcessMemberDown}
    command: ["/bin/sh", "-c", "echo run >> %s"]
    max_attempts: 2
    backoff: 100ms
    cooldown: 0s
`, runs)), func(r *receiver.Receiver) { r.SetCoordinator(c, failOpen) })
	return e, s, c, runs
}

// Without ZooKeeper a restart waits, postponed with the reason on the
// incident, and runs once claims work again; its outcome is recorded on
// the claim and the replica on the incident.
func TestRestartFailsClosed(t *testing.T) {
	e, _, c, runs := haEnv(t, time.Hour, unavailable)
	startsAt := time.Now()
	if code, msg := e.post(alertJSON("firing", memberLabels("zk-1"), startsAt)); code != 200 {
		t.Fatal(code, msg)
	}
	id := incidentID(memberLabels("zk-1"), startsAt)
	e.waitFor("postponed", func() error {
		for _, a := range e.incident(id).Restarts {
			if a.Outcome == "postponed" && strings.Contains(a.Reason, "waiting for ZooKeeper") {
				return nil
			}
		}
		return fmt.Errorf("restarts %+v", e.incident(id).Restarts)
	})
	if n := countLines(t, runs); n != 0 {
		t.Fatalf("%d runs without a claim", n)
	}
	c.set(won)
	e.waitFor("run", func() error { return expect(1, countLines(t, runs), "runs") })
	key := ha.Key{Incident: id, Action: "restart/member", Attempt: 1, UntilSuccess: true}
	e.waitFor("recorded", func() error {
		if o := c.recorded(key); o != "success" {
			return fmt.Errorf("claim outcome %q", o)
		}
		return nil
	})
	// The claim's outcome is written first, the incident's record next.
	e.waitFor("attempt recorded", func() error {
		inc := e.incident(id)
		if last := inc.Restarts[len(inc.Restarts)-1]; last.Outcome != "success" || last.Replica != "me" {
			return fmt.Errorf("last attempt %+v", last)
		}
		return nil
	})
}

// A restart another replica ran is recorded as theirs, not run, not
// reported; a notification another replica sent is recorded, not sent.
func TestActionsOfAnotherReplica(t *testing.T) {
	e, s, _, runs := haEnv(t, time.Hour, func(k ha.Key) (ha.Result, error) {
		return ha.Result{Owner: "other", Outcome: "success"}, nil
	})
	startsAt := time.Now()
	if code, msg := e.post(alertJSON("firing", memberLabels("zk-1"), startsAt)); code != 200 {
		t.Fatal(code, msg)
	}
	id := incidentID(memberLabels("zk-1"), startsAt)
	e.waitFor("settled", func() error {
		inc := e.incident(id)
		if len(inc.Restarts) != 1 || inc.Restarts[0].Outcome != "success" || inc.Restarts[0].Replica != "other" ||
			len(inc.Notifications) != 1 || inc.Notifications[0].Replica != "other" {
			return fmt.Errorf("restarts %+v, notifications %+v", inc.Restarts, inc.Notifications)
		}
		return nil
	})
	e.waitFor("outbox empty", func() error {
		var n int
		_ = e.st.View(func(tx *store.Tx) error { n = tx.OutboxLen(); return nil })
		return expect(0, n, "pending")
	})
	if n := countLines(t, runs); n != 0 || len(s.messages()) != 0 {
		t.Errorf("%d runs, %d messages sent for another replica's actions", n, len(s.messages()))
	}
}

// A claim taken over from a replica whose session ended mid-attempt
// counts that attempt as interrupted (reported), and the next attempt runs.
func TestTakenOverAttemptIsInterrupted(t *testing.T) {
	e, s, c, runs := haEnv(t, time.Hour, func(k ha.Key) (ha.Result, error) {
		if strings.HasPrefix(k.Action, "restart/") && k.Attempt == 1 {
			return ha.Result{Won: true, Owner: "me", TakenOver: "dead"}, nil
		}
		return won(k)
	})
	startsAt := time.Now()
	if code, msg := e.post(alertJSON("firing", memberLabels("zk-1"), startsAt)); code != 200 {
		t.Fatal(code, msg)
	}
	id := incidentID(memberLabels("zk-1"), startsAt)
	e.waitFor("second attempt", func() error { return expect(1, countLines(t, runs), "runs") })
	e.waitFor("reports", func() error { return expect(2, s.kinds()["restart"], "restart reports") })
	if o := c.recorded(ha.Key{Incident: id, Action: "restart/member", Attempt: 1, UntilSuccess: true}); o != receiver.RestartInterrupted {
		t.Errorf("attempt 1 claim outcome %q", o)
	}
	inc := e.incident(id)
	var got []string
	for _, a := range inc.Restarts {
		got = append(got, fmt.Sprintf("%d:%s", a.Attempt, a.Outcome))
	}
	if strings.Join(got, " ") != "1:interrupted 2:success" {
		t.Errorf("attempts %v", got)
	}
}

// Without ZooKeeper a notification waits for the fail-open delay, then
// goes out marked as a possible duplicate.
func TestNotificationFailsOpen(t *testing.T) {
	e, s, _, _ := haEnv(t, 300*time.Millisecond, unavailable)
	begin := time.Now()
	startsAt := time.Now()
	if code, msg := e.post(alertJSON("firing", map[string]string{"alertname": "Other"}, startsAt)); code != 200 {
		t.Fatal(code, msg)
	}
	e.waitFor("sent", func() error { return expect(1, len(s.messages()), "messages") })
	if d := time.Since(begin); d < 300*time.Millisecond {
		t.Errorf("sent after %s, before the fail-open wait", d)
	}
	if m := s.messages()[0]; !strings.Contains(m.Text, "Possible duplicate") {
		t.Errorf("message not marked: %q", m.Text)
	}
	e.waitFor("recorded", func() error {
		inc := e.incident(incidentID(map[string]string{"alertname": "Other"}, startsAt))
		if len(inc.Notifications) != 1 || !inc.Notifications[0].Duplicate {
			return fmt.Errorf("notifications %+v", inc.Notifications)
		}
		return nil
	})
}

// A claim that times out while the session is live (a slow ensemble) is
// tried again, however old the message: only an outage sends unclaimed.
func TestSlowClaimDoesNotFailOpen(t *testing.T) {
	var mu sync.Mutex
	failing := true
	e, s, c, _ := haEnv(t, 50*time.Millisecond, func(ha.Key) (ha.Result, error) {
		mu.Lock()
		defer mu.Unlock()
		if failing {
			return ha.Result{}, fmt.Errorf("%w: context deadline exceeded", ha.ErrUnavailable)
		}
		return ha.Result{Won: true, Owner: "me"}, nil
	})
	c.mu.Lock()
	c.down = time.Time{} // connected
	c.mu.Unlock()
	startsAt := time.Now()
	if code, msg := e.post(alertJSON("firing", map[string]string{"alertname": "Other"}, startsAt)); code != 200 {
		t.Fatal(code, msg)
	}
	// Failing claims for many fail-open waits send nothing.
	e.waitFor("claims tried", func() error {
		c.mu.Lock()
		defer c.mu.Unlock()
		return expect(3, min(3, len(c.claims)), "claims")
	})
	if n := len(s.messages()); n != 0 {
		t.Fatalf("%d messages sent without a claim while the session is live", n)
	}
	mu.Lock()
	failing = false
	mu.Unlock()
	e.waitFor("sent", func() error { return expect(1, len(s.messages()), "messages") })
	if m := s.messages()[0]; strings.Contains(m.Text, "Possible duplicate") {
		t.Errorf("claimed message marked as a possible duplicate: %q", m.Text)
	}
}

// A replica that died while its command ran asks the attempt's claim after
// its restart instead of guessing: here its earlier life had recorded the
// success, so it does not run again and reports what it had not reported.
func TestRecoverAsksTheClaim(t *testing.T) {
	s := newSink(t)
	runs := filepath.Join(t.TempDir(), "runs")
	cfg, err := config.Load([]byte(restartConfig(s.srv.URL, fmt.Sprintf(`
  - name: member
    match: {alertname: ZooKeeperProcessMemberDown}
    command: ["/bin/sh", "-c", "echo run >> %s"]
    max_attempts: 2
    backoff: 100ms
    cooldown: 0s
`, runs))))
	must(t, err)
	st, err := store.Open(t.TempDir())
	must(t, err)
	defer st.Close()
	rcv, err := receiver.New(st, cfg, nil, log.NewNopLogger())
	must(t, err)
	startsAt := time.Now()
	m, err := payload.Decode(strings.NewReader(alertJSON("firing", memberLabels("zk-1"), startsAt)))
	must(t, err)
	_, err = rcv.Ingest(m)
	must(t, err)
	id := incidentID(memberLabels("zk-1"), startsAt)
	// As the store is after a kill during attempt 1.
	must(t, st.Update(func(tx *store.Tx) error {
		j, err := tx.Job(id + "/member")
		if err != nil || j == nil {
			return fmt.Errorf("job %v: %v", j, err)
		}
		j.Attempts, j.Running = 1, true
		return tx.PutJob(j)
	}))
	c := &scripted{records: map[ha.Key]string{}, details: map[ha.Key][]byte{}, answer: func(k ha.Key) (ha.Result, error) {
		if strings.HasPrefix(k.Action, "restart/") {
			return ha.Result{Owner: "me", Outcome: "success"}, nil
		}
		return won(k)
	}}
	rcv.SetCoordinator(c, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rcv.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	e := &env{t: t, rcv: rcv, st: st}
	e.waitFor("report", func() error { return expect(1, s.kinds()["restart"], "restart reports") })
	if n := countLines(t, runs); n != 0 {
		t.Errorf("ran %d times after its success was recorded", n)
	}
	c.mu.Lock()
	var asked []int
	for _, k := range c.claims {
		if strings.HasPrefix(k.Action, "restart/") {
			asked = append(asked, k.Attempt)
		}
	}
	c.mu.Unlock()
	if len(asked) == 0 || asked[0] != 1 {
		t.Errorf("claims asked for attempts %v, want attempt 1 first", asked)
	}
	inc := e.incident(id)
	if len(inc.Restarts) != 1 || inc.Restarts[0].Outcome != "success" || inc.Restarts[0].Attempt != 1 {
		t.Errorf("restarts %+v", inc.Restarts)
	}
}

// The replica that did not run a restart shows the runner's own record
// from the claim (command, exit code, duration, output, time), and while
// the runner is still at it, adds no row of its own ("attempt 0
// postponed"). The runner writes that record on the claim.
func TestAnotherReplicasAttemptShowsItsRecord(t *testing.T) {
	ran := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	theirs := store.RestartAttempt{Rule: "member", Attempt: 1, Outcome: "success", Argv: []string{"/bin/sh", "-c", "restart zk-1"},
		ExitCode: 0, Duration: 53881758 * time.Nanosecond, Output: "restarted\n", At: ran, Replica: "other"}
	detail, _ := json.Marshal(theirs)
	var mu sync.Mutex
	pending := true
	e, _, c, runs := haEnv(t, time.Hour, func(k ha.Key) (ha.Result, error) {
		mu.Lock()
		defer mu.Unlock()
		if !strings.HasPrefix(k.Action, "restart/") {
			return won(k)
		}
		if pending {
			return ha.Result{Owner: "other"}, nil
		}
		return ha.Result{Owner: "other", Outcome: "success", Detail: detail}, nil
	})
	startsAt := time.Now()
	if code, msg := e.post(alertJSON("firing", memberLabels("zk-1"), startsAt)); code != 200 {
		t.Fatal(code, msg)
	}
	id := incidentID(memberLabels("zk-1"), startsAt)
	e.waitFor("asked twice while pending", func() error {
		c.mu.Lock()
		defer c.mu.Unlock()
		n := 0
		for _, k := range c.claims {
			if strings.HasPrefix(k.Action, "restart/") {
				n++
			}
		}
		return expect(2, min(n, 2), "restart claims")
	})
	if rs := e.incident(id).Restarts; len(rs) != 0 {
		t.Errorf("rows while another replica runs the attempt: %+v", rs)
	}
	mu.Lock()
	pending = false
	mu.Unlock()
	e.waitFor("settled", func() error { return expect(1, len(e.incident(id).Restarts), "restart rows") })
	got := e.incident(id).Restarts[0]
	if got.Outcome != "success" || got.Replica != "other" || strings.Join(got.Argv, " ") != "/bin/sh -c restart zk-1" ||
		got.Duration != theirs.Duration || got.Output != theirs.Output || !got.At.Equal(ran) || got.Attempt != 1 {
		t.Errorf("row %+v, want the runner's %+v", got, theirs)
	}
	if n := countLines(t, runs); n != 0 {
		t.Errorf("ran %d times", n)
	}
}

// The runner puts its record of the attempt on the claim.
func TestRunnerRecordsItsAttemptOnTheClaim(t *testing.T) {
	e, _, c, runs := haEnv(t, time.Hour, won)
	startsAt := time.Now()
	if code, msg := e.post(alertJSON("firing", memberLabels("zk-1"), startsAt)); code != 200 {
		t.Fatal(code, msg)
	}
	id := incidentID(memberLabels("zk-1"), startsAt)
	key := ha.Key{Incident: id, Action: "restart/member", Attempt: 1, UntilSuccess: true}
	e.waitFor("recorded", func() error {
		if o := c.recorded(key); o != "success" {
			return fmt.Errorf("claim outcome %q", o)
		}
		return nil
	})
	c.mu.Lock()
	detail := c.details[key]
	c.mu.Unlock()
	var a store.RestartAttempt
	if err := json.Unmarshal(detail, &a); err != nil {
		t.Fatalf("detail %q: %v", detail, err)
	}
	if len(a.Argv) != 3 || a.Argv[0] != "/bin/sh" || a.Replica != "me" || a.Duration <= 0 || a.At.IsZero() || a.Outcome != "success" {
		t.Errorf("detail %+v", a)
	}
	if n := countLines(t, runs); n != 1 {
		t.Errorf("ran %d times", n)
	}
}

// A message another replica sent is recorded as it went there (attempts,
// time), from the sender's record on the claim; the sender writes it.
func TestAnotherReplicasMessageShowsItsRecord(t *testing.T) {
	sentAt := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	detail, _ := json.Marshal(map[string]any{"attempts": 3, "at": sentAt})
	e, s, _, _ := haEnv(t, time.Hour, func(k ha.Key) (ha.Result, error) {
		return ha.Result{Owner: "other", Outcome: "success", Detail: detail}, nil
	})
	startsAt := time.Now()
	labels := map[string]string{"alertname": "Other"}
	if code, msg := e.post(alertJSON("firing", labels, startsAt)); code != 200 {
		t.Fatal(code, msg)
	}
	id := incidentID(labels, startsAt)
	e.waitFor("recorded", func() error { return expect(1, len(e.incident(id).Notifications), "notifications") })
	if n := e.incident(id).Notifications[0]; n.Replica != "other" || n.Attempts != 3 || !n.At.Equal(sentAt) || n.Outcome != "success" {
		t.Errorf("record %+v", n)
	}
	if len(s.messages()) != 0 {
		t.Errorf("%d messages sent for another replica's delivery", len(s.messages()))
	}

	e2, _, c, _ := haEnv(t, time.Hour, won)
	if code, msg := e2.post(alertJSON("firing", labels, startsAt)); code != 200 {
		t.Fatal(code, msg)
	}
	key := ha.Key{Incident: id, Action: "notify/sink/firing", Attempt: 1}
	e2.waitFor("claim recorded", func() error {
		if o := c.recorded(key); o != "success" {
			return fmt.Errorf("claim outcome %q", o)
		}
		return nil
	})
	c.mu.Lock()
	var d struct {
		Attempts int
		At       time.Time
	}
	err := json.Unmarshal(c.details[key], &d)
	c.mu.Unlock()
	if err != nil || d.Attempts != 1 || d.At.IsZero() {
		t.Errorf("sender's record %+v, %v", d, err)
	}
}
