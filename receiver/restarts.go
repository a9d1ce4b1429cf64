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
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/zkwatch/zkwatch/receiver/restart"
	"github.com/zkwatch/zkwatch/receiver/store"
)

// Restart outcomes, the values of the outcome label.
const (
	RestartSuccess   = "success"
	RestartFailure   = "failure"
	RestartRefused   = "refused"
	RestartPostponed = "postponed"
	RestartExhausted = "exhausted"
	RestartDryRun    = "dry_run"
)

type restartState struct {
	mu      sync.Mutex
	active  map[string]bool        // job keys being handled
	targets map[string]*targetLock // rule/target pairs running or waiting
	sem     chan struct{}
	limit   int
	guardMu sync.Mutex // makes quorum check and Busy.Mark atomic
	busy    restart.Busy
	wg      sync.WaitGroup
}

func (s *restartState) setConcurrency(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		n = 1
	}
	if s.limit != n {
		// Running commands keep their old slot; new ones use the new limit.
		s.sem, s.limit = make(chan struct{}, n), n
	}
}

type targetLock struct {
	ch   chan struct{}
	refs int
}

// lockTarget waits until no other restart of target runs, so restarts of
// one target happen one at a time.
func (s *restartState) lockTarget(ctx context.Context, target string) (func(), error) {
	s.mu.Lock()
	l := s.targets[target]
	if l == nil {
		l = &targetLock{ch: make(chan struct{}, 1)}
		s.targets[target] = l
	}
	l.refs++
	s.mu.Unlock()
	release := func() {
		s.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(s.targets, target)
		}
		s.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

func (s *restartState) semaphore() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sem
}

// recoverJobs handles jobs that were running when the receiver died: the
// command may or may not have run, so it counts as a failed attempt and is
// never silently repeated beyond max_attempts.
func (r *Receiver) recoverJobs() error {
	cfg := r.Config()
	now := r.now()
	var exhausted []string
	err := r.store.Update(func(tx *store.Tx) error {
		exhausted = nil
		jobs, err := tx.Jobs()
		if err != nil {
			return err
		}
		for _, j := range jobs {
			if !j.Running {
				continue
			}
			j.Running = false
			inc, err := tx.Incident(j.IncidentID)
			if err != nil {
				return err
			}
			rule := cfg.RestartRule(j.Rule)
			giveUp := inc == nil || rule == nil || j.Attempts >= rule.MaxAttempts
			if inc != nil {
				inc.Restarts = append(inc.Restarts, store.RestartAttempt{Rule: j.Rule, Attempt: j.Attempts,
					Outcome: "interrupted", ExitCode: -1, Reason: "the receiver stopped while the command ran", At: now})
				if err := tx.PutIncident(inc); err != nil {
					return err
				}
				report := fmt.Sprintf("Restart %s (attempt %d) was interrupted by a receiver restart; its outcome is unknown", j.Rule, j.Attempts)
				if giveUp {
					report += "; not retrying."
				} else {
					report += "; retrying."
				}
				if err := enqueueReport(tx, inc, report, now); err != nil {
					return err
				}
			}
			if giveUp {
				exhausted = append(exhausted, j.Rule)
				if err := tx.DeleteJob(j.Key()); err != nil {
					return err
				}
				continue
			}
			j.NextAt = now.Add(rule.Backoff)
			if err := tx.PutJob(j); err != nil {
				return err
			}
		}
		return nil
	})
	for _, rule := range exhausted {
		r.metrics.restarts.WithLabelValues(rule, RestartExhausted).Inc()
	}
	return err
}

func (r *Receiver) runRestarts(ctx context.Context) {
	s := &r.restarts
	s.mu.Lock()
	s.active, s.targets = map[string]bool{}, map[string]*targetLock{}
	s.mu.Unlock()
	for {
		now := r.now()
		next := now.Add(time.Second)
		var jobs []*store.RestartJob
		if err := r.store.View(func(tx *store.Tx) (err error) { jobs, err = tx.Jobs(); return }); err != nil {
			r.logger.Error("reading restart jobs", "err", err)
		}
		s.mu.Lock()
		for _, j := range jobs {
			if s.active[j.Key()] {
				continue
			}
			if j.NextAt.After(now) {
				if j.NextAt.Before(next) {
					next = j.NextAt
				}
				continue
			}
			s.active[j.Key()] = true
			s.wg.Add(1)
			go func() {
				defer func() {
					s.mu.Lock()
					delete(s.active, j.Key())
					s.mu.Unlock()
					s.wg.Done()
					wake(r.wakeRestarts)
				}()
				r.handleJob(ctx, j)
			}()
		}
		s.mu.Unlock()
		if !sleepUntil(ctx, r.wakeRestarts, next, now) {
			return
		}
	}
}

