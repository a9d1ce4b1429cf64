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
	"math/rand/v2"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/ha"
	"github.com/zkwatch/zkwatch/receiver/notify"
	"github.com/zkwatch/zkwatch/receiver/store"
)

// Notification outcomes, the values of the outcome label.
const (
	OutcomeSuccess = "success"
	OutcomeRetry   = "retry"
	OutcomeFailure = "failure"
)

// Outbox delivers the notifications queued in the store: in order per
// incident, in parallel across incidents, up to maxInFlight deliveries per
// notifier. A delivery waiting for a retry holds back only the later ones
// of its own incidents, and a destination that hangs costs its own
// messages their notify_timeout, not the others their turn. A delivery
// that fails for good, or for retry_max_attempts attempts or
// retry_max_age, becomes a dead letter.
type Outbox struct {
	store   *store.Store
	live    *liveConfig
	counter *prometheus.CounterVec // by notifier and outcome
	dead    *prometheus.CounterVec // dead letters by notifier
	logger  log.Logger
	now     func() time.Time
	wakeCh  chan struct{}

	coord         ha.Coordinator
	failOpenAfter time.Duration

	mu          sync.Mutex
	active      map[string]bool  // notifiers being scanned
	lanes       map[string]*lane // deliveries in flight, per notifier
	receiverURL string
	wg          sync.WaitGroup
}

// Deliveries in flight per notifier. Retries may take only half of them,
// so that messages a destination keeps hanging on cannot take the slots
// of new ones.
const (
	maxInFlight        = 16
	maxRetriesInFlight = maxInFlight / 2
)

// lane is what one notifier has in flight.
type lane struct {
	items     map[uint64]bool
	incidents map[string]int
	retries   int
	// ended holds the deliveries that ended since the current scan
	// began: the scan may have read them before they were settled.
	ended map[uint64]bool
}

func newOutbox(st *store.Store, live *liveConfig, counter, dead *prometheus.CounterVec, logger log.Logger, now func() time.Time) *Outbox {
	return &Outbox{store: st, live: live, counter: counter, dead: dead, logger: logger, now: now,
		wakeCh: make(chan struct{}, 1), active: map[string]bool{}, lanes: map[string]*lane{}, coord: ha.Single{}}
}

// Wake makes Run look at the queue heads now.
func (o *Outbox) Wake() { wake(o.wakeCh) }

// Run starts a scan of each notifier's queue whose head is due, until ctx
// ends; it returns after the scans and deliveries have stopped.
func (o *Outbox) Run(ctx context.Context) {
	defer o.wg.Wait()
	for {
		now := o.now()
		next := now.Add(time.Second)
		var heads map[string]time.Time
		if err := o.store.View(func(tx *store.Tx) (err error) { heads, err = tx.OutboxHeads(); return }); err != nil {
			level.Error(o.logger).Log("msg", "reading outbox", "err", err)
		}
		o.mu.Lock()
		for name, at := range heads {
			if at.After(now) {
				if at.Before(next) {
					next = at
				}
				continue
			}
			if !o.active[name] {
				o.active[name] = true
				o.wg.Add(1)
				go o.drain(ctx, name)
			}
		}
		o.mu.Unlock()
		if !sleepUntil(ctx, o.wakeCh, next, now) {
			return
		}
	}
}

// drain makes one pass over a notifier's queue, in order, starting the
// due deliveries that have room. A delivery in flight, not yet due or
// without room holds back the later ones of the same incidents only, so
// one message a gateway keeps rejecting or hanging on does not block the
// rest. Ended deliveries wake Run for the next pass.
func (o *Outbox) drain(ctx context.Context, name string) {
	o.mu.Lock()
	ln := o.lanes[name]
	if ln == nil {
		ln = &lane{items: map[uint64]bool{}, incidents: map[string]int{}}
		o.lanes[name] = ln
	}
	ln.ended = map[uint64]bool{}
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		delete(o.active, name)
		again := len(ln.ended) > 0
		o.mu.Unlock()
		o.wg.Done()
		if again {
			o.Wake()
		}
	}()
	held := map[string]bool{} // incidents with a delivery held back
	for from := uint64(0); ctx.Err() == nil; {
		var queue []*store.OutboxItem
		if err := o.store.View(func(tx *store.Tx) (err error) { queue, err = tx.OutboxQueueFrom(name, from, 64); return }); err != nil {
			level.Error(o.logger).Log("msg", "reading outbox", "notifier", name, "err", err)
			return
		}
		if len(queue) == 0 {
			return
		}
		for _, it := range queue {
			from = it.Seq + 1
			if o.full(ln) {
				return // an ending delivery wakes the next pass
			}
			if !holds(held, it) && !it.NextAt.After(o.now()) && ctx.Err() == nil {
				o.start(ctx, ln, it)
			}
			// Whether started now, in flight, or waiting, the later
			// deliveries of its incidents wait for the next pass.
			hold(held, it)
		}
	}
}

