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

package receiver

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/ha"
	"github.com/zkwatch/zkwatch/receiver/payload"
	"github.com/zkwatch/zkwatch/receiver/store"
)

const catchUpConfig = `
notifiers:
  - {name: one, webhook: {url: "http://127.0.0.1:1/a"}}
  - {name: two, webhook: {url: "http://127.0.0.1:1/b"}}
routes: [{notifiers: [one, two]}]
restarts:
  - name: member
    match: {alertname: ZooKeeperProcessMemberDown}
    command: ["/bin/true"]
    max_attempts: 2
`

// A replica catching up with a missed incident records what the claims
// say was done (the runner's own record of each attempt), queues only the
// messages nobody has sent, never a restart, and follows the restarts
// while they go on elsewhere.
func TestPlanCatchUp(t *testing.T) {
	cfg, err := config.Load([]byte(catchUpConfig))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	at := now.Add(-time.Minute)
	a := payload.Alert{Status: "firing", Labels: payload.KV{"alertname": "ZooKeeperProcessMemberDown", "member": "m1"}, StartsAt: at}
	pub := publishedIncident{Status: "firing", Alert: a, Receiver: "zkwatch", FirstSeen: at, Published: at}
	ran, _ := json.Marshal(store.RestartAttempt{Argv: []string{"/bin/true"}, Duration: 53881758, Output: "ok", At: at.Add(time.Second), Outcome: "failure", Reason: "exit status 1", ExitCode: 1})
	failed := ha.ClaimRecord{Action: "restart/member", Attempt: 1, Owner: "a", Outcome: "failure", Recorded: at.Add(2 * time.Second), Detail: ran}
	sentOne := ha.ClaimRecord{Action: "notify/one/firing", Attempt: 1, Owner: "a", Outcome: "success", Recorded: at.Add(time.Second)}
	report := ha.ClaimRecord{Action: "notify/one/restart/0123456789ab", Attempt: 1, Owner: "a", Outcome: "success", Recorded: at.Add(3 * time.Second)}
	pendingTwo := ha.ClaimRecord{Action: "notify/two/firing", Attempt: 1, Owner: "a"}
	for _, tc := range []struct {
		name          string
		pub           publishedIncident
		claims        []ha.ClaimRecord
		restarts      string // rule:attempt:outcome:replica:argv
		notifications string // notifier:kind:replica
		follow        bool
		messages      string
	}{
		{"nobody acted yet", pub, nil, "", "", true, "one:firing two:firing"},
		{"one attempt failed, a message sent, one pending", pub, []ha.ClaimRecord{failed, pendingTwo, report, sentOne},
			"member:1:failure:a:/bin/true", "one:firing:a one:restart:a", true, "two:firing"},
		{"restart succeeded", pub, []ha.ClaimRecord{{Action: "restart/member", Attempt: 1, Owner: "b", Outcome: "success", Recorded: at}},
			"member:1:success:b:", "", false, "one:firing two:firing"},
		{"attempts used up", pub, []ha.ClaimRecord{failed, {Action: "restart/member", Attempt: 2, Owner: "b", Outcome: "failure", Recorded: at.Add(time.Hour)}},
			"member:1:failure:a:/bin/true member:2:failure:b:", "", false, "one:firing two:firing"},
		{"resolved meanwhile: the resolved message", publishedIncident{Status: "resolved", Alert: a, FirstSeen: at, ResolvedAt: now, Published: now},
			[]ha.ClaimRecord{sentOne}, "", "one:firing:a", false, "one:resolved two:resolved"},
	} {
		inc, items := planCatchUp(cfg, "0000000000aabbccddee", tc.pub, tc.claims, now)
		var rs, ns, ms []string
		for _, r := range inc.Restarts {
			rs = append(rs, fmt.Sprintf("%s:%d:%s:%s:%s", r.Rule, r.Attempt, r.Outcome, r.Replica, strings.Join(r.Argv, " ")))
		}
		for _, n := range inc.Notifications {
			ns = append(ns, n.Notifier+":"+n.Kind+":"+n.Replica)
		}
		for _, it := range items {
			ms = append(ms, it.Notifier+":"+it.Kind)
		}
		for _, c := range [][2]string{{strings.Join(rs, " "), tc.restarts}, {strings.Join(ns, " "), tc.notifications},
			{strings.Join(ms, " "), tc.messages}} {
			if c[0] != c[1] {
				t.Errorf("%s: got %q, want %q", tc.name, c[0], c[1])
			}
		}
		if inc.Status != tc.pub.Status || inc.Received != 0 || strings.Join(inc.Notifiers, ",") != "one,two" || len(inc.RestartRules) != 0 {
			t.Errorf("%s: incident %+v", tc.name, inc)
		}
		if follow := !restartsSettled(cfg, inc); follow != tc.follow {
			t.Errorf("%s: follow %v, want %v", tc.name, follow, tc.follow)
		}
	}
	// The runner's own record, duration and output included.
	inc, _ := planCatchUp(cfg, "0000000000aabbccddee", pub, []ha.ClaimRecord{failed}, now)
	if r := inc.Restarts[0]; r.Duration != 53881758 || r.Output != "ok" || r.ExitCode != 1 || !r.At.Equal(at.Add(time.Second)) {
		t.Errorf("attempt %+v", r)
	}
}

func TestNotifyAction(t *testing.T) {
	for action, want := range map[string]string{
		"notify/one/firing":               "one firing",
		"notify/a/b/resolved":             "a/b resolved",
		"notify/one/restart/0123456789ab": "one restart",
		"notify/restart/firing":           "restart firing",
		"restart/member":                  "!",
		"notify/x":                        "!",
	} {
		n, k, ok := notifyAction(action)
		got := n + " " + k
		if !ok {
			got = "!"
		}
		if got != want {
			t.Errorf("%s: %q, want %q", action, got, want)
		}
	}
}

// Following another replica's restarts adds each attempt once, as its
// claim gets an outcome.
func TestAddClaimedAttempts(t *testing.T) {
	inc := &store.Incident{Status: "firing"}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	claims := []ha.ClaimRecord{{Action: "restart/member", Attempt: 1, Owner: "a", Outcome: "failure", Recorded: at},
		{Action: "restart/member", Attempt: 2, Owner: "a"}, {Action: "notify/one/firing", Attempt: 1, Owner: "a", Outcome: "success"}}
	if n := addClaimedAttempts(inc, claims); n != 1 {
		t.Fatalf("added %d", n)
	}
	if n := addClaimedAttempts(inc, claims); n != 0 {
		t.Errorf("added %d again", n)
	}
	claims[1].Outcome, claims[1].Recorded = "success", at.Add(time.Minute)
	if n := addClaimedAttempts(inc, claims); n != 1 || len(inc.Restarts) != 2 || inc.Restarts[1].Outcome != "success" || inc.Restarts[1].Attempt != 2 {
		t.Errorf("added %d: %+v", n, inc.Restarts)
	}
}
