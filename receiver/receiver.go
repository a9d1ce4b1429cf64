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

// Package receiver is the core of zkwatch_receiver, built from small
// parts over the bbolt store: Receiver ingests webhook alerts as incidents
// (ingest.go) and swaps configurations; Outbox delivers the queued
// notifications (outbox.go); Scheduler runs restart jobs, each planned by
// a pure preflight step (plan.go) and then executed (scheduler.go).
package receiver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/ha"
	"github.com/zkwatch/zkwatch/receiver/notify"
	"github.com/zkwatch/zkwatch/receiver/notify/dingtalk"
	"github.com/zkwatch/zkwatch/receiver/notify/email"
	"github.com/zkwatch/zkwatch/receiver/notify/sms"
	"github.com/zkwatch/zkwatch/receiver/notify/webhook"
	"github.com/zkwatch/zkwatch/receiver/store"
)

// Receiver ties the store, the configuration, the outbox and the restart
// scheduler together.
type Receiver struct {
	logger  log.Logger
	store   *store.Store
	metrics *Metrics
	now     func() time.Time
	live    *liveConfig

	outbox      *Outbox
	restarts    *Scheduler
	watchdog    *watchdog
	maintenance *Maintenance
	journal     *journal // replicas only
	coord       ha.Coordinator
	recoverOnce sync.Once
}

// liveConfig is the configuration in force and the notifiers built from
// it; ApplyConfig swaps both at once.
type liveConfig struct {
	mu        sync.RWMutex
	cfg       *config.Config
	notifiers map[string]notify.Notifier
}

func (l *liveConfig) config() *config.Config {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.cfg
}

func (l *liveConfig) notifier(name string) notify.Notifier {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.notifiers[name]
}

// New returns a receiver over an open store. Metrics are registered on reg.
func New(st *store.Store, cfg *config.Config, reg prometheus.Registerer, logger log.Logger) (*Receiver, error) {
	r := &Receiver{logger: logger, store: st, now: time.Now, live: &liveConfig{}}
	r.metrics = newMetrics(st, reg)
	r.outbox = newOutbox(st, r.live, r.metrics.notifications, r.metrics.deadLetters, logger, r.now)
	r.restarts = newScheduler(st, r.live.config, r.outbox.Wake, r.metrics.restarts, logger, r.now)
	r.watchdog = newWatchdog(st, r.live.config, r.outbox.Wake, reg, logger, r.now)
	r.maintenance = newMaintenance(st, r.live.config, r.restarts.Wake, reg, logger, r.now)
	r.restarts.windows = r.maintenance
	r.coord = ha.Single{}
	if err := r.ApplyConfig(cfg); err != nil {
		return nil, err
	}
	return r, nil
}

// SetCoordinator makes restarts and notifications claim their actions
// through c (call before Recover and Run). A notification whose claim
// fails for want of ZooKeeper is sent anyway, marked as a possible
// duplicate, once it has waited failOpenAfter.
func (r *Receiver) SetCoordinator(c ha.Coordinator, failOpenAfter time.Duration) {
	r.coord = c
	r.outbox.coord, r.outbox.failOpenAfter = c, failOpenAfter
	r.restarts.coord = c
	if wc, ok := c.(ha.WatchdogClock); ok {
		r.watchdog.setClock(wc)
	}
	if w, ok := c.(ha.Windows); ok {
		r.maintenance.shared = w
	}
	if j, ok := c.(ha.Journal); ok {
		r.journal = &journal{j: j, coord: c, store: r.store, config: r.live.config, logger: log.With(r.logger, "component", "journal"),
			now: r.now, wakeCh: make(chan struct{}, 1), pending: map[string]bool{}, following: map[string]bool{},
			wake: func() { r.outbox.Wake(); r.restarts.Wake() }}
	}
}

// Replica is this replica's name, "" for a receiver without replicas.
func (r *Receiver) Replica() string { return r.coord.Replica() }

// Metrics returns the receiver's metrics.
func (r *Receiver) Metrics() *Metrics { return r.metrics }

// Store returns the incident store.
func (r *Receiver) Store() *store.Store { return r.store }

