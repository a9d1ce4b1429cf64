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

// Package store keeps incidents, the notification outbox and pending
// restarts in an embedded bbolt database, so that nothing acknowledged to
// Alertmanager is lost across crashes.
package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/zkwatch/zkwatch/receiver/payload"
)

var (
	bIncidents = []byte("incidents") // id -> Incident (JSON)
	bMeta      = []byte("meta")      // "count/<status>" -> incidents with that status
	bOutbox    = []byte("outbox")    // seq -> OutboxItem
	bJobs      = []byte("restarts")  // incident id/rule -> RestartJob
	bLastRun   = []byte("lastrun")   // rule/target -> time of last restart
	// The time indexes: lastSeen (8 bytes, big-endian Unix ns) + id -> "".
	bByTime       = []byte("bytime")       // every incident
	bFiringByTime = []byte("firingbytime") // firing incidents only
	bDead         = []byte("deadletters")  // seq -> DeadLetter
)

// FileName is the database file inside the storage directory.
const FileName = "receiver.db"

// Limits on what one incident keeps, so a flapping alert cannot grow a
// record without bound.
const (
	MaxNotifications = 200
	MaxRestarts      = 50
	MaxOutputBytes   = 4096
)

// Incident is one alert occurrence: a fingerprint and a startsAt.
type Incident struct {
	ID       string        `json:"id"`
	Status   string        `json:"status"`
	Alert    payload.Alert `json:"alert"`
	Receiver string        `json:"receiver,omitempty"`
	// ExternalURL is the sending Alertmanager's, for silence links.
	ExternalURL  string    `json:"externalURL,omitempty"`
	Notifiers    []string  `json:"notifiers"`
	RestartRules []string  `json:"restartRules,omitempty"`
	FirstSeen    time.Time `json:"firstSeen"`
	LastSeen     time.Time `json:"lastSeen"`
	ResolvedAt   time.Time `json:"resolvedAt,omitzero"`
	LastNotified time.Time `json:"lastNotified,omitzero"`
	// Received counts the webhook deliveries that carried this alert.
	Received      int              `json:"received"`
	Notifications []Notification   `json:"notifications"`
	Restarts      []RestartAttempt `json:"restarts"`
}

// Notification records the outcome of one delivery.
type Notification struct {
	Notifier string    `json:"notifier"`
	Kind     string    `json:"kind"`
	Outcome  string    `json:"outcome"` // success | failure
	Attempts int       `json:"attempts"`
	Error    string    `json:"error,omitempty"`
	At       time.Time `json:"at"`
	// Replica is the receiver replica that sent it (HA mode).
	Replica string `json:"replica,omitempty"`
	// Duplicate marks a message sent without a claim, because ZooKeeper
	// was unavailable: another replica may have sent it too.
	Duplicate bool `json:"duplicate,omitempty"`
	// Grouped is the number of alerts of the message, when it carried
	// more than this incident's.
	Grouped int `json:"grouped,omitempty"`
}

// RestartAttempt records one restart decision or run.
type RestartAttempt struct {
	Rule     string        `json:"rule"`
	Attempt  int           `json:"attempt"`
	Outcome  string        `json:"outcome"`
	Argv     []string      `json:"argv,omitempty"`
	ExitCode int           `json:"exitCode"`
	Duration time.Duration `json:"duration"`
	Output   string        `json:"output,omitempty"`
	Reason   string        `json:"reason,omitempty"`
	At       time.Time     `json:"at"`
	// Replica is the receiver replica that ran it (HA mode).
	Replica string `json:"replica,omitempty"`
}

// Outbox kinds: what a queued notification reports.
const (
	KindFiring   = "firing"
	KindResolved = "resolved"
	KindRenotify = "renotify"
	KindRestart  = "restart"
	// The watchdog's messages: its alert went missing, or is back.
	KindWatchdogMissing = "watchdog_missing"
	KindWatchdogBack    = "watchdog_back"
)

