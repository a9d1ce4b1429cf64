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
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/ha"
	"github.com/zkwatch/zkwatch/receiver/payload"
	"github.com/zkwatch/zkwatch/receiver/store"
)

// catchUpInterval is how often a replica also looks for incidents it
// missed while connected (Alertmanager could not reach it, say).
const catchUpInterval = time.Minute

// publishedIncident is what a replica publishes of an incident on its
// claims' node, for the replicas that did not receive it.
type publishedIncident struct {
	Status      string        `json:"status"`
	Alert       payload.Alert `json:"alert"`
	Receiver    string        `json:"receiver,omitempty"`
	ExternalURL string        `json:"externalURL,omitempty"`
	FirstSeen   time.Time     `json:"firstSeen"`
	ResolvedAt  time.Time     `json:"resolvedAt,omitzero"`
	Published   time.Time     `json:"published"`
}

// journal publishes the incidents this replica ingests and catches up
// with those it missed: at start, after each loss of ZooKeeper and every
// catchUpInterval, an incident another replica published that the store
// lacks is recorded with what the claims say was done about it (the
// runner's own record of each restart attempt, who sent each message), and
// the messages nobody sent are queued under the usual claims. Restarts are
// never started from what another replica published, only from an alert
// Alertmanager delivered: whoever can write to ZooKeeper must not be able
// to run commands. While the incident fires and its restarts are not
// settled, the journal follows their claims and records the attempts the
// other replicas make.
type journal struct {
	j      ha.Journal
	coord  ha.Coordinator
	store  *store.Store
	config func() *config.Config
	wake   func() // the outbox and the scheduler
	logger log.Logger
	now    func() time.Time
	wakeCh chan struct{}

	mu        sync.Mutex
	pending   map[string]bool // incidents to publish
	following map[string]bool // caught-up incidents whose restarts go on elsewhere
}

// publish queues incidents to publish.
func (jl *journal) publish(ids []string) {
	if jl == nil || len(ids) == 0 {
		return
	}
	jl.mu.Lock()
	for _, id := range ids {
		jl.pending[id] = true
	}
	jl.mu.Unlock()
	wake(jl.wakeCh)
}

// Run publishes and catches up until ctx ends.
func (jl *journal) Run(ctx context.Context) {
	behind, last := true, time.Time{}
	for {
		jl.flush()
		jl.follow()
		now := jl.now()
		switch {
		case !jl.coord.DownSince().IsZero():
			behind = true
		case behind || now.Sub(last) >= catchUpInterval:
			if n, err := jl.catchUp(); err != nil {
				level.Warn(jl.logger).Log("msg", "catching up from ZooKeeper", "err", err)
			} else {
				behind, last = false, now
				if n > 0 {
					level.Info(jl.logger).Log("msg", "caught up with incidents other replicas received", "count", n)
				}
			}
		}
		if !sleepUntil(ctx, jl.wakeCh, now.Add(time.Second), now) {
			return
		}
	}
}

// flush publishes the queued incidents; what ZooKeeper does not take now
// stays queued.
func (jl *journal) flush() {
	jl.mu.Lock()
	ids := make([]string, 0, len(jl.pending))
	for id := range jl.pending {
		ids = append(ids, id)
	}
	jl.mu.Unlock()
	for _, id := range ids {
		var inc *store.Incident
		if err := jl.store.View(func(tx *store.Tx) (err error) { inc, err = tx.Incident(id); return }); err != nil {
			level.Error(jl.logger).Log("msg", "reading incident to publish", "incident", id, "err", err)
			continue
		}
		var err error
		if inc != nil {
			data, _ := json.Marshal(publishedIncident{Status: inc.Status, Alert: inc.Alert, Receiver: inc.Receiver,
				ExternalURL: inc.ExternalURL, FirstSeen: inc.FirstSeen, ResolvedAt: inc.ResolvedAt, Published: jl.now()})
			err = jl.j.Publish(id, data, inc.Status != payload.StatusFiring)
		}
		if errors.Is(err, ha.ErrUnavailable) {
			return
		}
		if err != nil {
			level.Warn(jl.logger).Log("msg", "publishing incident", "incident", id, "err", err)
		}
		jl.mu.Lock()
		delete(jl.pending, id)
		jl.mu.Unlock()
	}
}

