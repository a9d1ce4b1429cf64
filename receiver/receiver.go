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

// Package receiver is the core of zkwatch_receiver: it records webhook
// alerts as incidents, queues their notifications in a durable outbox and
// schedules restart commands, all through the bbolt store.
package receiver

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/notify"
	"github.com/zkwatch/zkwatch/receiver/notify/dingtalk"
	"github.com/zkwatch/zkwatch/receiver/notify/email"
	"github.com/zkwatch/zkwatch/receiver/notify/sms"
	"github.com/zkwatch/zkwatch/receiver/notify/webhook"
	"github.com/zkwatch/zkwatch/receiver/payload"
	"github.com/zkwatch/zkwatch/receiver/store"
)

// Receiver ties the store, the configuration, the outbox and the restart
// scheduler together.
type Receiver struct {
	logger  *slog.Logger
	store   *store.Store
	metrics *Metrics
	now     func() time.Time

	mu        sync.RWMutex
	cfg       *config.Config
	notifiers map[string]notify.Notifier

	wakeOutbox, wakeRestarts chan struct{}
	outbox                   outboxState
	restarts                 restartState
}

// New returns a receiver over an open store. Metrics are registered on reg.
func New(st *store.Store, cfg *config.Config, reg prometheus.Registerer, logger *slog.Logger) (*Receiver, error) {
	r := &Receiver{
		logger:       logger,
		store:        st,
		now:          time.Now,
		wakeOutbox:   make(chan struct{}, 1),
		wakeRestarts: make(chan struct{}, 1),
	}
	r.metrics = newMetrics(r, reg)
	if err := r.ApplyConfig(cfg); err != nil {
		return nil, err
	}
	return r, nil
}

// Metrics returns the receiver's metrics.
func (r *Receiver) Metrics() *Metrics { return r.metrics }

// Store returns the incident store.
func (r *Receiver) Store() *store.Store { return r.store }

// Config returns the current configuration.
func (r *Receiver) Config() *config.Config {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cfg
}

// ApplyConfig switches to cfg. Pending work continues under the new
// configuration.
func (r *Receiver) ApplyConfig(cfg *config.Config) error {
	ns := make(map[string]notify.Notifier, len(cfg.Notifiers))
	for i := range cfg.Notifiers {
		n := &cfg.Notifiers[i]
		switch {
		case n.Webhook != nil:
			ns[n.Name] = webhook.New(n.Webhook)
		case n.Email != nil:
			ns[n.Name] = email.New(n.Email)
		case n.DingTalk != nil:
			ns[n.Name] = dingtalk.New(n.DingTalk)
		case n.SMS != nil:
			ns[n.Name] = sms.New(n.SMS)
		default:
			return fmt.Errorf("notifier %q has no kind", n.Name)
		}
	}
	r.metrics.initLabels(cfg)
	r.mu.Lock()
	r.cfg, r.notifiers = cfg, ns
	r.mu.Unlock()
	r.restarts.setConcurrency(cfg.Global.RestartConcurrency)
	wake(r.wakeOutbox)
	wake(r.wakeRestarts)
	return nil
}