// SetExternalURL sets the URL the receiver is reached at
// (--web.external-url); messages link to incident pages below it.
func (r *Receiver) SetExternalURL(u string) { r.outbox.SetReceiverURL(u) }

// ExternalURL returns the URL set by SetExternalURL, or "".
func (r *Receiver) ExternalURL() string { return r.outbox.ReceiverURL() }

// Config returns the current configuration.
func (r *Receiver) Config() *config.Config { return r.live.config() }

// ApplyConfig switches to cfg. Pending work continues under the new
// configuration.
func (r *Receiver) ApplyConfig(cfg *config.Config) error {
	ns, err := newNotifiers(cfg)
	if err != nil {
		return err
	}
	r.metrics.initLabels(cfg)
	r.live.mu.Lock()
	r.live.cfg, r.live.notifiers = cfg, ns
	r.live.mu.Unlock()
	r.restarts.SetConcurrency(cfg.Global.RestartConcurrency)
	r.outbox.Wake()
	r.restarts.Wake()
	return nil
}

// notifierKinds builds a notifier of each kind of config.Kinds.
var notifierKinds = map[string]func(n *config.Notifier) (notify.Notifier, error){
	"webhook":  func(n *config.Notifier) (notify.Notifier, error) { return webhook.New(n.Webhook, n.Name) },
	"email":    func(n *config.Notifier) (notify.Notifier, error) { return email.New(n.Email), nil },
	"dingtalk": func(n *config.Notifier) (notify.Notifier, error) { return dingtalk.New(n.DingTalk, n.Name) },
	"sms":      func(n *config.Notifier) (notify.Notifier, error) { return sms.New(n.SMS, n.Name) },
}

// newNotifiers builds every configured notifier, each with its own HTTP
// client where it speaks HTTP.
func newNotifiers(cfg *config.Config) (map[string]notify.Notifier, error) {
	ns := make(map[string]notify.Notifier, len(cfg.Notifiers))
	for i := range cfg.Notifiers {
		n := &cfg.Notifiers[i]
		build, ok := notifierKinds[n.Kind()]
		if !ok {
			return nil, fmt.Errorf("notifier %q has no kind", n.Name)
		}
		nt, err := build(n)
		if err != nil {
			return nil, fmt.Errorf("notifier %q: %w", n.Name, err)
		}
		ns[n.Name] = nt
	}
	return ns, nil
}

// Recover deals with the restart jobs a crash interrupted, killing
// commands left running; call it before serving so that no new restart
// can overlap them. It runs once; Run calls it too.
func (r *Receiver) Recover() {
	r.recoverOnce.Do(func() {
		if err := r.restarts.Recover(); err != nil {
			level.Error(r.logger).Log("msg", "recovering restart jobs", "err", err)
		}
	})
}

// Run processes the outbox, the restart jobs, the watchdog, the
// maintenance windows and expiry until ctx ends.
func (r *Receiver) Run(ctx context.Context) {
	r.Recover()
	var wg sync.WaitGroup
	wg.Add(5)
	go func() { defer wg.Done(); r.outbox.Run(ctx) }()
	go func() { defer wg.Done(); r.maintenance.Run(ctx) }()
	go func() { defer wg.Done(); r.watchdog.Run(ctx) }()
	if r.journal != nil {
		wg.Add(1)
		go func() { defer wg.Done(); r.journal.Run(ctx) }()
	}
	go func() { defer wg.Done(); r.restarts.Run(ctx) }()
	go func() { defer wg.Done(); r.runExpiry(ctx) }()
	wg.Wait()
}

func (r *Receiver) runExpiry(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := r.store.Expire(r.Config().Storage.Retention, r.now())
		if err != nil {
			level.Error(r.logger).Log("msg", "expiring incidents", "err", err)
		} else if n > 0 {
			level.Info(r.logger).Log("msg", "expired incidents", "count", n)
		}
		if n, err := r.coord.Cleanup(r.now().Add(-r.Config().Storage.Retention)); err != nil && !errors.Is(err, ha.ErrUnavailable) {
			level.Warn(r.logger).Log("msg", "removing old claims", "err", err)
		} else if n > 0 {
			level.Info(r.logger).Log("msg", "removed the claims of old incidents", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// wake signals a loop without blocking; one pending signal is enough.
func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
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