// OutboxItem is one pending delivery.
type OutboxItem struct {
	Seq        uint64        `json:"seq"`
	IncidentID string        `json:"incidentId"`
	Notifier   string        `json:"notifier"`
	Kind       string        `json:"kind"`
	Alert      payload.Alert `json:"alert"`
	// Text is the extra line of a restart report.
	Text string `json:"text,omitempty"`
	// Maintenance is the window that matched the alert when its firing
	// notification was queued; the message says so.
	Maintenance *WindowNote `json:"maintenance,omitempty"`
	// Group, for a notifier with grouping: notification, is the whole
	// message: every alert of one Alertmanager notification that needs
	// telling. IncidentID and Alert are then those of its first alert.
	Group []ItemAlert `json:"group,omitempty"`
	// Receiver, GroupLabels and ExternalURL come from the webhook payload.
	Receiver    string            `json:"receiver,omitempty"`
	GroupLabels map[string]string `json:"groupLabels,omitempty"`
	ExternalURL string            `json:"externalURL,omitempty"`
	// Sent counts the parts of a split message already delivered, so a
	// retry sends only the rest.
	Sent      int       `json:"sent,omitempty"`
	Attempts  int       `json:"attempts"`
	NextAt    time.Time `json:"nextAt"`
	LastError string    `json:"lastError,omitempty"`
	Created   time.Time `json:"created"`
}

// ItemAlert is one alert of a queued message and what it reports.
type ItemAlert struct {
	IncidentID  string        `json:"incidentId"`
	Kind        string        `json:"kind"`
	Alert       payload.Alert `json:"alert"`
	Maintenance *WindowNote   `json:"maintenance,omitempty"`
}

// WindowNote is what a notification says of the maintenance window its
// alert is in.
type WindowNote struct {
	ID        string    `json:"id"`
	EndsAt    time.Time `json:"endsAt"`
	CreatedBy string    `json:"createdBy"`
	Comment   string    `json:"comment"`
}

// Alerts returns the alerts the delivery is about: its group, or its one
// alert.
func (it *OutboxItem) Alerts() []ItemAlert {
	if len(it.Group) > 0 {
		return it.Group
	}
	return []ItemAlert{{IncidentID: it.IncidentID, Kind: it.Kind, Alert: it.Alert, Maintenance: it.Maintenance}}
}

// RestartJob is a pending restart for one incident and rule.
type RestartJob struct {
	IncidentID string    `json:"incidentId"`
	Rule       string    `json:"rule"`
	Attempts   int       `json:"attempts"`
	NextAt     time.Time `json:"nextAt"`
	// Running is set, durably, just before the command starts; a job
	// found running at startup was interrupted by a crash.
	Running   bool   `json:"running"`
	Postponed string `json:"postponed,omitempty"`
	// PGID and ProcStart identify the running command's process group
	// (its leader's start time in clock ticks since boot), so that one
	// left behind by a crash can be found and killed at startup.
	PGID      int    `json:"pgid,omitempty"`
	ProcStart uint64 `json:"procStart,omitempty"`
}

// Key is the job's key in the store.
func (j *RestartJob) Key() string { return j.IncidentID + "/" + j.Rule }

// Store is the bbolt-backed database.
type Store struct {
	db   *bolt.DB
	path string

	reqs    chan *batchReq
	done    chan struct{}
	closeMu sync.RWMutex
	closed  bool
}

// Open opens (creating if needed) the database in dir.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	// The freelist is rebuilt at open instead of written at every commit.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, FreelistType: bolt.FreelistMapType, NoFreelistSync: true,
		// Mapping generously up front avoids remaps, which stall all writers.
		InitialMmapSize: 256 << 20})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bIncidents, bMeta, bOutbox, bJobs, bLastRun, bByTime, bFiringByTime, bDead, bMaintenance} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return buildTimeIndex(tx)
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	st := &Store{db: db, path: path, reqs: make(chan *batchReq, 1024), done: make(chan struct{})}
	go st.committer()
	return st, nil
}

// Close closes the database; later calls to Batch fail.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.reqs)
	s.closeMu.Unlock()
	<-s.done
	return s.db.Close()
}

// ErrClosed is returned by Batch after Close.
var ErrClosed = errors.New("store is closed")

type batchReq struct {
	fn  func(*Tx) error
	err chan error
}

// maxBatch bounds one group commit.
const maxBatch = 1000