func (r *Receiver) notifier(name string) notify.Notifier {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.notifiers[name]
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// IngestResult summarises what one payload changed.
type IngestResult struct {
	New, Resolved, Repeated, Notifications, Restarts int
}

// Ingest records a payload durably; it returns only after the commit is on
// disk. Notifications and restarts happen later, from the store.
func (r *Receiver) Ingest(m *payload.Message) (IngestResult, error) {
	cfg := r.Config()
	now := r.now()
	var res IngestResult
	err := r.store.Batch(func(tx *store.Tx) error {
		res = IngestResult{} // Batch may run this more than once.
		for i := range m.Alerts {
			if err := ingestAlert(tx, cfg, m.Receiver, &m.Alerts[i], now, &res); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	if res.Notifications > 0 {
		wake(r.wakeOutbox)
	}
	if res.Restarts > 0 || res.Resolved > 0 {
		wake(r.wakeRestarts)
	}
	return res, nil
}

func ingestAlert(tx *store.Tx, cfg *config.Config, receiver string, a *payload.Alert, now time.Time, res *IngestResult) error {
	id := a.IncidentID()
	inc, err := tx.Incident(id)
	if err != nil {
		return err
	}
	enqueue := func(kind string) error {
		for _, n := range inc.Notifiers {
			it := &store.OutboxItem{IncidentID: id, Notifier: n, Kind: kind, Alert: inc.Alert, NextAt: now, Created: now}
			if err := tx.Enqueue(it); err != nil {
				return err
			}
			res.Notifications++
		}
		inc.LastNotified = now
		return nil
	}
	if inc == nil {
		res.New++
		inc = &store.Incident{
			ID: id, Status: a.Status, Alert: *a, Receiver: receiver,
			Notifiers: cfg.Route(a.Labels), FirstSeen: now, LastSeen: now, Received: 1,
		}
		if a.Resolved() {
			inc.ResolvedAt = now
			res.Resolved++
		} else {
			for _, rule := range cfg.RestartRules(a.Labels) {
				inc.RestartRules = append(inc.RestartRules, rule.Name)
				if err := tx.PutJob(&store.RestartJob{IncidentID: id, Rule: rule.Name, NextAt: now}); err != nil {
					return err
				}
				res.Restarts++
			}
		}
		if err := enqueue(a.Status); err != nil {
			return err
		}
		return tx.PutIncident(inc)
	}
	inc.LastSeen = now
	inc.Received++
	switch {
	case inc.Status == payload.StatusFiring && a.Resolved():
		res.Resolved++
		inc.Status, inc.Alert, inc.ResolvedAt = payload.StatusResolved, *a, now
		if err := enqueue(store.KindResolved); err != nil {
			return err
		}
		// Restarts not yet started are no longer wanted.
		for _, rule := range inc.RestartRules {
			j, err := tx.Job(id + "/" + rule)
			if err != nil {
				return err
			}
			if j != nil && !j.Running {
				if err := tx.DeleteJob(j.Key()); err != nil {
					return err
				}
				inc.Restarts = append(inc.Restarts, store.RestartAttempt{
					Rule: rule, Attempt: j.Attempts, Outcome: "cancelled", Reason: "alert resolved", At: now,
				})
			}
		}
	case inc.Status == payload.StatusFiring:
		res.Repeated++
		inc.Alert.Annotations, inc.Alert.GeneratorURL = a.Annotations, a.GeneratorURL
		if ri := cfg.Global.RenotifyInterval; ri > 0 && now.Sub(inc.LastNotified) >= ri {
			if err := enqueue(store.KindRenotify); err != nil {
				return err
			}
		}
	default:
		// Already resolved: repeats, and late retries of the firing
		// notification, change nothing.
		res.Repeated++
	}
	return tx.PutIncident(inc)
}

// Run processes the outbox, the restart jobs and expiry until ctx ends.
func (r *Receiver) Run(ctx context.Context) {
	if err := r.recoverJobs(); err != nil {
		r.logger.Error("recovering restart jobs", "err", err)
	}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); r.runOutbox(ctx) }()
	go func() { defer wg.Done(); r.runRestarts(ctx) }()
	go func() { defer wg.Done(); r.runExpiry(ctx) }()
	wg.Wait()
	r.outbox.wg.Wait()
	r.restarts.wg.Wait()
}

func (r *Receiver) runExpiry(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := r.store.Expire(r.Config().Storage.Retention, r.now())
		if err != nil {
			r.logger.Error("expiring incidents", "err", err)
		} else if n > 0 {
			r.logger.Info("expired incidents", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sleepUntil waits for a wake-up, the deadline or ctx; it reports false
// when ctx is done.
func sleepUntil(ctx context.Context, wakeCh <-chan struct{}, next time.Time, now time.Time) bool {
	d := next.Sub(now)
	if d < 10*time.Millisecond {
		d = 10 * time.Millisecond
	}
	if d > time.Second {
		d = time.Second
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-wakeCh:
	case <-t.C:
	}
	return true
}
