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
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/ha"
	"github.com/zkwatch/zkwatch/receiver/restart"
	"github.com/zkwatch/zkwatch/receiver/store"
	tmpl "github.com/zkwatch/zkwatch/receiver/template"
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

// maxActiveJobs bounds the jobs handled at once (running, or waiting for
// their target, a concurrency slot or the guard), so a flood of firing
// incidents cannot start a goroutine each.
const maxActiveJobs = 256

// Scheduler runs the restart jobs stored by ingestion: one goroutine per
// due job (at most maxActiveJobs), restarts of one target one at a time, at most
// restart_concurrency commands at once, each behind its rule's cooldown
// and quorum guard. Reports go to the incident's notifiers through the
// outbox, which wakeOutbox prompts.
type Scheduler struct {
	store      *store.Store
	config     func() *config.Config
	wakeOutbox func()
	counter    *prometheus.CounterVec // by rule and outcome
	logger     log.Logger
	now        func() time.Time
	wakeCh     chan struct{}

	mu      sync.Mutex
	active  map[string]bool        // job keys being handled
	targets map[string]*targetLock // rule/target pairs running or waiting
	sem     chan struct{}
	limit   int
	coord   ha.Coordinator
	guardMu sync.Mutex // makes quorum check and Busy.Mark atomic
	busy    restart.Busy
	wg      sync.WaitGroup
	windows *Maintenance // postpones restarts in maintenance
}

func newScheduler(st *store.Store, cfg func() *config.Config, wakeOutbox func(), counter *prometheus.CounterVec,
	logger log.Logger, now func() time.Time) *Scheduler {
	return &Scheduler{store: st, config: cfg, wakeOutbox: wakeOutbox, counter: counter, logger: logger, now: now,
		wakeCh: make(chan struct{}, 1), active: map[string]bool{}, targets: map[string]*targetLock{}, coord: ha.Single{}}
}

// Wake makes Run look at the jobs now.
func (s *Scheduler) Wake() { wake(s.wakeCh) }

// SetConcurrency sets how many commands may run at once. Running commands
// keep their old slot; new ones use the new limit.
func (s *Scheduler) SetConcurrency(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		n = 1
	}
	if s.limit != n {
		s.sem, s.limit = make(chan struct{}, n), n
	}
}

func (s *Scheduler) semaphore() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sem
}

type targetLock struct {
	ch   chan struct{}
	refs int
}