// full tells whether the lane has no room for another delivery, so that
// a long queue is not read to its end for nothing.
func (o *Outbox) full(ln *lane) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(ln.items) >= maxInFlight
}

// start delivers it in the background when the lane has room and none of
// its incidents has a delivery in flight.
func (o *Outbox) start(ctx context.Context, ln *lane, it *store.OutboxItem) {
	as := it.Alerts()
	retry := it.Attempts > 0
	o.mu.Lock()
	defer o.mu.Unlock()
	if ln.items[it.Seq] || ln.ended[it.Seq] || len(ln.items) >= maxInFlight || (retry && ln.retries >= maxRetriesInFlight) {
		return
	}
	for _, a := range as {
		if ln.incidents[a.IncidentID] > 0 {
			return
		}
	}
	ln.items[it.Seq] = true
	for _, a := range as {
		ln.incidents[a.IncidentID]++
	}
	if retry {
		ln.retries++
	}
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		o.deliver(ctx, it)
		o.mu.Lock()
		delete(ln.items, it.Seq)
		for _, a := range as {
			if ln.incidents[a.IncidentID]--; ln.incidents[a.IncidentID] <= 0 {
				delete(ln.incidents, a.IncidentID)
			}
		}
		if retry {
			ln.retries--
		}
		ln.ended[it.Seq] = true
		o.mu.Unlock()
		o.Wake()
	}()
}

// holds tells whether a delivery of one of it's incidents is held back.
func holds(held map[string]bool, it *store.OutboxItem) bool {
	for _, a := range it.Alerts() {
		if held[a.IncidentID] {
			return true
		}
	}
	return false
}

// hold holds back the later deliveries of it's incidents.
func hold(held map[string]bool, it *store.OutboxItem) {
	for _, a := range it.Alerts() {
		held[a.IncidentID] = true
	}
}

// deliver makes one attempt and records its outcome.
func (o *Outbox) deliver(ctx context.Context, it *store.OutboxItem) {
	n := o.live.notifier(it.Notifier)
	cfg := o.live.config()
	c := o.claim(ctx, it)
	if !c.send {
		o.skip(it, c)
		return
	}
	if c.duplicate {
		it.Text = markDuplicate(it.Text)
	}
	var retry bool
	var err error
	if n == nil {
		err = fmt.Errorf("notifier %q is no longer configured", it.Notifier)
	} else {
		sent := it.Sent
		retry, err = o.attempt(ctx, n, cfg, it)
		if err != nil && ctx.Err() != nil {
			// Shutting down: the item stays queued, minus the parts sent.
			if it.Sent != sent {
				o.keepProgress(it)
			}
			return
		}
	}
	now := o.now()
	outcome, dead := classify(it, err, retry, cfg.Global.RetryMaxAttempts, cfg.Global.RetryMaxAge, now)
	if c.won && outcome != OutcomeRetry {
		// First in ZooKeeper: the other replicas wait on it.
		o.coord.RecordDetail(c.key, outcome, deliveryDetail(it.Attempts+1, err, now))
	}
	it.Attempts++
	if err != nil {
		it.LastError = err.Error()
	}
	if outcome == OutcomeRetry {
		it.NextAt = now.Add(jitter(backoff(cfg.Global.RetryInitialBackoff, cfg.Global.RetryMaxBackoff, it.Attempts)))
	}
	// Batch shares the fsync with concurrent webhook requests.
	if uerr := o.store.Batch(func(tx *store.Tx) error {
		return settle(tx, it, outcome, dead, err, now, deliveredBy{replica: o.coord.Replica(), duplicate: c.duplicate})
	}); uerr != nil {
		level.Error(o.logger).Log("msg", "recording delivery", "notifier", it.Notifier, "err", uerr)
		return
	}
	o.counter.WithLabelValues(it.Notifier, outcome).Inc()
	if dead != "" {
		o.dead.WithLabelValues(it.Notifier).Inc()
	}
	o.log(it, outcome, dead, err)
}

// classify turns an attempt's result into an outcome and, when the
// delivery is given up on, the dead letter's reason.
func classify(it *store.OutboxItem, err error, retry bool, maxAttempts int, maxAge time.Duration, now time.Time) (string, string) {
	switch {
	case err == nil:
		return OutcomeSuccess, ""
	case !retry:
		return OutcomeFailure, "rejected"
	case it.Attempts+1 >= maxAttempts:
		return OutcomeFailure, fmt.Sprintf("failed %d attempts (retry_max_attempts)", it.Attempts+1)
	case now.Sub(it.Created) >= maxAge:
		return OutcomeFailure, fmt.Sprintf("still failing after %s (retry_max_age)", maxAge)
	}
	return OutcomeRetry, ""
}

