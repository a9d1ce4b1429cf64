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
	tmpl "github.com/zkwatch/zkwatch/receiver/template"
)

// messages collects the deliveries one payload causes. A notifier with
// grouping: alert gets one message per alert at once; one with grouping:
// notification gets, at flush, one message listing every alert of the
// payload it must hear about. Incidents, dedup and restarts stay per
// alert: only alerts that need telling join a message.
type messages struct {
	cfg     *config.Config
	m       *payload.Message
	now     time.Time
	grouped map[string][]store.ItemAlert
	order   []string
	count   int             // deliveries queued
	windows []*store.Window // read once per payload, when a firing alert needs them
}

func newMessages(cfg *config.Config, m *payload.Message, now time.Time) *messages {
	return &messages{cfg: cfg, m: m, now: now, grouped: map[string][]store.ItemAlert{}}
}

func (q *messages) item(notifier string, a store.ItemAlert) *store.OutboxItem {
	return &store.OutboxItem{IncidentID: a.IncidentID, Notifier: notifier, Kind: a.Kind, Alert: a.Alert, Maintenance: a.Maintenance,
		Receiver: q.m.Receiver, GroupLabels: q.m.GroupLabels, ExternalURL: q.m.ExternalURL, NextAt: q.now, Created: q.now}
}

// add queues alert a for notifier.
func (q *messages) add(tx *store.Tx, notifier string, a store.ItemAlert) error {
	if n := q.cfg.Notifier(notifier); n != nil && n.Grouping == config.GroupingNotification {
		if _, ok := q.grouped[notifier]; !ok {
			q.order = append(q.order, notifier)
		}
		q.grouped[notifier] = append(q.grouped[notifier], a)
		return nil
	}
	q.count++
	return tx.Enqueue(q.item(notifier, a))
}

// maintenance returns the note on the window a firing alert with labels
// is in, or nil.
func (q *messages) maintenance(tx *store.Tx, labels map[string]string) (*store.WindowNote, error) {
	if q.windows == nil {
		ws, err := tx.Windows()
		if err != nil {
			return nil, err
		}
		q.windows = append([]*store.Window{}, ws...) // non-nil: read
	}
	return noteFor(q.windows, labels, q.cfg, q.now), nil
}

// flush queues the grouped messages.
func (q *messages) flush(tx *store.Tx) error {
	for _, name := range q.order {
		as := q.grouped[name]
		it := q.item(name, as[0])
		if len(as) > 1 {
			it.Group, it.Kind = as, groupKind(as)
		}
		if err := tx.Enqueue(it); err != nil {
			return err
		}
		q.count++
	}
	return nil
}

// KindMixed is the kind of a grouped message whose alerts report
// different things (some firing, some resolved).
const KindMixed = "mixed"

func groupKind(as []store.ItemAlert) string {
	for _, a := range as[1:] {
		if a.Kind != as[0].Kind {
			return KindMixed
		}
	}
	return as[0].Kind
}

// messageData is the template data of a queued delivery.
func messageData(it *store.OutboxItem, receiverURL string, loc *time.Location) *tmpl.Data {
	items := it.Alerts()
	as := make([]tmpl.Alert, len(items))
	for i, a := range items {
		as[i] = tmpl.Alert{Alert: a.Alert, Kind: a.Kind, IncidentID: a.IncidentID}
		if w := a.Maintenance; w != nil {
			as[i].Maintenance = &tmpl.Maintenance{WindowID: w.ID, EndsAt: w.EndsAt, CreatedBy: w.CreatedBy, Comment: w.Comment}
		}
		if isWatchdogKind(a.Kind) {
			as[i].IncidentID = "" // no incident page to link to
		}
	}
	d := tmpl.New(tmpl.Message{Kind: it.Kind, Text: it.Text, Receiver: it.Receiver, ExternalURL: it.ExternalURL,
		GroupLabels: it.GroupLabels, Alerts: as}, tmpl.Options{ReceiverURL: receiverURL, Location: loc})
	d.Sent = it.Sent
	return d
}
