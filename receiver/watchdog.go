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

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/ha"
	"github.com/zkwatch/zkwatch/receiver/payload"
	"github.com/zkwatch/zkwatch/receiver/store"
	tmpl "github.com/zkwatch/zkwatch/receiver/template"
)

// watchdogIncident is the prefix of the outbox "incident" of a watchdog
// message; real incident ids are hex only, so the two cannot collide.
const watchdogIncident = "watchdog-"

func isWatchdogKind(kind string) bool {
	return kind == store.KindWatchdogMissing || kind == store.KindWatchdogBack
}

// watchdog is the dead man's switch: it notes each arrival of the
// watchdog alert and, when none came for watchdog.missing_after, queues
// one "missing" message to the watchdog's notifiers, then one "back"
// message when it arrives again. Replicas share the last arrival through
// ZooKeeper (ha.WatchdogClock), so that they name an outage alike and its
// messages are claimed, and sent, once.
type watchdog struct {
	store      *store.Store
	config     func() *config.Config
	wakeOutbox func()
	logger     log.Logger
	now        func() time.Time
	started    time.Time
	wakeCh     chan struct{}

	lastSeen, missing prometheus.Gauge

	mu     sync.Mutex
	seen   time.Time // latest arrival at this replica
	pushed time.Time // latest arrival written to the shared clock
	clock  ha.WatchdogClock
}

func newWatchdog(st *store.Store, cfg func() *config.Config, wakeOutbox func(), reg prometheus.Registerer,
	logger log.Logger, now func() time.Time) *watchdog {
	w := &watchdog{store: st, config: cfg, wakeOutbox: wakeOutbox, logger: log.With(logger, "component", "watchdog"),
		now: now, started: now(), wakeCh: make(chan struct{}, 1),
		lastSeen: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "watchdog", Name: "last_seen_timestamp_seconds",
			Help: "Unix time of the watchdog alert's last arrival (at any replica when replicas share it through ZooKeeper); 0 before the first.",
		}),
		missing: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "watchdog", Name: "missing",
			Help: "1 while the watchdog alert has not arrived for watchdog.missing_after (Prometheus, Alertmanager or their path to the receiver is down), else 0.",
		}),
	}
	if reg != nil {
		reg.MustRegister(w.lastSeen, w.missing)
	}
	return w
}

// Seen records an arrival of the watchdog alert.
func (w *watchdog) Seen(at time.Time) {
	w.mu.Lock()
	if at.After(w.seen) {
		w.seen = at
	}
	w.mu.Unlock()
	wake(w.wakeCh)
}

func (w *watchdog) setClock(c ha.WatchdogClock) {
	w.mu.Lock()
	w.clock = c
	w.mu.Unlock()
}

// latest is the last arrival known: this replica's, or a later one shared
// by another replica. Without ZooKeeper it is this replica's alone.
func (w *watchdog) latest() time.Time {
	w.mu.Lock()
	seen, pushed, clock := w.seen, w.pushed, w.clock
	w.mu.Unlock()
	if clock == nil {
		return seen
	}
	if seen.After(pushed) {
		if err := clock.WatchdogSeen(seen); err != nil {
			level.Debug(w.logger).Log("msg", "sharing the watchdog's last arrival", "err", err)
		} else {
			w.mu.Lock()
			w.pushed = seen
			w.mu.Unlock()
		}
	}
	shared, err := clock.WatchdogLastSeen()
	if err != nil || !shared.After(seen) {
		return seen
	}
	return shared
}

// watchdogStep is the pure decision: from the stored state, the latest
// arrival known, the process start and the time, the new state and the
// message to send ("" for none). The alert is missing once missing_after
// has passed since its last arrival (or since the start, when it arrived
// before the receiver started or never), and back at the first arrival
// after the outage began.
func watchdogStep(st store.WatchdogState, lastSeen, started, now time.Time, missingAfter time.Duration) (store.WatchdogState, string) {
	if lastSeen.After(st.LastSeen) {
		st.LastSeen = lastSeen
	}
	if st.Missing {
		if !st.LastSeen.IsZero() && st.LastSeen.UnixMilli() > st.Episode {
			st.Missing = false
			return st, store.KindWatchdogBack
		}
		return st, ""
	}
	base := st.LastSeen
	if started.After(base) {
		base = started
	}
	if now.Sub(base) < missingAfter {
		return st, ""
	}
	st.Missing, st.Episode = true, 0
	if !st.LastSeen.IsZero() {
		st.Episode = st.LastSeen.UnixMilli()
	}
	return st, store.KindWatchdogMissing
}

