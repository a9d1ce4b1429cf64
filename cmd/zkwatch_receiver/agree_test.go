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
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktest"
	"github.com/zkwatch/zkwatch/receiver/store"
)

// restartRows renders an incident's restart records for comparison.
func restartRows(inc *store.Incident) string {
	var b strings.Builder
	for _, a := range inc.Restarts {
		fmt.Fprintf(&b, "%d %s replica=%s argv=%q exit=%d duration=%s at=%s reason=%q\n", a.Attempt, a.Outcome, a.Replica,
			a.Argv, a.ExitCode, a.Duration, a.At.UTC().Format(time.RFC3339Nano), a.Reason)
	}
	return b.String()
}

// sameRecords checks that both replicas record the same restarts (the
// runner's own record: command, exit code, duration, time) and who sent
// each firing message in how many attempts.
func sameRecords(t *testing.T, a, b []*store.Incident) {
	t.Helper()
	byID := map[string]*store.Incident{}
	for _, inc := range a {
		byID[inc.ID] = inc
	}
	for _, inc := range b {
		other := byID[inc.ID]
		if other == nil {
			t.Errorf("incident %s on one replica only", inc.ID)
			continue
		}
		ra, rb := restartRows(other), restartRows(inc)
		if ra != rb || !strings.Contains(ra, `argv=["/bin/sh" "-c"`) || strings.Contains(ra, "duration=0s") {
			t.Errorf("incident %s: restarts differ or lack the runner's record:\n%s---\n%s", inc.ID, ra, rb)
		}
		senders := func(inc *store.Incident) string {
			var out []string
			for _, n := range inc.Notifications {
				if n.Kind == store.KindFiring {
					out = append(out, fmt.Sprintf("%s=%s/%d", n.Notifier, n.Replica, n.Attempts))
				}
			}
			return strings.Join(out, " ")
		}
		if sa, sb := senders(other), senders(inc); len(sa) != len(sb) || !sameSet(sa, sb) {
			t.Errorf("incident %s: firing messages sent by %q on one replica, %q on the other", inc.ID, sa, sb)
		}
	}
}

func sameSet(a, b string) bool {
	fa, fb := strings.Fields(a), strings.Fields(b)
	if len(fa) != len(fb) {
		return false
	}
	seen := map[string]int{}
	for _, f := range fa {
		seen[f]++
	}
	for _, f := range fb {
		if seen[f]--; seen[f] < 0 {
			return false
		}
	}
	return true
}

// Issue 12 with two real replicas and a real ensemble: both replicas show
// the runner's record of a restart (not "success, command blank, exit 0,
// 0s") and no "attempt 0 postponed" row; each page names its replica;
// and a replica that was down while incidents came and went catches up
// from ZooKeeper with the same records, without acting again, following
// a restart the other replica is still running until it is recorded.
func TestHAReplicasAgreeAndCatchUp(t *testing.T) {
	s := startHA(t)
	if err := s.fire("alertname=ZooKeeperProcessMemberDown", "batch=agree", "member=m1"); err != nil {
		t.Fatal(err)
	}
	incs := s.settled("agree", 1, 60*time.Second)
	sameRecords(t, incs[0], incs[1])
	for i := range s.replicas {
		for _, a := range incs[i][0].Restarts {
			if a.Outcome == "postponed" {
				t.Errorf("replica %s: postponed row %+v", s.names[i], a)
			}
		}
		resp, err := s.replicas[i].get("/")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(page), `<span id="replica">replica `+s.names[i]+`</span>`) {
			t.Errorf("replica %s's page does not name it", s.names[i])
		}
	}

	// Replica b is down while three incidents reach replica a only.
	s.replicas[1].kill()
	const n = 3
	for i := 0; i < n; i++ {
		labels := map[string]string{"alertname": "ZooKeeperProcessMemberDown", "batch": "outage", "member": fmt.Sprintf("m%d", i)}
		if code, body := request(t, "POST", s.replicas[0].url+"/webhook", "application/json", "s3cret", alertBody(labels, time.Now())); code != 200 {
			t.Fatal(code, body)
		}
	}
	var onA []*store.Incident
	if err := zktest.WaitFor(60*time.Second, 100*time.Millisecond, func() (err error) {
		onA, err = s.settledOn(0, "outage", n)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// A slow restart (3 s) that replica a is still running when b is back.
	slow := map[string]string{"alertname": "ZooKeeperSlowRestart", "batch": "slow", "member": "m1"}
	if code, body := request(t, "POST", s.replicas[0].url+"/webhook", "application/json", "s3cret", alertBody(slow, time.Now())); code != 200 {
		t.Fatal(code, body)
	}
	if err := zktest.WaitFor(60*time.Second, 10*time.Millisecond, func() error {
		if len(s.runs("slow")) == 0 {
			return fmt.Errorf("slow restart not started")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.launch(1)
	begin := time.Now()
	var onB []*store.Incident
	if err := zktest.WaitFor(60*time.Second, 100*time.Millisecond, func() (err error) {
		onB, err = s.settledOn(1, "outage", n)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("replica b caught up with %d incidents %s after its start", n, time.Since(begin).Round(time.Millisecond))
	onA, _ = s.settledOn(0, "outage", n)
	sameRecords(t, onA, onB)
	var slowOn [2][]*store.Incident
	if err := zktest.WaitFor(60*time.Second, 100*time.Millisecond, func() (err error) {
		for i := range slowOn {
			if slowOn[i], err = s.settledOn(i, "slow", 1); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sameRecords(t, slowOn[0], slowOn[1])
	if runs := s.runs("slow"); len(runs) != 1 || runs[slowOn[0][0].ID] != 1 {
		t.Errorf("slow restart runs %v, want one, by replica a", runs)
	}
	runs := s.runs("runs")
	for _, inc := range onB {
		if runs[inc.ID] != 1 {
			t.Errorf("incident %s: restart ran %d times", inc.ID, runs[inc.ID])
		}
		for j, sink := range s.sinks {
			if got := sink.get(inc.ID + " firing"); got != 1 {
				t.Errorf("incident %s: sink %d got %d firing messages", inc.ID, j, got)
			}
		}
		for _, m := range inc.Notifications {
			if m.Replica != "a" {
				t.Errorf("incident %s: replica b records a message sent by %q", inc.ID, m.Replica)
			}
		}
	}
}