// committer is the group commit: it applies every request queued while the
// previous commit was being fsynced in one transaction, so concurrent
// writers share one fsync without any artificial delay.
func (s *Store) committer() {
	defer close(s.done)
	for req := range s.reqs {
		batch := []*batchReq{req}
	gather:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break gather
				}
				batch = append(batch, r)
			default:
				break gather
			}
		}
		s.commit(batch)
	}
}

func (s *Store) commit(batch []*batchReq) {
	for len(batch) > 0 {
		failed, ferr := -1, error(nil)
		err := s.db.Update(func(tx *bolt.Tx) error {
			for i, r := range batch {
				if err := r.fn(&Tx{tx}); err != nil {
					failed, ferr = i, err
					return err
				}
			}
			return nil
		})
		if err == nil || failed < 0 {
			// Success, or the commit itself failed: same answer for all.
			for _, r := range batch {
				r.err <- err
			}
			return
		}
		// One request failed: it gets its error, the others run again
		// without it.
		batch[failed].err <- ferr
		batch = append(batch[:failed:failed], batch[failed+1:]...)
	}
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Tx is a read or write transaction with typed accessors.
type Tx struct{ tx *bolt.Tx }

// Batch runs fn in a write transaction shared with concurrent callers, so
// that they pay for one fsync together; it returns once the transaction is
// durable. fn may run more than once and must have no effects outside tx.
func (s *Store) Batch(fn func(*Tx) error) error {
	req := &batchReq{fn: fn, err: make(chan error, 1)}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return ErrClosed
	}
	s.reqs <- req
	s.closeMu.RUnlock()
	return <-req.err
}

// Update runs fn in its own write transaction.
func (s *Store) Update(fn func(*Tx) error) error {
	return s.db.Update(func(tx *bolt.Tx) error { return fn(&Tx{tx}) })
}

// View runs fn in a read transaction.
func (s *Store) View(fn func(*Tx) error) error {
	return s.db.View(func(tx *bolt.Tx) error { return fn(&Tx{tx}) })
}

func get[T any](b *bolt.Bucket, key []byte) (*T, error) {
	v := b.Get(key)
	if v == nil {
		return nil, nil
	}
	return decode[T](key, v)
}

func decode[T any](key, v []byte) (*T, error) {
	var t T
	if err := json.Unmarshal(v, &t); err != nil {
		return nil, fmt.Errorf("corrupt record %q: %w", key, err)
	}
	return &t, nil
}

func put(b *bolt.Bucket, key []byte, v any) error {
	buf, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, buf)
}

// Incident returns the incident id, or nil.
func (t *Tx) Incident(id string) (*Incident, error) {
	return get[Incident](t.tx.Bucket(bIncidents), []byte(id))
}

// PutIncident stores inc, trimming its history to the limits.
func (t *Tx) PutIncident(inc *Incident) error {
	if n := len(inc.Notifications); n > MaxNotifications {
		inc.Notifications = inc.Notifications[n-MaxNotifications:]
	}
	if n := len(inc.Restarts); n > MaxRestarts {
		inc.Restarts = inc.Restarts[n-MaxRestarts:]
	}
	b := t.tx.Bucket(bIncidents)
	old := ""
	if v := b.Get([]byte(inc.ID)); v != nil {
		var prev indexed
		_ = json.Unmarshal(v, &prev)
		old = prev.Status
		if err := t.unindex(inc.ID, prev); err != nil {
			return err
		}
	}
	if err := t.index(inc.ID, indexed{Status: inc.Status, LastSeen: inc.LastSeen}); err != nil {
		return err
	}
	if old != inc.Status {
		if err := t.addCount(old, -1); err != nil {
			return err
		}
		if err := t.addCount(inc.Status, 1); err != nil {
			return err
		}
	}
	return put(b, []byte(inc.ID), inc)
}

// addCount keeps the per-status incident counts, so that metrics need not
// read every incident.
func (t *Tx) addCount(status string, d int64) error {
	if status == "" {
		return nil
	}
	b := t.tx.Bucket(bMeta)
	key := []byte("count/" + status)
	var n int64
	if v := b.Get(key); len(v) == 8 {
		n = int64(binary.BigEndian.Uint64(v))
	}
	return b.Put(key, seqKey(uint64(max(n+d, 0))))
}