// lockTarget waits until no other restart of target runs, so restarts of
// one target happen one at a time.
func (s *Scheduler) lockTarget(ctx context.Context, target string) (func(), error) {
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

// Recover handles jobs that were running when the receiver died: the
// command's process group, if it still runs, is killed first, so that a
// retry cannot overlap it. The attempt counts as failed and is never
// silently repeated beyond max_attempts.
func (s *Scheduler) Recover() error {
	var jobs []*store.RestartJob
	if err := s.store.View(func(tx *store.Tx) (err error) { jobs, err = tx.Jobs(); return }); err != nil {
		return err
	}
	reasons := map[string]string{}
	for _, j := range jobs {
		if j.Running {
			reasons[j.Key()] = s.reapOrphan(j)
		}
	}
	cfg := s.config()
	now := s.now()
	var exhausted []string
	err := s.store.Update(func(tx *store.Tx) error {
		exhausted = nil
		for key, reason := range reasons {
			j, err := tx.Job(key)
			if err != nil {
				return err
			}
			if j == nil || !j.Running {
				continue
			}
			if s.coord.Replica() != "" {
				// Replicas: the attempt's claim tells what became of it.
				j.Running, j.PGID, j.ProcStart = false, 0, 0
				j.Attempts--
				if err := tx.PutJob(j); err != nil {
					return err
				}
				continue
			}
			rule := cfg.RestartRule(j.Rule)
			giveUp, err := recoverJob(tx, j, rule, reason, now)
			if err != nil {
				return err
			}
			if giveUp {
				exhausted = append(exhausted, j.Rule)
			}
		}
		return nil
	})
	for _, rule := range exhausted {
		s.counter.WithLabelValues(rule, RestartExhausted).Inc()
	}
	return err
}

// reapOrphan kills what is left of an interrupted job's command and says
// what it found.
func (s *Scheduler) reapOrphan(j *store.RestartJob) string {
	const base = "the receiver stopped while the command ran"
	if j.PGID == 0 {
		return base + " (before its process group was recorded)"
	}
	found, err := restart.KillOrphan(context.Background(), j.PGID, j.ProcStart, 10*time.Second)
	var reason string
	switch found {
	case restart.OrphanKilled:
		reason = fmt.Sprintf("%s; its process group %d was still running and was killed", base, j.PGID)
	case restart.OrphanReused:
		reason = fmt.Sprintf("%s; its process group %d had exited (the pid now names another process)", base, j.PGID)
	default:
		reason = fmt.Sprintf("%s; its process group %d had exited", base, j.PGID)
	}
	if err != nil {
		reason += ": " + err.Error()
	}
	level.Warn(s.logger).Log("msg", "interrupted restart", "rule", j.Rule, "incident", j.IncidentID, "pgid", j.PGID, "outcome", reason)
	return reason
}

// recoverJob records an interrupted attempt on the incident and either
// schedules a retry or deletes the job; it reports whether it gave up.
func recoverJob(tx *store.Tx, j *store.RestartJob, rule *config.Restart, reason string, now time.Time) (bool, error) {
	j.Running, j.PGID, j.ProcStart = false, 0, 0
	inc, err := tx.Incident(j.IncidentID)
	if err != nil {
		return false, err
	}
	giveUp := inc == nil || rule == nil || j.Attempts >= rule.MaxAttempts
	if inc != nil {
		inc.Restarts = append(inc.Restarts, store.RestartAttempt{Rule: j.Rule, Attempt: j.Attempts,
			Outcome: "interrupted", ExitCode: -1, Reason: reason, At: now})
		if err := tx.PutIncident(inc); err != nil {
			return false, err
		}
		report := fmt.Sprintf("Restart %s (attempt %d) was interrupted by a receiver restart (%s)", j.Rule, j.Attempts, reason)
		if giveUp {
			report += "; not retrying."
		} else {
			report += "; retrying."
		}
		if err := enqueueReport(tx, inc, report, now); err != nil {
			return false, err
		}
	}
	if giveUp {
		return true, tx.DeleteJob(j.Key())
	}
	j.NextAt = now.Add(rule.Backoff)
	return false, tx.PutJob(j)
}

// Run starts a goroutine per due job until ctx ends; it returns after they
// have stopped.
func (s *Scheduler) Run(ctx context.Context) {
	defer s.wg.Wait()
	for {
		now := s.now()
		next := now.Add(time.Second)
		var jobs []*store.RestartJob
		if err := s.store.View(func(tx *store.Tx) (err error) { jobs, err = tx.Jobs(); return }); err != nil {
			level.Error(s.logger).Log("msg", "reading restart jobs", "err", err)
		}
		s.mu.Lock()
		for _, j := range jobs {
			if s.active[j.Key()] {
				continue
			}
			if len(s.active) >= maxActiveJobs {
				break // the rest waits for a running job to finish
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
					s.Wake()
				}()
				s.handleJob(ctx, j.Key(), j.Rule)
			}()
		}
		s.mu.Unlock()
		if !sleepUntil(ctx, s.wakeCh, next, now) {
			return
		}
	}
}

// handleJob plans one due job from the stored state (planRestart) and
// carries the plan out.
func (s *Scheduler) handleJob(ctx context.Context, key, ruleName string) {
	rule := s.config().RestartRule(ruleName)
	// The scheduler's list may be stale: the job may have finished (and
	// left the active set) since it was read. Only the stored job counts.
	var (
		j   *store.RestartJob
		inc *store.Incident
	)
	err := s.store.View(func(tx *store.Tx) (err error) {
		if j, err = tx.Job(key); err != nil || j == nil {
			return err
		}
		inc, err = tx.Incident(j.IncidentID)
		return err
	})
	if err != nil {
		level.Error(s.logger).Log("msg", "reading restart job", "job", key, "err", err)
		return
	}
	p := planRestart(j, inc, rule, s.now())
	switch p.Action {
	case planFinish:
		if p.Outcome == RestartRefused {
			level.Warn(s.logger).Log("msg", "restart refused", "rule", rule.Name, "incident", inc.ID, "err", p.Attempt.Reason)
		}
		s.finish(j, p)
	case planRun:
		s.execute(ctx, j, inc, rule, p)
	}
}