// Run checks the watchdog until ctx ends: at least once a second, and at
// once after an arrival.
func (w *watchdog) Run(ctx context.Context) {
	for {
		next := w.check()
		if !sleepUntil(ctx, w.wakeCh, next, w.now()) {
			return
		}
	}
}

// check applies one step, storing the state and queueing its message in
// one commit; it returns when the alert would next go missing.
func (w *watchdog) check() time.Time {
	cfg := w.config().Watchdog
	latest := w.latest()
	var kind string
	var st store.WatchdogState
	err := w.store.Update(func(tx *store.Tx) error {
		old, err := tx.Watchdog()
		if err != nil {
			return err
		}
		st, kind = watchdogStep(old, latest, w.started, w.now(), cfg.MissingAfter)
		if st == old {
			return nil
		}
		if kind != "" {
			for _, it := range watchdogItems(&cfg, kind, st, w.now()) {
				if err := tx.Enqueue(it); err != nil {
					return err
				}
			}
		}
		return tx.PutWatchdog(st)
	})
	if err != nil {
		level.Error(w.logger).Log("msg", "checking the watchdog", "err", err)
		return w.now().Add(time.Second)
	}
	w.report(&cfg, st, kind)
	base := st.LastSeen
	if w.started.After(base) {
		base = w.started
	}
	return base.Add(cfg.MissingAfter)
}

// report sets the metrics and logs a change.
func (w *watchdog) report(cfg *config.Watchdog, st store.WatchdogState, kind string) {
	if !st.LastSeen.IsZero() {
		w.lastSeen.Set(float64(st.LastSeen.UnixNano()) / 1e9)
	}
	if st.Missing {
		w.missing.Set(1)
	} else {
		w.missing.Set(0)
	}
	switch kind {
	case store.KindWatchdogMissing:
		level.Warn(w.logger).Log("msg", "watchdog alert missing", "alertname", cfg.AlertName, "last_seen", st.LastSeen,
			"missing_after", cfg.MissingAfter, "notifiers", strings.Join(cfg.Notifiers, ","))
	case store.KindWatchdogBack:
		level.Info(w.logger).Log("msg", "watchdog alert back", "alertname", cfg.AlertName, "notifiers", strings.Join(cfg.Notifiers, ","))
	default:
		return
	}
	if len(cfg.Notifiers) > 0 {
		w.wakeOutbox()
	}
}

// watchdogItems are the messages of a change to each watchdog notifier.
// Their outbox "incident" names the outage, which makes the replicas'
// claims on them agree.
func watchdogItems(cfg *config.Watchdog, kind string, st store.WatchdogState, now time.Time) []*store.OutboxItem {
	last := "never since the receiver started"
	if !st.LastSeen.IsZero() {
		last = "last at " + st.LastSeen.UTC().Format(tmpl.TimeFormat)
	}
	a := payload.Alert{Status: payload.StatusFiring, Labels: payload.KV{"alertname": cfg.AlertName},
		StartsAt: st.LastSeen, Annotations: payload.KV{
			"summary": fmt.Sprintf("The %s alert has not arrived for %s.", cfg.AlertName, tmpl.Duration(cfg.MissingAfter)),
			"description": "Prometheus, Alertmanager or the path from Alertmanager to zkwatch_receiver is down: " +
				"no other alert can reach you until it is back.",
		}}
	text := fmt.Sprintf("Watchdog: %s has not arrived for %s (%s).", cfg.AlertName, tmpl.Duration(cfg.MissingAfter), last)
	if kind == store.KindWatchdogBack {
		a.Status, a.EndsAt = payload.StatusResolved, now
		a.Annotations["summary"] = fmt.Sprintf("The %s alert arrives again.", cfg.AlertName)
		a.Annotations["description"] = "Alerts reach zkwatch_receiver again."
		text = fmt.Sprintf("Watchdog: %s arrives again (%s).", cfg.AlertName, strings.TrimPrefix(last, "last "))
	}
	out := make([]*store.OutboxItem, 0, len(cfg.Notifiers))
	for _, n := range cfg.Notifiers {
		out = append(out, &store.OutboxItem{IncidentID: fmt.Sprintf("%s%d", watchdogIncident, st.Episode), Notifier: n,
			Kind: kind, Alert: a, Text: text, Receiver: "watchdog", NextAt: now, Created: now})
	}
	return out
}