// Filter selects incidents; zero fields match everything.
type Filter struct {
	Status    string
	AlertName string
	Since     time.Time // last seen at or after
	Until     time.Time // first seen before
	Limit     int
}

// Incidents returns matching incidents, most recently seen first. It
// walks the time index backwards, so it reads only as many incidents as
// it returns (plus those the other fields of f filter out) and stops at
// f.Since.
func (t *Tx) Incidents(f Filter) ([]*Incident, error) {
	idx := bByTime
	if f.Status == payload.StatusFiring {
		idx = bFiringByTime
	}
	var out []*Incident
	b := t.tx.Bucket(bIncidents)
	c := t.tx.Bucket(idx).Cursor()
	for k, _ := c.Last(); k != nil && (f.Limit <= 0 || len(out) < f.Limit); k, _ = c.Prev() {
		if len(k) < 8 {
			return nil, fmt.Errorf("corrupt time index key %x", k)
		}
		if !f.Since.IsZero() && timeKeyTime(k).Before(f.Since) {
			break
		}
		inc, err := get[Incident](b, k[8:])
		if err != nil {
			return nil, err
		}
		if inc == nil {
			return nil, fmt.Errorf("time index names missing incident %q", k[8:])
		}
		if (f.Status != "" && inc.Status != f.Status) || (f.AlertName != "" && inc.Alert.Labels["alertname"] != f.AlertName) ||
			(!f.Until.IsZero() && !inc.FirstSeen.Before(f.Until)) {
			continue
		}
		out = append(out, inc)
	}
	return out, nil
}

// indexed is the part of a stored incident its index entries derive from.
type indexed struct {
	Status   string    `json:"status"`
	LastSeen time.Time `json:"lastSeen"`
}

func timeKey(at time.Time, id string) []byte {
	return append(seqKey(uint64(at.UnixNano())), id...)
}

func timeKeyTime(k []byte) time.Time { return time.Unix(0, int64(binary.BigEndian.Uint64(k[:8]))) }

func (t *Tx) index(id string, x indexed) error {
	k := timeKey(x.LastSeen, id)
	if err := t.tx.Bucket(bByTime).Put(k, nil); err != nil {
		return err
	}
	if x.Status == payload.StatusFiring {
		return t.tx.Bucket(bFiringByTime).Put(k, nil)
	}
	return nil
}

func (t *Tx) unindex(id string, x indexed) error {
	k := timeKey(x.LastSeen, id)
	if err := t.tx.Bucket(bByTime).Delete(k); err != nil {
		return err
	}
	return t.tx.Bucket(bFiringByTime).Delete(k)
}

// buildTimeIndex indexes the incidents of a store written before the
// time index existed.
func buildTimeIndex(btx *bolt.Tx) error {
	if k, _ := btx.Bucket(bByTime).Cursor().First(); k != nil {
		return nil
	}
	t := &Tx{btx}
	return btx.Bucket(bIncidents).ForEach(func(k, v []byte) error {
		var x indexed
		if err := json.Unmarshal(v, &x); err != nil {
			return fmt.Errorf("corrupt incident %q: %w", k, err)
		}
		return t.index(string(k), x)
	})
}

