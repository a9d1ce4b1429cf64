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
	"fmt"
	"strings"
	"time"

	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/payload"
	"github.com/zkwatch/zkwatch/receiver/restart"
	"github.com/zkwatch/zkwatch/receiver/store"
	tmpl "github.com/zkwatch/zkwatch/receiver/template"
)

// planAction is what the preflight decided for a due restart job.
type planAction int

const (
	// planSkip leaves the job alone: it is gone, running or not yet due.
	planSkip planAction = iota
	// planFinish ends the job without running it, recording Attempt (if
	// any) and queueing Report (if any).
	planFinish
	// planRun runs Argv for Target once the target lock, the cooldown,
	// the concurrency limit and the quorum guard allow it; a dry run then
	// finishes as planFinish would instead of running.
	planRun
)

// restartPlan is the outcome of planRestart.
type restartPlan struct {
	Action  planAction
	Attempt *store.RestartAttempt // planFinish, dry run: what to record on the incident
	Report  string                // planFinish, dry run: the message to the incident's notifiers
	Outcome string                // planFinish, dry run: the restarts_total outcome to count, if any
	Argv    []string              // planRun: the rendered command line
	Target  string                // planRun: what the command restarts (lock and cooldown key)
	DryRun  bool                  // planRun: record Attempt instead of running
}

// planRestart is the pure preflight of a restart job: given the stored
// job (nil when gone), its incident (nil when expired) and its rule (nil
// when no longer configured), it decides what to do, without side effects.
func planRestart(j *store.RestartJob, inc *store.Incident, rule *config.Restart, now time.Time) restartPlan {
	switch {
	case j == nil || j.Running || j.NextAt.After(now):
		return restartPlan{Action: planSkip}
	case inc == nil:
		return restartPlan{Action: planFinish}
	case rule == nil:
		return restartPlan{Action: planFinish, Attempt: &store.RestartAttempt{Outcome: "cancelled", Reason: "rule no longer configured"}}
	case inc.Status != payload.StatusFiring:
		return restartPlan{Action: planFinish, Attempt: &store.RestartAttempt{Outcome: "cancelled", Reason: "alert resolved"}}
	}
	argv, err := restart.Argv(rule, &inc.Alert)
	if err != nil {
		return restartPlan{Action: planFinish, Outcome: RestartRefused,
			Attempt: &store.RestartAttempt{Outcome: RestartRefused, Reason: err.Error()},
			Report:  fmt.Sprintf("Restart %s refused: %v", rule.Name, err)}
	}
	p := restartPlan{Action: planRun, Argv: argv, Target: restartTarget(rule, inc, argv)}
	if rule.DryRun {
		p.DryRun, p.Outcome = true, RestartDryRun
		p.Attempt = &store.RestartAttempt{Outcome: RestartDryRun, Argv: argv, Attempt: j.Attempts + 1}
		p.Report = fmt.Sprintf("Restart %s (dry run) would run: %s", rule.Name, quoteArgv(argv))
	}
	return p
}

// restartTarget is what the command line names; a command without
// templated arguments gets it from the alert (environment), so each
// alert is its own target.
func restartTarget(rule *config.Restart, inc *store.Incident, argv []string) string {
	if rule.Templated() {
		return rule.Name + "/" + strings.Join(argv[1:], "\x1f")
	}
	return rule.Name + "/fp:" + inc.Alert.Fingerprint
}

// restartResult is the decision after a command ran: what to record, what
// to report and whether the job is done.
type restartResult struct {
	Attempt  *store.RestartAttempt
	Report   string
	Done     bool
	Outcomes []string // restarts_total outcomes to count
	NextAt   time.Time
}

// planResult decides about a finished command, for the attempt j.Attempts.
func planResult(j *store.RestartJob, rule *config.Restart, argv []string, res restart.Result, now time.Time) restartResult {
	att := &store.RestartAttempt{Rule: rule.Name, Attempt: j.Attempts, Argv: argv, ExitCode: res.ExitCode,
		Duration: res.Duration, Output: res.Output}
	if res.Err == nil {
		att.Outcome = RestartSuccess
		return restartResult{Attempt: att, Done: true, Outcomes: []string{RestartSuccess},
			Report: fmt.Sprintf("Restart %s succeeded (attempt %d, %s).", rule.Name, j.Attempts, tmpl.Duration(res.Duration))}
	}
	att.Outcome, att.Reason = RestartFailure, res.Err.Error()
	msg := fmt.Sprintf("Restart %s failed (attempt %d of %d): %v", rule.Name, j.Attempts, rule.MaxAttempts, res.Err)
	if j.Attempts >= rule.MaxAttempts {
		return restartResult{Attempt: att, Done: true, Outcomes: []string{RestartFailure, RestartExhausted},
			Report: msg + "; giving up."}
	}
	return restartResult{Attempt: att, Outcomes: []string{RestartFailure}, NextAt: now.Add(rule.Backoff),
		Report: msg + fmt.Sprintf("; retrying in %s.", rule.Backoff)}
}

func quoteArgv(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = fmt.Sprintf("%q", a)
	}
	return strings.Join(q, " ")
}
