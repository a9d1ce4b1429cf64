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
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/go-kit/log/level"

	"github.com/zkwatch/zkwatch/receiver/ha"
	"github.com/zkwatch/zkwatch/receiver/store"
)

// duplicateNote marks a message sent without a claim.
const duplicateNote = "Possible duplicate: sent without ZooKeeper coordination between receiver replicas."

func markDuplicate(text string) string {
	if strings.Contains(text, duplicateNote) {
		return text // marked on an earlier attempt
	}
	if text == "" {
		return duplicateNote
	}
	return text + "\n" + duplicateNote
}

// unmarkDuplicate is the text before markDuplicate.
func unmarkDuplicate(text string) string {
	if text == duplicateNote {
		return ""
	}
	return strings.TrimSuffix(text, "\n"+duplicateNote)
}

// deliveredBy is who made a delivery: the replica (HA mode), and whether
// it went out without a claim.
type deliveredBy struct {
	replica   string
	duplicate bool
	detail    []byte // another replica's deliveryRecord
}

// notifyClaim is what the coordinator decided about one delivery.
type notifyClaim struct {
	send      bool // deliver now
	won       bool // under a claim: record the outcome on it
	duplicate bool // without a claim (fail open)
	key       ha.Key
	hold      time.Time // !send: wait until then; zero when another replica delivered it
	owner     string
	outcome   string
	detail    []byte // the sender's deliveryRecord
}

// deliveryRecord is what the sender of a message writes on its claim, so
// that the other replicas record the delivery as it went.
type deliveryRecord struct {
	Attempts int       `json:"attempts"`
	Error    string    `json:"error,omitempty"`
	At       time.Time `json:"at"`
}

func deliveryDetail(attempts int, err error, at time.Time) []byte {
	d := deliveryRecord{Attempts: attempts, At: at}
	if err != nil {
		d.Error = err.Error()
	}
	b, _ := json.Marshal(d)
	return b
}

// sendersRecord fills in a record of a delivery another replica made from
// the detail on its claim, when there is one.
func sendersRecord(n *store.Notification, detail []byte) {
	var d deliveryRecord
	if len(detail) == 0 || json.Unmarshal(detail, &d) != nil || d.Attempts == 0 {
		return
	}
	n.Attempts, n.Error = d.Attempts, d.Error
	if !d.At.IsZero() {
		n.At = d.At
	}
}

// notifyKey names the claim of a delivery: a restart report by its text
// (only the replica that settled an attempt reports it, and each attempt's
// report differs), any other message as the n-th of its kind to its
// notifier for the incident, counting those recorded so far (deliveries
// by other replicas are recorded too).
func (o *Outbox) notifyKey(it *store.OutboxItem) ha.Key {
	k := ha.Key{Incident: it.IncidentID, Action: "notify/" + it.Notifier + "/" + it.Kind, Attempt: 1}
	if it.Kind == store.KindRestart {
		sum := sha256.Sum256([]byte(unmarkDuplicate(it.Text)))
		k.Action += "/" + hex.EncodeToString(sum[:6])
		return k
	}
	_ = o.store.View(func(tx *store.Tx) error {
		inc, err := tx.Incident(it.IncidentID)
		if err != nil || inc == nil {
			return err
		}
		for _, n := range inc.Notifications {
			if n.Notifier == it.Notifier && n.Kind == it.Kind {
				k.Attempt++
			}
		}
		return nil
	})
	return k
}

// claim asks the coordinator whether this replica delivers it. Without
// ZooKeeper, notifications fail open: after failOpenAfter the message goes
// out anyway, marked as a possible duplicate.
func (o *Outbox) claim(ctx context.Context, it *store.OutboxItem) notifyClaim {
	key := o.notifyKey(it)
	res, err := o.coord.Claim(ctx, key)
	now := o.now()
	switch {
	case err != nil:
		down := o.coord.DownSince()
		if down.IsZero() {
			// The session is live: a claim that failed or timed out (a
			// slow ensemble) is tried again, never skipped, since another
			// replica may hold it. Only an outage opens the gate.
			return notifyClaim{key: key, hold: now.Add(claimRetry)}
		}
		// The wait runs from the later of the message's creation and the
		// start of the outage.
		start := it.Created
		if down.After(start) {
			start = down
		}
		if deadline := start.Add(o.failOpenAfter); now.Before(deadline) {
			return notifyClaim{key: key, hold: minTime(deadline, now.Add(claimRetry))}
		}
		o.coord.FailOpen()
		level.Warn(o.logger).Log("msg", "sending without a claim: ZooKeeper unavailable for longer than the fail-open wait",
			"notifier", it.Notifier, "incident", it.IncidentID, "kind", it.Kind, "err", err)
		return notifyClaim{send: true, duplicate: true, key: key}
	case res.Won:
		return notifyClaim{send: true, won: true, key: key}
	case res.Pending():
		return notifyClaim{key: key, hold: now.Add(claimRetry), owner: res.Owner}
	}
	return notifyClaim{key: key, owner: res.Owner, outcome: res.Outcome, detail: res.Detail}
}

// skip handles a delivery this replica does not make now: it is held
// back, or, when another replica delivered it, recorded as theirs.
func (o *Outbox) skip(it *store.OutboxItem, c notifyClaim) {
	now := o.now()
	err := o.store.Batch(func(tx *store.Tx) error {
		if !c.hold.IsZero() {
			it.NextAt = c.hold
			return tx.PutOutbox(it)
		}
		if err := tx.DeleteOutbox(it); err != nil {
			return err
		}
		return recordDelivery(tx, it, c.outcome, nil, now, deliveredBy{replica: c.owner, detail: c.detail})
	})
	if err != nil {
		level.Error(o.logger).Log("msg", "recording delivery", "notifier", it.Notifier, "err", err)
		return
	}
	if c.hold.IsZero() {
		level.Debug(o.logger).Log("msg", "notification sent by another replica", "notifier", it.Notifier,
			"incident", it.IncidentID, "kind", it.Kind, "replica", c.owner, "outcome", c.outcome)
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
