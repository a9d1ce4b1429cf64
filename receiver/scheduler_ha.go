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
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-kit/log/level"

	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/ha"
	"github.com/zkwatch/zkwatch/receiver/store"
)

// RestartInterrupted is the outcome of an attempt whose runner died (or
// lost its ZooKeeper session) before it recorded a result.
const RestartInterrupted = "interrupted"

// claimRetry is how soon a job whose claim is pending or unavailable asks
// again.
const claimRetry = 500 * time.Millisecond

func restartAction(rule string) string { return "restart/" + rule }

// restartKey names the claim of the attempt after j's last.
func restartKey(j *store.RestartJob) ha.Key {
	return ha.Key{Incident: j.IncidentID, Action: restartAction(j.Rule), Attempt: j.Attempts + 1, UntilSuccess: true}
}

// claim asks the replicas' coordinator for the attempt about to run and
// reports whether this replica runs it. Otherwise the job waits (no
// ZooKeeper: restarts fail closed; another replica is running it) or takes
// on the outcome another replica recorded.
func (s *Scheduler) claim(ctx context.Context, j *store.RestartJob, rule *config.Restart, p restartPlan) bool {
	key := restartKey(j)
	res, err := s.coord.Claim(ctx, key)
	switch {
	case err != nil:
		s.postpone(j, rule.Name, "waiting for ZooKeeper: restarts run only under a claim", claimRetry)
	case res.Won && res.TakenOver != "":
		s.coord.Record(key, RestartInterrupted)
		s.settle(j, rule, p.Target, res.TakenOver, RestartInterrupted,
			fmt.Sprintf("replica %s's ZooKeeper session ended while it ran this attempt; its outcome is unknown", res.TakenOver), nil)
	case res.Won:
		return true
	case res.Pending():
		// Not this replica's decision: no row of its own, the attempt's
		// record comes from its owner's claim.
		s.wait(j, fmt.Sprintf("replica %s is running attempt %d", res.Owner, key.Attempt), claimRetry)
	default:
		s.settle(j, rule, p.Target, res.Owner, res.Outcome, "", res.Detail)
	}
	return false
}

// wait delays a job without recording anything on its incident.
func (s *Scheduler) wait(j *store.RestartJob, reason string, d time.Duration) {
	level.Debug(s.logger).Log("msg", "restart waits", "rule", j.Rule, "incident", j.IncidentID, "reason", reason)
	j.Postponed, j.NextAt = reason, s.now().Add(d)
	s.record(j, nil, "", "", false)
}

// attemptDetail is the record of an attempt that other replicas show.
func attemptDetail(a *store.RestartAttempt) []byte {
	b, _ := json.Marshal(a)
	return b
}

// ownersAttempt is the attempt as its owner recorded it on the claim, or
// nil when the claim has no such record (written by an older version).
func ownersAttempt(detail []byte) *store.RestartAttempt {
	if len(detail) == 0 {
		return nil
	}
	var a store.RestartAttempt
	if json.Unmarshal(detail, &a) != nil || a.Outcome == "" {
		return nil
	}
	return &a
}

// settle records an attempt this replica did not run: one run by another
// replica (reason empty: that replica reports it), or one interrupted by
// its runner's end (reported here, since nobody else will).
func (s *Scheduler) settle(j *store.RestartJob, rule *config.Restart, target, owner, outcome, reason string, detail []byte) {
	j.Attempts++
	j.Running, j.Postponed = false, ""
	done := outcome == RestartSuccess || outcome == RestartDryRun || j.Attempts >= rule.MaxAttempts
	if !done {
		j.NextAt = s.now().Add(rule.Backoff)
	}
	att := &store.RestartAttempt{Attempt: j.Attempts, Outcome: outcome, Replica: owner, Reason: reason}
	if a := ownersAttempt(detail); a != nil && reason == "" {
		// The owner's own record: command, exit code, duration, output.
		att = a
		att.Attempt, att.Outcome, att.Replica = j.Attempts, outcome, owner
	}
	report := ""
	switch {
	case outcome == ha.OutcomeAbandoned:
		att.Reason = "replica " + owner + "'s ZooKeeper session ended before it recorded an outcome"
	case owner == s.coord.Replica() && reason == "":
		// Recorded by this replica before it restarted, which kept it
		// from reporting.
		att.Reason = "recorded by this replica before it restarted"
		report = fmt.Sprintf("Restart %s (attempt %d): %s (recorded before the receiver restarted).", rule.Name, j.Attempts, outcome)
	case reason != "":
		att.Replica = s.coord.Replica()
		report = fmt.Sprintf("Restart %s (attempt %d) was interrupted: %s", rule.Name, j.Attempts, reason)
		if done {
			report += "; not retrying."
		} else {
			report += "; retrying."
		}
	case att.Argv == nil:
		att.Reason = "run by replica " + owner
	}
	level.Info(s.logger).Log("msg", "restart attempt settled by another replica", "rule", rule.Name, "incident", j.IncidentID,
		"attempt", j.Attempts, "owner", owner, "outcome", outcome)
	if outcome != RestartSuccess {
		// As for a local run: only a successful restart starts the
		// target's cooldown; failed attempts are paced by backoff.
		target = ""
	}
	s.record(j, att, report, target, done)
}