// catchUp records the published incidents the store lacks; it returns
// how many.
func (jl *journal) catchUp() (int, error) {
	ids, err := jl.j.Incidents()
	if err != nil {
		return 0, err
	}
	var missing []string
	err = jl.store.View(func(tx *store.Tx) error {
		for _, id := range ids {
			if strings.HasPrefix(id, watchdogIncident) {
				continue
			}
			inc, err := tx.Incident(id)
			if err != nil {
				return err
			}
			if inc == nil {
				missing = append(missing, id)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range missing {
		ok, err := jl.catchUpOne(id)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	if n > 0 {
		jl.wake()
	}
	return n, nil
}

// catchUpOne records one missed incident, unless it was never published,
// is older than the retention (this replica expired it) or arrived here
// meanwhile.
func (jl *journal) catchUpOne(id string) (bool, error) {
	data, claims, err := jl.j.Incident(id)
	if err != nil || len(data) == 0 {
		return false, err
	}
	var pub publishedIncident
	if err := json.Unmarshal(data, &pub); err != nil {
		level.Warn(jl.logger).Log("msg", "unreadable published incident", "incident", id, "err", err)
		return false, nil
	}
	cfg := jl.config()
	now := jl.now()
	if pub.Published.Before(now.Add(-cfg.Storage.Retention)) {
		return false, nil
	}
	inc, items := planCatchUp(cfg, id, pub, claims, now)
	done := false
	err = jl.store.Update(func(tx *store.Tx) error {
		if cur, err := tx.Incident(id); err != nil || cur != nil {
			return err
		}
		for _, it := range items {
			if err := tx.Enqueue(it); err != nil {
				return err
			}
		}
		done = true
		return tx.PutIncident(inc)
	})
	if done && !restartsSettled(cfg, inc) {
		jl.mu.Lock()
		jl.following[id] = true
		jl.mu.Unlock()
	}
	return done, err
}

// follow records the restart attempts other replicas made on the
// incidents it follows, until they are settled or the incident resolved.
func (jl *journal) follow() {
	jl.mu.Lock()
	ids := make([]string, 0, len(jl.following))
	for id := range jl.following {
		ids = append(ids, id)
	}
	jl.mu.Unlock()
	cfg := jl.config()
	for _, id := range ids {
		_, claims, err := jl.j.Incident(id)
		if errors.Is(err, ha.ErrUnavailable) {
			return
		}
		settled := true
		err = jl.store.Update(func(tx *store.Tx) error {
			inc, err := tx.Incident(id)
			if err != nil || inc == nil || inc.Status != payload.StatusFiring {
				return err
			}
			added := addClaimedAttempts(inc, claims)
			settled = restartsSettled(cfg, inc)
			if added == 0 {
				return nil
			}
			return tx.PutIncident(inc)
		})
		if err != nil {
			level.Warn(jl.logger).Log("msg", "following another replica's restarts", "incident", id, "err", err)
			continue
		}
		if settled {
			jl.mu.Lock()
			delete(jl.following, id)
			jl.mu.Unlock()
		}
	}
}

// planCatchUp is the pure part of catching up with an incident: the
// incident as this replica records it, with the outcomes the claims hold,
// and the messages no replica has sent yet. Those go through the claims as
// usual: one another replica is still sending is waited for.
func planCatchUp(cfg *config.Config, id string, pub publishedIncident, claims []ha.ClaimRecord, now time.Time) (
	*store.Incident, []*store.OutboxItem) {
	inc := &store.Incident{ID: id, Status: pub.Status, Alert: pub.Alert, Receiver: pub.Receiver, ExternalURL: pub.ExternalURL,
		Notifiers: cfg.Route(pub.Alert.Labels), FirstSeen: pub.FirstSeen, LastSeen: now, ResolvedAt: pub.ResolvedAt, LastNotified: now}
	addClaimedAttempts(inc, claims)
	sent := map[string]bool{} // notifier + kind
	for _, c := range sortedClaims(claims) {
		if notifier, kind, ok := notifyAction(c.Action); ok && c.Outcome != "" {
			n := store.Notification{Notifier: notifier, Kind: kind, Outcome: c.Outcome, At: c.Recorded, Replica: c.Owner}
			sendersRecord(&n, c.Detail)
			inc.Notifications = append(inc.Notifications, n)
			sent[notifier+"\x00"+kind] = true
		}
	}
	var items []*store.OutboxItem
	for _, n := range inc.Notifiers {
		if !sent[n+"\x00"+inc.Status] {
			items = append(items, &store.OutboxItem{IncidentID: id, Notifier: n, Kind: inc.Status, Alert: inc.Alert,
				Receiver: inc.Receiver, ExternalURL: inc.ExternalURL, NextAt: now, Created: now})
		}
	}
	return inc, items
}

func sortedClaims(claims []ha.ClaimRecord) []ha.ClaimRecord {
	out := append([]ha.ClaimRecord(nil), claims...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Recorded.Before(out[j].Recorded) })
	return out
}

// addClaimedAttempts appends the restart attempts the claims hold an
// outcome for and inc lacks; it returns how many.
func addClaimedAttempts(inc *store.Incident, claims []ha.ClaimRecord) int {
	have := map[string]bool{}
	for _, a := range inc.Restarts {
		have[fmt.Sprintf("%s-%d", a.Rule, a.Attempt)] = true
	}
	n := 0
	for _, c := range sortedClaims(claims) {
		rule, ok := strings.CutPrefix(c.Action, "restart/")
		if !ok || c.Outcome == "" || have[fmt.Sprintf("%s-%d", rule, c.Attempt)] {
			continue
		}
		inc.Restarts = append(inc.Restarts, claimedAttempt(rule, c))
		n++
	}
	return n
}

// restartsSettled tells whether every restart rule matching a firing
// incident has succeeded or used its attempts, as far as inc records.
func restartsSettled(cfg *config.Config, inc *store.Incident) bool {
	if inc.Status != payload.StatusFiring {
		return true
	}
	for _, rule := range cfg.RestartRules(inc.Alert.Labels) {
		done, attempts := false, 0
		for _, a := range inc.Restarts {
			if a.Rule == rule.Name && a.Outcome != RestartPostponed && a.Outcome != "cancelled" {
				attempts++
				done = done || a.Outcome == RestartSuccess || a.Outcome == RestartDryRun
			}
		}
		if !done && attempts < rule.MaxAttempts {
			return false
		}
	}
	return true
}

// claimedAttempt is a restart attempt as its claim tells it: the runner's
// own record when it wrote one.
func claimedAttempt(rule string, c ha.ClaimRecord) store.RestartAttempt {
	a := store.RestartAttempt{Outcome: c.Outcome, At: c.Recorded, Reason: "recorded by replica " + c.Owner}
	if own := ownersAttempt(c.Detail); own != nil {
		a = *own
	}
	a.Rule, a.Attempt, a.Outcome, a.Replica = rule, c.Attempt, c.Outcome, c.Owner
	return a
}

// notifyAction splits a notification claim's action,
// notify/<notifier>/<kind> or notify/<notifier>/restart/<report hash>.
func notifyAction(action string) (notifier, kind string, ok bool) {
	rest, ok := strings.CutPrefix(action, "notify/")
	if !ok {
		return "", "", false
	}
	if i := strings.LastIndex(rest, "/"+store.KindRestart+"/"); i > 0 {
		return rest[:i], store.KindRestart, true
	}
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 {
		return "", "", false
	}
	return rest[:i], rest[i+1:], true
}