// finish ends a job as planned, without running anything.
func (s *Scheduler) finish(j *store.RestartJob, p restartPlan) {
	s.record(j, p.Attempt, p.Report, "", true)
	if p.Outcome != "" {
		s.counter.WithLabelValues(j.Rule, p.Outcome).Inc()
	}
}

// execute carries out a planRun plan: unless a maintenance window
// matches, it waits for the target lock, the cooldown, a concurrency slot
// and the quorum guard, then runs the command (or records the dry run)
// and records the result.
func (s *Scheduler) execute(ctx context.Context, j *store.RestartJob, inc *store.Incident, rule *config.Restart, p restartPlan) {
	if s.inMaintenance(j, inc, rule) {
		return
	}
	unlock, err := s.lockTarget(ctx, p.Target)
	if err != nil {
		return
	}
	defer unlock()
	var last time.Time
	_ = s.store.View(func(tx *store.Tx) error { last = tx.LastRun(p.Target); return nil })
	if wait := last.Add(rule.Cooldown).Sub(s.now()); rule.Cooldown > 0 && wait > 0 {
		s.postpone(j, rule.Name, fmt.Sprintf("cooldown: last restart of this target %s ago", tmpl.Duration(s.now().Sub(last))), wait)
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
		release, err := s.checkGuard(ctx, g, inc.Alert.Labels[g.TargetLabel])
		if err != nil {
			s.postpone(j, rule.Name, "quorum guard: "+err.Error(), g.RetryInterval)
			return
		}
		defer release()
	}
	// Again: a window may have begun while this job waited.
	if s.inMaintenance(j, inc, rule) || !s.claim(ctx, j, rule, p) {
		return
	}
	if p.DryRun {
		p.Attempt.Replica, p.Attempt.At = s.coord.Replica(), s.now()
		s.finish(j, p)
		s.coord.RecordDetail(restartKey(j), RestartDryRun, attemptDetail(p.Attempt))
		return
	}
	s.run(ctx, j, inc, rule, p)
}

// checkGuard checks the quorum without the member addr and marks addr as
// being restarted until release is called.
func (s *Scheduler) checkGuard(ctx context.Context, g *config.Guard, addr string) (release func(), err error) {
	s.guardMu.Lock()
	defer s.guardMu.Unlock()
	if err := restart.CheckQuorum(ctx, g.TLSConfig(), g.ZooKeeper, addr, &s.busy, g.Timeout); err != nil {
		return nil, err
	}
	return s.busy.Mark(addr), nil
}

// run marks the attempt durably, runs the command and records the result.
func (s *Scheduler) run(ctx context.Context, j *store.RestartJob, inc *store.Incident, rule *config.Restart, p restartPlan) {
	still, err := s.markRunning(j)
	if err != nil {
		level.Error(s.logger).Log("msg", "recording restart start", "err", err)
		return
	}
	if !still {
		return
	}
	level.Info(s.logger).Log("msg", "running restart", "rule", rule.Name, "incident", inc.ID, "attempt", j.Attempts, "argv", fmt.Sprint(p.Argv))
	// A shutdown lets the command finish (within its timeout) instead of
	// killing it halfway: Run's caller waits for it.
	runCtx, stopFence := context.WithoutCancel(ctx), func() {}
	if f, ok := s.coord.(ha.Fencer); ok {
		runCtx, stopFence = f.Fence(runCtx) // the lease rule: stop before a takeover
	}
	res := restart.RunWatched(runCtx, p.Argv, restart.Env(&inc.Alert, inc.ID), rule.Workdir, rule.Timeout,
		store.MaxOutputBytes, func(pgid int) { s.markStarted(j, pgid) })
	stopFence()
	j.Running, j.PGID, j.ProcStart = false, 0, 0
	r := planResult(j, rule, p.Argv, res, s.now())
	r.Attempt.Replica, r.Attempt.At = s.coord.Replica(), s.now()
	s.coord.RecordDetail(ha.Key{Incident: j.IncidentID, Action: restartAction(j.Rule), Attempt: j.Attempts, UntilSuccess: true},
		r.Attempt.Outcome, attemptDetail(r.Attempt))
	if !r.Done {
		j.NextAt = r.NextAt
	}
	// A successful restart starts the target's cooldown; failed attempts
	// are paced by backoff and max_attempts.
	target := ""
	if res.Err == nil {
		target = p.Target
	}
	s.record(j, r.Attempt, r.Report, target, r.Done)
	for _, o := range r.Outcomes {
		s.counter.WithLabelValues(rule.Name, o).Inc()
	}
}