// handleJob decides about one due job and, if everything allows it, runs
// the command.
func (r *Receiver) handleJob(ctx context.Context, j *store.RestartJob) {
	cfg := r.Config()
	rule := cfg.RestartRule(j.Rule)
	var inc *store.Incident
	// The scheduler's list may be stale: the job may have finished (and
	// left the active set) since it was read. Only the stored job counts.
	key := j.Key()
	err := r.store.View(func(tx *store.Tx) (err error) {
		if j, err = tx.Job(key); err != nil || j == nil {
			return err
		}
		inc, err = tx.Incident(j.IncidentID)
		return err
	})
	if err != nil {
		r.logger.Error("reading restart job", "job", key, "err", err)
		return
	}
	if j == nil || j.Running || j.NextAt.After(r.now()) {
		return
	}
	switch {
	case inc == nil:
		r.finishJob(j, nil, "", "")
		return
	case rule == nil:
		r.finishJob(j, &store.RestartAttempt{Outcome: "cancelled", Reason: "rule no longer configured"}, "", "")
		return
	case inc.Status != "firing":
		r.finishJob(j, &store.RestartAttempt{Outcome: "cancelled", Reason: "alert resolved"}, "", "")
		return
	}
	argv, err := restart.Argv(rule, &inc.Alert, inc.ID)
	if err != nil {
		r.logger.Warn("restart refused", "rule", rule.Name, "incident", inc.ID, "err", err)
		r.finishJob(j, &store.RestartAttempt{Outcome: RestartRefused, Reason: err.Error()},
			fmt.Sprintf("Restart %s refused: %v", rule.Name, err), "")
		r.metrics.restarts.WithLabelValues(rule.Name, RestartRefused).Inc()
		return
	}
	// The target is what the command line names; a command without
	// templated arguments gets it from the alert (environment), so each
	// alert is its own target.
	target := rule.Name + "/fp:" + inc.Alert.Fingerprint
	if rule.Templated() {
		target = rule.Name + "/" + strings.Join(argv[1:], "\x1f")
	}
	s := &r.restarts
	unlock, err := s.lockTarget(ctx, target)
	if err != nil {
		return
	}
	defer unlock()
	var last time.Time
	_ = r.store.View(func(tx *store.Tx) error { last = tx.LastRun(target); return nil })
	if wait := last.Add(rule.Cooldown).Sub(r.now()); rule.Cooldown > 0 && wait > 0 {
		r.postpone(j, rule.Name, fmt.Sprintf("cooldown: last restart of this target %s ago", r.now().Sub(last).Round(time.Second)), wait)
		return
	}
	sem := s.semaphore()
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-sem }()
	if g := rule.Guard; g != nil {
		addr := inc.Alert.Labels[g.TargetLabel]
		s.guardMu.Lock()
		err := restart.CheckQuorum(ctx, g.TLSConfig(), g.ZooKeeper, addr, &s.busy, g.Timeout)
		if err == nil {
			defer s.busy.Mark(addr)()
		}
		s.guardMu.Unlock()
		if err != nil {
			r.postpone(j, rule.Name, "quorum guard: "+err.Error(), g.RetryInterval)
			return
		}
	}
	if rule.DryRun {
		r.finishJob(j, &store.RestartAttempt{Outcome: RestartDryRun, Argv: argv, Attempt: j.Attempts + 1},
			fmt.Sprintf("Restart %s (dry run) would run: %s", rule.Name, quoteArgv(argv)), "")
		r.metrics.restarts.WithLabelValues(rule.Name, RestartDryRun).Inc()
		return
	}
	// Mark the attempt durably before running, so a crash cannot make the
	// same attempt run twice.
	// The alert may have resolved (deleting the job) since it was read.
	j.Attempts++
	j.Running, j.Postponed = true, ""
	still := false
	err = r.store.Update(func(tx *store.Tx) error {
		cur, err := tx.Job(key)
		if err != nil || cur == nil {
			return err
		}
		now, err := tx.Incident(j.IncidentID)
		if err != nil || now == nil || now.Status != "firing" {
			return err
		}
		still = true
		return tx.PutJob(j)
	})
	if err != nil {
		r.logger.Error("recording restart start", "err", err)
		return
	}
	if !still {
		return
	}
	r.logger.Info("running restart", "rule", rule.Name, "incident", inc.ID, "attempt", j.Attempts, "argv", argv)
	res := restart.Run(ctx, argv, restart.Env(&inc.Alert, inc.ID), rule.Workdir, rule.Timeout, store.MaxOutputBytes)
	if ctx.Err() != nil && res.Err != nil {
		return // shutting down: recoverJobs will account for this attempt
	}
	att := &store.RestartAttempt{Rule: rule.Name, Attempt: j.Attempts, Argv: argv, ExitCode: res.ExitCode,
		Duration: res.Duration, Output: res.Output}
	j.Running = false
	if res.Err == nil {
		att.Outcome = RestartSuccess
		r.finishJob(j, att, fmt.Sprintf("Restart %s succeeded (attempt %d, %s).", rule.Name, j.Attempts, res.Duration.Round(time.Millisecond)), target)
		r.metrics.restarts.WithLabelValues(rule.Name, RestartSuccess).Inc()
		return
	}
	att.Outcome, att.Reason = RestartFailure, res.Err.Error()
	msg := fmt.Sprintf("Restart %s failed (attempt %d of %d): %v", rule.Name, j.Attempts, rule.MaxAttempts, res.Err)
	if j.Attempts >= rule.MaxAttempts {
		r.finishJob(j, att, msg+"; giving up.", target)
		r.metrics.restarts.WithLabelValues(rule.Name, RestartFailure).Inc()
		r.metrics.restarts.WithLabelValues(rule.Name, RestartExhausted).Inc()
		return
	}
	j.NextAt = r.now().Add(rule.Backoff)
	r.record(j, att, msg+fmt.Sprintf("; retrying in %s.", rule.Backoff), target, false)
	r.metrics.restarts.WithLabelValues(rule.Name, RestartFailure).Inc()
}

