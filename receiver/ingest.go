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
	"time"

	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/payload"
	"github.com/zkwatch/zkwatch/receiver/store"
)

// IngestResult summarises what one payload changed.
type IngestResult struct {
	New, Resolved, Repeated, Notifications, Restarts int
	// Watchdog counts the watchdog alerts of the payload, which only feed
	// the dead man's switch.
	Watchdog int
	// changed are the incidents created or resolved, for the journal.
	changed []string
}

// Ingest records a payload durably; it returns only after the commit is on
// disk. Notifications and restarts happen later, from the store.
func (r *Receiver) Ingest(m *payload.Message) (IngestResult, error) {
	cfg := r.Config()
	now := r.now()
	var res IngestResult
	m, res.Watchdog = r.takeWatchdog(cfg, m, now)
	if len(m.Alerts) == 0 {
		return res, nil
	}
	err := r.store.Batch(func(tx *store.Tx) error {
		res = IngestResult{Watchdog: res.Watchdog} // Batch may run this more than once.
		q := newMessages(cfg, m, now)
		for i := range m.Alerts {
			if err := ingestAlert(tx, q, &m.Alerts[i], &res); err != nil {
				return err
			}
		}
		if err := q.flush(tx); err != nil {
			return err
		}
		res.Notifications = q.count
		return nil
	})
	if err != nil {
		return res, err
	}
	r.journal.publish(res.changed)
	if res.Notifications > 0 {
		r.outbox.Wake()
	}
	if res.Restarts > 0 || res.Resolved > 0 {
		r.restarts.Wake()
	}
	return res, nil
}

// takeWatchdog returns m without its watchdog alerts, which never become
// incidents, restarts or messages of their own: a firing one is an
// arrival for the dead man's switch; a resolved one (Alertmanager resolves
// it when Prometheus stops sending it) is not.
func (r *Receiver) takeWatchdog(cfg *config.Config, m *payload.Message, now time.Time) (*payload.Message, int) {
	n := 0
	for i := range m.Alerts {
		if cfg.Watchdog.IsWatchdog(m.Alerts[i].Labels) {
			n++
		}
	}
	if n == 0 {
		return m, 0
	}
	rest := *m
	rest.Alerts = make([]payload.Alert, 0, len(m.Alerts)-n)
	for _, a := range m.Alerts {
		switch {
		case !cfg.Watchdog.IsWatchdog(a.Labels):
			rest.Alerts = append(rest.Alerts, a)
		case !a.Resolved():
			r.watchdog.Seen(now)
		}
	}
	return &rest, n
}

// cancelPendingRestarts drops the restarts of a resolved incident that
// have not started: they are no longer wanted.
func cancelPendingRestarts(tx *store.Tx, inc *store.Incident, now time.Time) error {
	for _, rule := range inc.RestartRules {
		j, err := tx.Job(inc.ID + "/" + rule)
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
	return nil
}

func ingestAlert(tx *store.Tx, q *messages, a *payload.Alert, res *IngestResult) error {
	cfg, receiver, now := q.cfg, q.m.Receiver, q.now
	id := a.IncidentID()
	inc, err := tx.Incident(id)
	if err != nil {
		return err
	}
	enqueue := func(kind string) error {
		var note *store.WindowNote
		if kind == store.KindFiring || kind == store.KindRenotify {
			if note, err = q.maintenance(tx, inc.Alert.Labels); err != nil {
				return err
			}
		}
		for _, n := range inc.Notifiers {
			if err := q.add(tx, n, store.ItemAlert{IncidentID: id, Kind: kind, Alert: inc.Alert, Maintenance: note}); err != nil {
				return err
			}
		}
		inc.LastNotified = now
		return nil
	}
	if inc == nil {
		res.New++
		res.changed = append(res.changed, id)
		inc = &store.Incident{
			ID: id, Status: a.Status, Alert: *a, Receiver: receiver, ExternalURL: q.m.ExternalURL,
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
		res.changed = append(res.changed, id)
		inc.Status, inc.Alert, inc.ResolvedAt = payload.StatusResolved, *a, now
		if err := enqueue(store.KindResolved); err != nil {
			return err
		}
		if err := cancelPendingRestarts(tx, inc, now); err != nil {
			return err
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