// markRunning records the attempt durably before the command runs, so a
// crash cannot make the same attempt run twice. It reports false when the
// alert resolved (deleting the job) since the job was read.
func (s *Scheduler) markRunning(j *store.RestartJob) (bool, error) {
	j.Attempts++
	j.Running, j.Postponed = true, ""
	still := false
	err := s.store.Update(func(tx *store.Tx) error {
		cur, err := tx.Job(j.Key())
		if err != nil || cur == nil {
			return err
		}
		inc, err := tx.Incident(j.IncidentID)
		if err != nil || inc == nil || inc.Status != "firing" {
			return err
		}
		still = true
		return tx.PutJob(j)
	})
	return still, err
}

// markStarted records the command's process group durably, for Recover.
func (s *Scheduler) markStarted(j *store.RestartJob, pgid int) {
	j.PGID = pgid
	j.ProcStart, _ = restart.ProcStart(pgid)
	err := s.store.Update(func(tx *store.Tx) error {
		if cur, err := tx.Job(j.Key()); err != nil || cur == nil {
			return err
		}
		return tx.PutJob(j)
	})
	if err != nil {
		level.Error(s.logger).Log("msg", "recording restart process group", "rule", j.Rule, "pgid", pgid, "err", err)
	}
}

// postpone delays a job, recording the reason on the incident when it
// changed.
func (s *Scheduler) postpone(j *store.RestartJob, rule, reason string, wait time.Duration) {
	s.postponeReport(j, rule, reason, "", wait)
}

// postponeReport is postpone that also queues report to the incident's
// notifiers when the reason changed.
func (s *Scheduler) postponeReport(j *store.RestartJob, rule, reason, report string, wait time.Duration) {
	level.Info(s.logger).Log("msg", "restart postponed", "rule", rule, "incident", j.IncidentID, "reason", reason)
	var att *store.RestartAttempt
	if j.Postponed != reason {
		att = &store.RestartAttempt{Outcome: RestartPostponed, Reason: reason, Attempt: j.Attempts + 1} // the attempt that waits
	} else {
		report = ""
	}
	j.Postponed = reason
	j.NextAt = s.now().Add(wait)
	s.record(j, att, report, "", false)
	s.counter.WithLabelValues(rule, RestartPostponed).Inc()
}

// record stores the job (or deletes it when done), appends att to the
// incident and queues report to the incident's notifiers, in one commit.
func (s *Scheduler) record(j *store.RestartJob, att *store.RestartAttempt, report, target string, done bool) {
	now := s.now()
	queued := false
	err := s.store.Update(func(tx *store.Tx) error {
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
		att.Rule = j.Rule
		if att.At.IsZero() { // set by the replica that ran it, to show its time
			att.At = now
		}
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
		level.Error(s.logger).Log("msg", "recording restart", "rule", j.Rule, "incident", j.IncidentID, "err", err)
	}
	if queued {
		s.wakeOutbox()
	}
}

// enqueueReport queues a restart report to the incident's notifiers.
func enqueueReport(tx *store.Tx, inc *store.Incident, report string, now time.Time) error {
	for _, n := range inc.Notifiers {
		it := &store.OutboxItem{IncidentID: inc.ID, Notifier: n, Kind: store.KindRestart,
			Alert: inc.Alert, Text: report, Receiver: inc.Receiver, ExternalURL: inc.ExternalURL, NextAt: now, Created: now}
		if err := tx.Enqueue(it); err != nil {
			return err
		}
	}
	return nil
}