// postpone delays a job, recording the reason on the incident when it
// changed.
func (r *Receiver) postpone(j *store.RestartJob, rule, reason string, wait time.Duration) {
	r.logger.Info("restart postponed", "rule", rule, "incident", j.IncidentID, "reason", reason)
	var att *store.RestartAttempt
	if j.Postponed != reason {
		att = &store.RestartAttempt{Outcome: RestartPostponed, Reason: reason, Attempt: j.Attempts}
	}
	j.Postponed = reason
	j.NextAt = r.now().Add(wait)
	r.record(j, att, "", "", false)
	r.metrics.restarts.WithLabelValues(rule, RestartPostponed).Inc()
}

func (r *Receiver) finishJob(j *store.RestartJob, att *store.RestartAttempt, report, target string) {
	r.record(j, att, report, target, true)
}

// record stores the job (or deletes it when done), appends att to the
// incident and queues report to the incident's notifiers, in one commit.
func (r *Receiver) record(j *store.RestartJob, att *store.RestartAttempt, report, target string, done bool) {
	now := r.now()
	queued := false
	err := r.store.Update(func(tx *store.Tx) error {
		queued = false
		if done {
			if err := tx.DeleteJob(j.Key()); err != nil {
				return err
			}
		} else if cur, err := tx.Job(j.Key()); err != nil {
			return err
		} else if cur != nil { // not deleted meanwhile by a resolution
			if err := tx.PutJob(j); err != nil {
				return err
			}
		}
		if target != "" {
			if err := tx.SetLastRun(target, now); err != nil {
				return err
			}
		}
		inc, err := tx.Incident(j.IncidentID)
		if err != nil || inc == nil || att == nil {
			return err
		}
		att.Rule, att.At = j.Rule, now
		inc.Restarts = append(inc.Restarts, *att)
		if report != "" {
			if err := enqueueReport(tx, inc, report, now); err != nil {
				return err
			}
			queued = len(inc.Notifiers) > 0
		}
		return tx.PutIncident(inc)
	})
	if err != nil {
		r.logger.Error("recording restart", "rule", j.Rule, "incident", j.IncidentID, "err", err)
	}
	if queued {
		wake(r.wakeOutbox)
	}
}

// enqueueReport queues a restart report to the incident's notifiers.
func enqueueReport(tx *store.Tx, inc *store.Incident, report string, now time.Time) error {
	for _, n := range inc.Notifiers {
		it := &store.OutboxItem{IncidentID: inc.ID, Notifier: n, Kind: store.KindRestart,
			Alert: inc.Alert, Text: report, NextAt: now, Created: now}
		if err := tx.Enqueue(it); err != nil {
			return err
		}
	}
	return nil
}

func quoteArgv(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = fmt.Sprintf("%q", a)
	}
	return strings.Join(q, " ")
}