// settle stores an attempt's outcome: the item stays queued for a retry,
// or leaves the queue with a record on its incidents and, when given up
// on, a dead letter.
func settle(tx *store.Tx, it *store.OutboxItem, outcome, dead string, err error, now time.Time, by deliveredBy) error {
	if outcome == OutcomeRetry {
		return tx.PutOutbox(it)
	}
	if err := tx.DeleteOutbox(it); err != nil {
		return err
	}
	if dead != "" {
		if err := tx.PutDeadLetter(&store.DeadLetter{Item: *it, Reason: dead, At: now}); err != nil {
			return err
		}
	}
	return recordDelivery(tx, it, outcome, err, now, by)
}

// jitter spreads d over [0.8d, 1.2d), so that deliveries failing together
// do not retry in lockstep.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// attempt sends the message, part after part when the notifier splits
// it; it.Sent keeps count of the parts delivered, so that a retry resumes
// after them instead of repeating them.
func (o *Outbox) attempt(ctx context.Context, n notify.Notifier, cfg *config.Config, it *store.OutboxItem) (bool, error) {
	d := messageData(it, o.ReceiverURL(), cfg.Global.Location())
	for {
		if w, ok := n.(notify.Waiter); ok {
			if err := w.Wait(ctx); err != nil {
				return true, err
			}
		}
		actx, cancel := context.WithTimeout(ctx, cfg.Global.NotifyTimeout)
		retry, err := n.Notify(actx, d)
		cancel()
		it.Sent = d.Sent
		if err != nil || !d.More {
			for _, terr := range d.TemplateErrors() {
				level.Warn(o.logger).Log("msg", "template failed, the default text was sent instead", "notifier", it.Notifier,
					"incident", it.IncidentID, "err", terr)
			}
			return retry, err
		}
	}
}

func (o *Outbox) keepProgress(it *store.OutboxItem) {
	if err := o.store.Batch(func(tx *store.Tx) error { return tx.PutOutbox(it) }); err != nil {
		level.Error(o.logger).Log("msg", "recording delivery progress", "notifier", it.Notifier, "err", err)
	}
}

// recordDelivery notes the outcome on the incident of every alert the
// message carried.
func recordDelivery(tx *store.Tx, it *store.OutboxItem, outcome string, err error, now time.Time, by deliveredBy) error {
	as := it.Alerts()
	for _, a := range as {
		inc, err2 := tx.Incident(a.IncidentID)
		if err2 != nil {
			return err2
		}
		if inc == nil {
			continue // the incident expired; nothing to record on
		}
		rec := store.Notification{Notifier: it.Notifier, Kind: a.Kind, Outcome: outcome, Attempts: it.Attempts, At: now,
			Replica: by.replica, Duplicate: by.duplicate}
		if len(as) > 1 {
			rec.Grouped = len(as)
		}
		if err != nil {
			rec.Error = err.Error()
		}
		sendersRecord(&rec, by.detail)
		inc.Notifications = append(inc.Notifications, rec)
		if err := tx.PutIncident(inc); err != nil {
			return err
		}
	}
	return nil
}

func (o *Outbox) log(it *store.OutboxItem, outcome, dead string, err error) {
	switch outcome {
	case OutcomeRetry:
		level.Warn(o.logger).Log("msg", "notification failed, will retry", "notifier", it.Notifier, "incident", it.IncidentID,
			"alerts", len(it.Alerts()), "attempt", it.Attempts, "next", it.NextAt, "err", err)
	case OutcomeFailure:
		level.Error(o.logger).Log("msg", "notification failed, kept as a dead letter", "notifier", it.Notifier, "incident", it.IncidentID,
			"alerts", len(it.Alerts()), "attempts", it.Attempts, "reason", dead, "err", err)
	default:
		level.Debug(o.logger).Log("msg", "notification sent", "notifier", it.Notifier, "incident", it.IncidentID,
			"alerts", len(it.Alerts()), "kind", it.Kind)
	}
}

// SetReceiverURL sets the receiver's external URL, below which messages
// link to incident pages.
func (o *Outbox) SetReceiverURL(u string) {
	o.mu.Lock()
	o.receiverURL = u
	o.mu.Unlock()
}

// ReceiverURL is the receiver's external URL, or "".
func (o *Outbox) ReceiverURL() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.receiverURL
}

// backoff doubles from initial per attempt, capped at max.
func backoff(initial, max time.Duration, attempt int) time.Duration {
	d := initial
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}
