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
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/payload"
	"github.com/zkwatch/zkwatch/receiver/restart"
	"github.com/zkwatch/zkwatch/receiver/store"
)

func planRules(t *testing.T) *config.Config {
	t.Helper()
	c, err := config.Load([]byte(`
restarts:
- name: templated
  match: {alertname: A}
  command: [/usr/bin/restart, "{{ .Labels.member }}"]
  max_attempts: 2
  backoff: 7s
- name: plain
  match: {alertname: A}
  command: [/usr/bin/restart-all]
- name: dry
  match: {alertname: A}
  command: [/usr/bin/restart, "{{ .Labels.member }}"]
  dry_run: true
`))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPlanRestart(t *testing.T) {
	c := planRules(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	job := func(rule string, mod func(*store.RestartJob)) *store.RestartJob {
		j := &store.RestartJob{IncidentID: "i1", Rule: rule, Attempts: 1, NextAt: now}
		if mod != nil {
			mod(j)
		}
		return j
	}
	incident := func(status, member string) *store.Incident {
		return &store.Incident{ID: "i1", Status: status, Alert: payload.Alert{Status: status, Fingerprint: "fp1",
			Labels: map[string]string{"alertname": "A", "member": member}}}
	}
	firing := incident(payload.StatusFiring, "zk-1")
	for _, tc := range []struct {
		name string
		job  *store.RestartJob
		inc  *store.Incident
		rule string
		want restartPlan
	}{
		{"job gone", nil, firing, "templated", restartPlan{Action: planSkip}},
		{"job running", job("templated", func(j *store.RestartJob) { j.Running = true }), firing, "templated", restartPlan{Action: planSkip}},
		{"job not due", job("templated", func(j *store.RestartJob) { j.NextAt = now.Add(time.Millisecond) }), firing, "templated",
			restartPlan{Action: planSkip}},
		{"incident expired", job("templated", nil), nil, "templated", restartPlan{Action: planFinish}},
		{"rule removed", job("gone", nil), firing, "gone", restartPlan{Action: planFinish,
			Attempt: &store.RestartAttempt{Outcome: "cancelled", Reason: "rule no longer configured"}}},
		{"alert resolved", job("templated", nil), incident(payload.StatusResolved, "zk-1"), "templated", restartPlan{Action: planFinish,
			Attempt: &store.RestartAttempt{Outcome: "cancelled", Reason: "alert resolved"}}},
		{"label refused", job("templated", nil), incident(payload.StatusFiring, "zk-1; rm -rf /"), "templated", restartPlan{
			Action: planFinish, Outcome: RestartRefused,
			Attempt: &store.RestartAttempt{Outcome: RestartRefused,
				Reason: `refused: label member="zk-1; rm -rf /" does not match allow "` + config.DefaultLabelAllow + `"`},
			Report: `Restart templated refused: refused: label member="zk-1; rm -rf /" does not match allow "` + config.DefaultLabelAllow + `"`}},
		{"templated target", job("templated", nil), firing, "templated", restartPlan{Action: planRun,
			Argv: []string{"/usr/bin/restart", "zk-1"}, Target: "templated/zk-1"}},
		{"plain target is the alert", job("plain", nil), firing, "plain", restartPlan{Action: planRun,
			Argv: []string{"/usr/bin/restart-all"}, Target: "plain/fp:fp1"}},
		{"dry run", job("dry", nil), firing, "dry", restartPlan{Action: planRun, DryRun: true, Outcome: RestartDryRun,
			Argv: []string{"/usr/bin/restart", "zk-1"}, Target: "dry/zk-1",
			Attempt: &store.RestartAttempt{Outcome: RestartDryRun, Argv: []string{"/usr/bin/restart", "zk-1"}, Attempt: 2},
			Report:  `Restart dry (dry run) would run: "/usr/bin/restart" "zk-1"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := planRestart(tc.job, tc.inc, c.RestartRule(tc.rule), now)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v (attempt %+v)\nwant %+v (attempt %+v)", got, got.Attempt, tc.want, tc.want.Attempt)
			}
		})
	}
}

func TestPlanResult(t *testing.T) {
	rule := planRules(t).RestartRule("templated") // max_attempts 2, backoff 7s
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	argv := []string{"/usr/bin/restart", "zk-1"}
	failed := restart.Result{ExitCode: 3, Duration: time.Second, Output: "boom", Err: errors.New("exit status 3")}
	for _, tc := range []struct {
		name     string
		attempt  int
		res      restart.Result
		done     bool
		outcomes []string
		report   string
		nextAt   time.Time
	}{
		{"success", 1, restart.Result{Duration: 1500 * time.Microsecond}, true, []string{RestartSuccess},
			"Restart templated succeeded (attempt 1, 1.5 ms).", time.Time{}},
		{"failure retried", 1, failed, false, []string{RestartFailure},
			"Restart templated failed (attempt 1 of 2): exit status 3; retrying in 7s.", now.Add(7 * time.Second)},
		{"failure exhausted", 2, failed, true, []string{RestartFailure, RestartExhausted},
			"Restart templated failed (attempt 2 of 2): exit status 3; giving up.", time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := &store.RestartJob{IncidentID: "i1", Rule: "templated", Attempts: tc.attempt}
			got := planResult(j, rule, argv, tc.res, now)
			if got.Done != tc.done || !reflect.DeepEqual(got.Outcomes, tc.outcomes) || got.Report != tc.report || !got.NextAt.Equal(tc.nextAt) {
				t.Errorf("got %+v", got)
			}
			a := got.Attempt
			if a.Rule != "templated" || a.Attempt != tc.attempt || !reflect.DeepEqual(a.Argv, argv) || a.ExitCode != tc.res.ExitCode ||
				a.Output != tc.res.Output || a.Outcome != tc.outcomes[0] {
				t.Errorf("attempt %+v", a)
			}
		})
	}
}