// CountByStatus returns the number of incidents per status.
func (t *Tx) CountByStatus() map[string]int {
	out := map[string]int{payload.StatusFiring: 0, payload.StatusResolved: 0}
	_ = t.tx.Bucket(bMeta).ForEach(func(k, v []byte) error {
		if st, ok := strings.CutPrefix(string(k), "count/"); ok && len(v) == 8 {
			out[st] = int(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	return out
}

// WatchdogState is the dead man's switch's state, kept across restarts so
// that a restart neither repeats nor forgets a "missing" notification.
type WatchdogState struct {
	// LastSeen is the last arrival of the watchdog alert.
	LastSeen time.Time `json:"lastSeen,omitzero"`
	// Missing is set from the "missing" notification until the "back" one.
	Missing bool `json:"missing,omitempty"`
	// Episode names the outage: the Unix milliseconds of the last arrival
	// before it (shared by replicas through ZooKeeper).
	Episode int64 `json:"episode,omitempty"`
}

var watchdogKey = []byte("watchdog")

// Watchdog returns the stored watchdog state (zero when none).
func (t *Tx) Watchdog() (WatchdogState, error) {
	var w WatchdogState
	v := t.tx.Bucket(bMeta).Get(watchdogKey)
	if v == nil {
		return w, nil
	}
	if err := json.Unmarshal(v, &w); err != nil {
		return w, fmt.Errorf("corrupt watchdog state: %w", err)
	}
	return w, nil
}

// PutWatchdog stores the watchdog state.
func (t *Tx) PutWatchdog(w WatchdogState) error { return put(t.tx.Bucket(bMeta), watchdogKey, w) }

// The outbox is one FIFO queue per notifier: keys are the notifier name,
// a NUL byte and a big-endian sequence number.
func outboxKey(notifier string, seq uint64) []byte {
	return append(append([]byte(notifier), 0), seqKey(seq)...)
}

// Enqueue adds a delivery to its notifier's queue, assigning its sequence
// number.
func (t *Tx) Enqueue(it *OutboxItem) error {
	b := t.tx.Bucket(bOutbox)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	it.Seq = seq
	return put(b, outboxKey(it.Notifier, seq), it)
}

// PutOutbox updates a delivery.
func (t *Tx) PutOutbox(it *OutboxItem) error {
	return put(t.tx.Bucket(bOutbox), outboxKey(it.Notifier, it.Seq), it)
}

// DeleteOutbox removes a delivery.
func (t *Tx) DeleteOutbox(it *OutboxItem) error {
	return t.tx.Bucket(bOutbox).Delete(outboxKey(it.Notifier, it.Seq))
}

// OutboxHeads returns, per notifier with pending deliveries, when the
// earliest of them is due: a failing delivery does not hold back the
// ones behind it.
func (t *Tx) OutboxHeads() (map[string]time.Time, error) {
	out := map[string]time.Time{}
	err := t.tx.Bucket(bOutbox).ForEach(func(k, v []byte) error {
		if len(k) < 9 {
			return fmt.Errorf("corrupt outbox key %x", k)
		}
		name := string(k[:len(k)-9])
		var it struct {
			NextAt time.Time `json:"nextAt"`
		}
		if err := json.Unmarshal(v, &it); err != nil {
			return fmt.Errorf("corrupt outbox item %q: %w", k, err)
		}
		if at, ok := out[name]; !ok || it.NextAt.Before(at) {
			out[name] = it.NextAt
		}
		return nil
	})
	return out, err
}

// OutboxQueue returns up to limit deliveries of one notifier, in order.
func (t *Tx) OutboxQueue(notifier string, limit int) ([]*OutboxItem, error) {
	return t.OutboxQueueFrom(notifier, 0, limit)
}

// OutboxQueueFrom returns up to limit deliveries of one notifier with a
// sequence number of at least from, in order.
func (t *Tx) OutboxQueueFrom(notifier string, from uint64, limit int) ([]*OutboxItem, error) {
	var out []*OutboxItem
	prefix := append([]byte(notifier), 0)
	c := t.tx.Bucket(bOutbox).Cursor()
	for k, v := c.Seek(outboxKey(notifier, from)); k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, v = c.Next() {
		it, err := decode[OutboxItem](k, v)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// Outbox returns all pending deliveries, grouped by notifier.
func (t *Tx) Outbox() ([]*OutboxItem, error) {
	var out []*OutboxItem
	err := t.tx.Bucket(bOutbox).ForEach(func(k, v []byte) error {
		it, err := decode[OutboxItem](k, v)
		if err == nil {
			out = append(out, it)
		}
		return err
	})
	return out, err
}

// OutboxLen counts pending deliveries.
func (t *Tx) OutboxLen() int { return t.tx.Bucket(bOutbox).Stats().KeyN }

// PutJob stores a restart job.
func (t *Tx) PutJob(j *RestartJob) error { return put(t.tx.Bucket(bJobs), []byte(j.Key()), j) }

// Job returns the job for key, or nil.
func (t *Tx) Job(key string) (*RestartJob, error) {
	return get[RestartJob](t.tx.Bucket(bJobs), []byte(key))
}

// DeleteJob removes a restart job.
func (t *Tx) DeleteJob(key string) error { return t.tx.Bucket(bJobs).Delete([]byte(key)) }

// Jobs returns all pending restart jobs.
func (t *Tx) Jobs() ([]*RestartJob, error) {
	var out []*RestartJob
	err := t.tx.Bucket(bJobs).ForEach(func(k, v []byte) error {
		var j RestartJob
		if err := json.Unmarshal(v, &j); err != nil {
			return fmt.Errorf("corrupt restart job %q: %w", k, err)
		}
		out = append(out, &j)
		return nil
	})
	return out, err
}

// LastRun returns when a restart last finished for key (rule/target).
func (t *Tx) LastRun(key string) time.Time {
	v := t.tx.Bucket(bLastRun).Get([]byte(key))
	if len(v) != 8 {
		return time.Time{}
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(v)))
}

// SetLastRun records when a restart finished for key.
func (t *Tx) SetLastRun(key string, at time.Time) error {
	return t.tx.Bucket(bLastRun).Put([]byte(key), seqKey(uint64(at.UnixNano())))
}

func seqKey(n uint64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, n)
	return k
}

// Expire deletes incidents not updated within retention, and with them
// their pending restart jobs. It returns how many incidents it deleted.
// Pending deliveries carry their own copy of the alert and are kept.
func (s *Store) Expire(retention time.Duration, now time.Time) (int, error) {
	cutoff := now.Add(-retention)
	n := 0
	err := s.Update(func(t *Tx) error {
		var old [][]byte
		err := t.tx.Bucket(bIncidents).ForEach(func(k, v []byte) error {
			var inc struct {
				LastSeen   time.Time `json:"lastSeen"`
				ResolvedAt time.Time `json:"resolvedAt"`
			}
			if err := json.Unmarshal(v, &inc); err != nil {
				return err
			}
			last := inc.LastSeen
			if inc.ResolvedAt.After(last) {
				last = inc.ResolvedAt
			}
			if last.Before(cutoff) {
				old = append(old, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		jobs, err := t.Jobs()
		if err != nil {
			return err
		}
		for _, k := range old {
			var x indexed
			_ = json.Unmarshal(t.tx.Bucket(bIncidents).Get(k), &x)
			if err := t.addCount(x.Status, -1); err != nil {
				return err
			}
			if err := t.unindex(string(k), x); err != nil {
				return err
			}
			if err := t.tx.Bucket(bIncidents).Delete(k); err != nil {
				return err
			}
			for _, j := range jobs {
				if j.IncidentID == string(k) {
					if err := t.DeleteJob(j.Key()); err != nil {
						return err
					}
				}
			}
		}
		// Cooldown records older than the retention are of no use.
		c := t.tx.Bucket(bLastRun).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(v) == 8 && time.Unix(0, int64(binary.BigEndian.Uint64(v))).Before(cutoff) {
				if err := c.Delete(); err != nil {
					return err
				}
			}
		}
		n = len(old)
		return t.expireDeadLetters(cutoff)
	})
	return n, err
}

// Size returns the database file size in bytes.
func (s *Store) Size() int64 {
	var n int64
	_ = s.db.View(func(tx *bolt.Tx) error { n = tx.Size(); return nil })
	return n
}

// Compact rewrites the database file in dir without its free pages, which
// bbolt never returns to the file system. It must run while no Store has
// the file open. It is a no-op when less than half the file is free.
func Compact(dir string) (before, after int64, err error) {
	path := filepath.Join(dir, FileName)
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, 0, nil
	} else if err != nil {
		return 0, 0, err
	}
	before = fi.Size()
	src, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return before, before, err
	}
	var free int64
	_ = src.View(func(tx *bolt.Tx) error {
		st := src.Stats()
		free = int64(st.FreePageN+st.PendingPageN) * int64(tx.DB().Info().PageSize)
		return nil
	})
	if free*2 < before {
		return before, before, src.Close()
	}
	tmp := path + ".compact"
	_ = os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, nil)
	if err != nil {
		src.Close()
		return before, before, err
	}
	err = bolt.Compact(dst, src, 64<<20)
	src.Close()
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return before, before, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return before, before, err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	fi, err = os.Stat(path)
	if err != nil {
		return before, 0, err
	}
	return before, fi.Size(), nil
}
