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

package demo

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktest"
	"github.com/zkwatch/zkwatch/roll"
)

// TestParseRollSteps reads back what zkwatch_roll's JSON recorder writes,
// the duration included; a broken line is an error.
func TestParseRollSteps(t *testing.T) {
	want := []roll.Step{
		{Step: 1, Member: "127.0.0.1:2181", ID: 1, Role: "follower", Action: "restart", Command: []string{"x", "1"},
			Started: time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC), Duration: 1234 * time.Millisecond, Outcome: "ok"},
		{Step: 2, Member: "127.0.0.1:2182", ID: 2, Role: "leader", Action: "restart", Command: []string{"x", "2"},
			Started: time.Date(2026, 12, 7, 15, 0, 2, 0, time.UTC), Duration: 10 * time.Second, Outcome: "not_back", ZxidLag: -1, Reason: "did not serve"},
	}
	var out bytes.Buffer
	record := roll.JSONRecorder(&out)
	for _, s := range want {
		record(s)
	}
	got, err := parseRollSteps(out.Bytes())
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("parsed %+v, %v; want %+v", got, err, want)
	}
	if _, err := parseRollSteps([]byte(`{"step": 1}` + "\n{broken")); err == nil {
		t.Error("a broken line parsed")
	}
}

// TestSplitBrainVerdict: only one believer whose session ZooKeeper names,
// with no unbacked belief, agrees.
func TestSplitBrainVerdict(t *testing.T) {
	for _, c := range []struct {
		b    SplitBrain
		want string
	}{
		{SplitBrain{Kind: "lock", Path: "/l", Holder: "0x1", Believers: map[string]int{"0x1": 1}},
			"lock /l: 1 believer (session 0x1), ZooKeeper holder session 0x1, agree"},
		{SplitBrain{Kind: "lock", Path: "/l", Holder: "0x1", Believers: map[string]int{"0x1": 1, "0x2": 1}, Unbacked: 1},
			"lock /l: 2 believers (session 0x1, 0x2), ZooKeeper holder session 0x1, SPLIT BRAIN: 1 unbacked belief(s)"},
		{SplitBrain{Kind: "lock", Path: "/l", Believers: map[string]int{"0x2": 1}, Unbacked: 1},
			"lock /l: 1 believer (session 0x2), ZooKeeper holder none, SPLIT BRAIN: 1 unbacked belief(s)"},
		{SplitBrain{Kind: "election", Path: "/e", Holder: "0x3", Believers: map[string]int{}},
			"election /e: 0 believers, ZooKeeper leader session 0x3, no process exports a belief"},
	} {
		if got := c.b.String(); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
		if agree := strings.HasSuffix(c.want, ", agree"); c.b.Agree() != agree {
			t.Errorf("%s: Agree() = %v", c.want, !agree)
		}
	}
}

// TestMaintenanceLine finds the receiver's "In maintenance until" line.
func TestMaintenanceLine(t *testing.T) {
	text := "[FIRING] A (in maintenance)\nIn maintenance until 2026-12-07 15:30:00 +00:00 UTC: window w by a: c.\nStarted: x\n"
	if got := maintenanceLine(text); got != "In maintenance until 2026-12-07 15:30:00 +00:00 UTC: window w by a: c." {
		t.Errorf("got %q", got)
	}
	if got := maintenanceLine("[FIRING] A\nStarted: x\n"); got != "" {
		t.Errorf("got %q from a text without the line", got)
	}
}

// TestQuorumWatch against a real ensemble: one member of three down keeps
// a quorum alive; two down is recorded as lost.
func TestQuorumWatch(t *testing.T) {
	e := zktest.Start(t, 3)
	if err := e.WaitHealthy(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	w := zktest.WatchQuorum(e.Addrs(), 100*time.Millisecond)
	defer w.Stop()
	waitRounds := func(n int) {
		t.Helper()
		if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error {
			if r := w.Snapshot().Rounds; r < n {
				return fmt.Errorf("%d polls", r)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	waitRounds(2)
	e.Kill(0)
	waitRounds(w.Snapshot().Rounds + 3)
	if q := w.Snapshot(); len(q.Lost) != 0 || q.MinAlive != 2 {
		t.Errorf("one member down: %+v, want fewest alive 2, quorum kept", q)
	}
	e.Kill(1)
	waitRounds(w.Snapshot().Rounds + 3)
	q := w.Stop()
	if len(q.Lost) == 0 || q.MinAlive != 1 || q.NoLeaderRounds == 0 || !strings.Contains(quorumVerdict(q), "QUORUM LOST") {
		t.Errorf("two members down: %+v, want the quorum lost and no leader", q)
	}
}
