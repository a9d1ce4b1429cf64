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

package ha

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/go-zookeeper/zk"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/internal/zksession"
)

// Claim results, the values of the result label.
const (
	ResultWon         = "won"
	ResultLost        = "lost"
	ResultPending     = "pending"
	ResultTakenOver   = "taken_over"
	ResultUnavailable = "unavailable"
	ResultFailOpen    = "fail_open"
)

var results = []string{ResultWon, ResultLost, ResultPending, ResultTakenOver, ResultUnavailable, ResultFailOpen}

// OutcomeAbandoned is recorded on a claim whose owner's session ended
// before it recorded an outcome, when a replica claims the next attempt.
const OutcomeAbandoned = "abandoned"

// leaseNode is the ephemeral child of a claim held by its owner's session.
const leaseNode = "lease"

// Options configure a Claimer.
type Options struct {
	Session zksession.Options
	// Path is the root of the receiver's nodes (claims go under Path/claims).
	Path string
	// Replica is this replica's name; it must differ between replicas.
	Replica string
	// ACL of the nodes created (default: open).
	ACL []zk.ACL
	// OpTimeout bounds one claim or record (default: the session timeout).
	OpTimeout time.Duration
	Logger    log.Logger
}

// claimData is the content of a claim node.
type claimData struct {
	Owner     string    `json:"owner"`
	Session   string    `json:"session"`
	Claimed   time.Time `json:"claimed"`
	Outcome   string    `json:"outcome,omitempty"`
	Recorded  time.Time `json:"recorded,omitzero"`
	TakenOver string    `json:"takenOverFrom,omitempty"`
	// Detail is the owner's record of the action (RecordDetail).
	Detail json.RawMessage `json:"detail,omitempty"`
}

// pendingRecord is an outcome waiting for ZooKeeper.
type pendingRecord struct{ outcome, detail string }

// Claimer is the ZooKeeper Coordinator.
type Claimer struct {
	opts   Options
	m      *zksession.Manager
	logger log.Logger
	acl    []zk.ACL
	root   string // claims
	clock  string // the watchdog's shared last arrival

	claims    *prometheus.CounterVec
	connected prometheus.Gauge

	mu        sync.Mutex
	pending   map[Key]pendingRecord // outcomes not yet recorded
	downSince time.Time
	checked   int64 // the session under which checkRoot passed
	wake      chan struct{}
	done      chan struct{}
	stopped   chan struct{}
}

// New validates the options and registers the metrics on reg; Start
// connects.
func New(opts Options, reg prometheus.Registerer) (*Claimer, error) {
	if opts.Replica == "" {
		return nil, errors.New("ha: a replica name is required")
	}
	if strings.Contains(opts.Replica, "\n") {
		return nil, fmt.Errorf("ha: replica name %q contains a newline", opts.Replica)
	}
	if err := zksession.ValidatePath(opts.Path); err != nil || opts.Path == "/" {
		return nil, fmt.Errorf("ha: path %q: must be an absolute znode path other than / (%v)", opts.Path, err)
	}
	if opts.ACL == nil {
		opts.ACL = zk.WorldACL(zk.PermAll)
	}
	if opts.Logger == nil {
		opts.Logger = log.NewNopLogger()
	}
	opts.Session.Logger = log.With(opts.Logger, "component", "ha")
	if opts.OpTimeout <= 0 {
		opts.OpTimeout = opts.Session.SessionTimeout
	}
	m, err := zksession.New(opts.Session)
	if err != nil {
		return nil, fmt.Errorf("ha: %w", err)
	}
	c := &Claimer{opts: opts, m: m, logger: opts.Session.Logger, acl: opts.ACL,
		root: m.Path(opts.Path) + "/claims", clock: m.Path(opts.Path) + "/watchdog", pending: map[Key]pendingRecord{}, downSince: time.Now(),
		wake: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{}),
		claims: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "zkwatch_receiver", Subsystem: "ha", Name: "claims_total",
			Help: "Claims of restart attempts and notifications by result: won (this replica acts), lost (another replica acted), pending (another replica is acting), taken_over (the owner's session ended before it recorded an outcome), unavailable (no ZooKeeper session), fail_open (a notification sent without a claim).",
		}, []string{"result"}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "zkwatch_receiver", Subsystem: "ha", Name: "connected",
			Help: "1 when the replica has a live ZooKeeper session for coordination, else 0.",
		}),
	}
	for _, r := range results {
		c.claims.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(c.claims, c.connected)
	}
	return c, nil
}

// Start opens the session and starts recording outcomes in the background.
func (c *Claimer) Start() error {
	c.m.Subscribe(c)
	if err := c.m.Start(); err != nil {
		return fmt.Errorf("ha: %w", err)
	}
	go c.flushLoop()
	return nil
}

// Close stops the background work and ends the session: the leases of
// claims without an outcome vanish with it.
func (c *Claimer) Close() {
	close(c.done)
	<-c.stopped
	c.flush() // outcomes recorded during shutdown
	c.m.Close()
}

// Replica implements Coordinator.
func (c *Claimer) Replica() string { return c.opts.Replica }

// Connected reports whether the session is live.
func (c *Claimer) Connected() bool { return c.m.State().Live() }

// NodeEvent implements zksession.Listener.
func (c *Claimer) NodeEvent(zk.Event) {}

// SessionEvent implements zksession.Listener.
func (c *Claimer) SessionEvent(ev zksession.SessionEvent) {
	c.mu.Lock()
	if ev.State.Live() {
		c.downSince = time.Time{}
	} else if c.downSince.IsZero() {
		c.downSince = time.Now()
	}
	c.mu.Unlock()
	if ev.State.Live() {
		c.connected.Set(1)
		select {
		case c.wake <- struct{}{}:
		default:
		}
		return
	}
	c.connected.Set(0)
}

// DownSince implements Coordinator.
func (c *Claimer) DownSince() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.downSince
}

// FailOpen implements Coordinator.
func (c *Claimer) FailOpen() { c.claims.WithLabelValues(ResultFailOpen).Inc() }

// do runs fn against the connection, bounded by the operation timeout and
// ctx: a request made while disconnected waits for a connection.
func (c *Claimer) do(ctx context.Context, fn func(conn *zk.Conn) error) error {
	if !c.Connected() {
		return ErrUnavailable
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.OpTimeout)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		if err := c.checkRoot(c.m.Conn()); err != nil {
			errc <- err
			return
		}
		errc <- fn(c.m.Conn())
	}()
	select {
	case err := <-errc:
		if errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrNoServer) || errors.Is(err, zk.ErrSessionExpired) {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		return err
	case <-ctx.Done():
		return fmt.Errorf("%w: %v", ErrUnavailable, ctx.Err())
	}
}

// Claim implements Coordinator. Attempt n+1 of an action is claimed only
// once attempt n has an outcome or its owner's session is gone.
func (c *Claimer) Claim(ctx context.Context, k Key) (Result, error) {
	var res Result
	err := c.do(ctx, func(conn *zk.Conn) error {
		if k.Attempt > 1 {
			prev := k
			prev.Attempt--
			r, pending, err := c.previousPending(conn, prev)
			if err != nil || pending || (k.UntilSuccess && r.Outcome == OutcomeSuccess) {
				res = r
				return err
			}
		}
		var err error
		res, err = c.claim(conn, k)
		return err
	})
	switch {
	case err != nil:
		c.claims.WithLabelValues(ResultUnavailable).Inc()
		return Result{}, err
	case res.Won && res.TakenOver != "":
		c.claims.WithLabelValues(ResultTakenOver).Inc()
	case res.Won:
		c.claims.WithLabelValues(ResultWon).Inc()
	case res.Pending():
		c.claims.WithLabelValues(ResultPending).Inc()
	default:
		c.claims.WithLabelValues(ResultLost).Inc()
	}
	return res, nil
}

func (c *Claimer) claimPath(k Key) string {
	return c.root + "/" + k.Incident + "/" + k.node()
}

// errNoClaim: the claim node does not exist.
var errNoClaim = errors.New("no claim")

// errChanged: the claim changed while it was being taken over.
var errChanged = errors.New("claim changed")

// claim creates the claim and its lease at once, or reports the claim as
// it stands, taking it over when its owner's session is gone.
func (c *Claimer) claim(conn *zk.Conn, k Key) (Result, error) {
	p := c.claimPath(k)
	if err := c.ensure(conn, path.Dir(p)); err != nil {
		return Result{}, err
	}
	for try := 0; try < 3; try++ {
		data, _ := json.Marshal(claimData{Owner: c.opts.Replica, Session: c.session(conn), Claimed: time.Now().UTC()})
		err := multi(conn.Multi(
			&zk.CreateRequest{Path: p, Data: data, Acl: c.acl},
			&zk.CreateRequest{Path: p + "/" + leaseNode, Data: []byte(c.opts.Replica), Acl: c.acl, Flags: zk.FlagEphemeral}))
		if err == nil {
			return Result{Won: true, Owner: c.opts.Replica}, nil
		}
		if !errors.Is(err, zk.ErrNodeExists) {
			return Result{}, err
		}
		res, err := c.inspect(conn, p, true)
		if !errors.Is(err, errNoClaim) && !errors.Is(err, errChanged) {
			return res, err
		}
	}
	return Result{}, fmt.Errorf("claim %s: contended", p)
}

// previousPending reports whether the claim of k (the previous attempt)
// is held by a live owner that has not recorded an outcome; a claim whose
// owner's session ended first is marked abandoned.
func (c *Claimer) previousPending(conn *zk.Conn, k Key) (Result, bool, error) {
	p := c.claimPath(k)
	for try := 0; try < 3; try++ {
		res, err := c.inspect(conn, p, false)
		switch {
		case errors.Is(err, errNoClaim):
			return Result{}, false, nil
		case errors.Is(err, errChanged):
			continue
		case err != nil:
			return Result{}, false, err
		}
		return res, res.Pending(), nil
	}
	return Result{}, false, fmt.Errorf("claim %s: contended", p)
}

// inspect reads an existing claim. A claim with no outcome and no lease is
// taken over when takeOver is set, else marked abandoned.
func (c *Claimer) inspect(conn *zk.Conn, p string, takeOver bool) (Result, error) {
	raw, st, err := conn.Get(p)
	if errors.Is(err, zk.ErrNoNode) {
		return Result{}, errNoClaim
	}
	if err != nil {
		return Result{}, err
	}
	if ok, err := c.trusted(conn, p); err != nil || !ok {
		return Result{}, cmp.Or(err, errChanged)
	}
	var d claimData
	if err := json.Unmarshal(raw, &d); err != nil {
		return Result{}, fmt.Errorf("claim %s: %w", p, err)
	}
	if d.Outcome != "" {
		return Result{Owner: d.Owner, Outcome: d.Outcome, Detail: d.Detail}, nil
	}
	ok, lst, err := conn.Exists(p + "/" + leaseNode)
	if err != nil {
		return Result{}, err
	}
	if ok {
		return Result{Won: lst.EphemeralOwner == conn.SessionID(), Owner: d.Owner}, nil
	}
	prev := d.Owner
	now := time.Now().UTC()
	if takeOver {
		d.Owner, d.Session, d.Claimed, d.TakenOver = c.opts.Replica, c.session(conn), now, prev
	} else {
		d.Outcome, d.Recorded = OutcomeAbandoned, now
	}
	data, _ := json.Marshal(d)
	ops := []interface{}{&zk.SetDataRequest{Path: p, Data: data, Version: st.Version}}
	if takeOver {
		ops = append(ops, &zk.CreateRequest{Path: p + "/" + leaseNode, Data: []byte(c.opts.Replica), Acl: c.acl, Flags: zk.FlagEphemeral})
	}
	err = multi(conn.Multi(ops...))
	if errors.Is(err, zk.ErrBadVersion) || errors.Is(err, zk.ErrNodeExists) || errors.Is(err, zk.ErrNoNode) {
		return Result{}, errChanged
	}
	if err != nil {
		return Result{}, err
	}
	level.Warn(c.logger).Log("msg", "claim's owner session ended before it recorded an outcome", "claim", p, "owner", prev, "taken_over", takeOver)
	if !takeOver {
		return Result{Owner: prev, Outcome: OutcomeAbandoned}, nil
	}
	return Result{Won: true, Owner: c.opts.Replica, TakenOver: prev}, nil
}

// Record implements Coordinator.
func (c *Claimer) Record(k Key, outcome string) { c.RecordDetail(k, outcome, nil) }

// RecordDetail implements Coordinator: the outcome is written (and the
// lease dropped) at once, so that the other replicas stop waiting; while
// ZooKeeper is unavailable it is kept and written after reconnecting.
func (c *Claimer) RecordDetail(k Key, outcome string, detail []byte) {
	rec := pendingRecord{outcome, string(detail)}
	err := c.do(context.Background(), func(conn *zk.Conn) error { return c.record(conn, k, rec) })
	if err == nil {
		return
	}
	if !errors.Is(err, ErrUnavailable) {
		level.Error(c.logger).Log("msg", "recording claim outcome", "incident", k.Incident, "action", k.Action, "attempt", k.Attempt, "err", err)
		return
	}
	c.mu.Lock()
	c.pending[k] = rec
	c.mu.Unlock()
}

func (c *Claimer) flushLoop() {
	defer close(c.stopped)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-c.wake:
		case <-t.C:
		}
		c.flush()
	}
}

func (c *Claimer) flush() {
	c.mu.Lock()
	batch := make(map[Key]pendingRecord, len(c.pending))
	for k, o := range c.pending {
		batch[k] = o
	}
	c.mu.Unlock()
	for k, o := range batch {
		err := c.do(context.Background(), func(conn *zk.Conn) error { return c.record(conn, k, o) })
		if errors.Is(err, ErrUnavailable) {
			return
		}
		if err != nil {
			level.Error(c.logger).Log("msg", "recording claim outcome", "incident", k.Incident, "action", k.Action, "attempt", k.Attempt, "err", err)
		}
		c.mu.Lock()
		if c.pending[k] == o {
			delete(c.pending, k)
		}
		c.mu.Unlock()
	}
}

// record writes the outcome on a claim this replica owns and deletes its
// lease, in one multi-op.
func (c *Claimer) record(conn *zk.Conn, k Key, rec pendingRecord) error {
	outcome := rec.outcome
	p := c.claimPath(k)
	raw, st, err := conn.Get(p)
	if err != nil {
		return err
	}
	var d claimData
	if err := json.Unmarshal(raw, &d); err != nil {
		return fmt.Errorf("claim %s: %w", p, err)
	}
	if d.Owner != c.opts.Replica || d.Outcome != "" {
		return fmt.Errorf("claim %s is %s's (outcome %q) now, not recording %q", p, d.Owner, d.Outcome, outcome)
	}
	d.Outcome, d.Recorded = outcome, time.Now().UTC()
	if json.Valid([]byte(rec.detail)) {
		d.Detail = json.RawMessage(rec.detail)
	}
	data, _ := json.Marshal(d)
	ops := []interface{}{&zk.SetDataRequest{Path: p, Data: data, Version: st.Version}}
	if ok, lst, err := conn.Exists(p + "/" + leaseNode); err != nil {
		return err
	} else if ok && lst.EphemeralOwner == conn.SessionID() {
		ops = append(ops, &zk.DeleteRequest{Path: p + "/" + leaseNode, Version: -1})
	}
	return multi(conn.Multi(ops...))
}

// ensure creates p and its parents.
func (c *Claimer) ensure(conn *zk.Conn, p string) error {
	if ok, _, err := conn.Exists(p); err != nil || ok {
		return err
	}
	cur := ""
	for _, part := range strings.Split(strings.Trim(p, "/"), "/") {
		cur += "/" + part
		if _, err := conn.Create(cur, nil, 0, c.acl); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return fmt.Errorf("creating %s: %w", cur, err)
		}
	}
	return nil
}

func (c *Claimer) session(conn *zk.Conn) string { return fmt.Sprintf("0x%x", conn.SessionID()) }

// multi returns the error of the operation that failed a multi-op.
func multi(res []zk.MultiResponse, err error) error {
	for _, r := range res {
		// Operations after the failing one report "runtime inconsistency"
		// (-2), which the client does not name.
		if r.Error != nil && !strings.HasSuffix(r.Error.Error(), ": -2") {
			return r.Error
		}
	}
	return err
}

// Cleanup implements Coordinator. An incident's claims go once the newest
// of them was last written before olderThan (the store's retention).
func (c *Claimer) Cleanup(olderThan time.Time) (int, error) {
	n := 0
	err := c.do(context.Background(), func(conn *zk.Conn) error {
		incidents, _, err := conn.Children(c.root)
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, inc := range incidents {
			p := c.root + "/" + inc
			old, err := c.allOlder(conn, p, olderThan)
			if err != nil {
				return err
			}
			if old {
				if err := deleteTree(conn, p); err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
	return n, err
}

// allOlder reports whether p and its children were last written before t.
func (c *Claimer) allOlder(conn *zk.Conn, p string, t time.Time) (bool, error) {
	claims, st, err := conn.Children(p)
	if err != nil {
		return false, ignoreNoNode(err)
	}
	if time.UnixMilli(st.Mtime).After(t) {
		return false, nil
	}
	for _, cl := range claims {
		_, cst, err := conn.Exists(p + "/" + cl)
		if err != nil {
			return false, err
		}
		if cst != nil && time.UnixMilli(cst.Mtime).After(t) {
			return false, nil
		}
	}
	return true, nil
}

// deleteTree deletes p and everything under it.
func deleteTree(conn *zk.Conn, p string) error {
	children, _, err := conn.Children(p)
	if err != nil {
		return ignoreNoNode(err)
	}
	for _, ch := range children {
		if err := deleteTree(conn, p+"/"+ch); err != nil {
			return err
		}
	}
	return ignoreNoNode(conn.Delete(p, -1))
}

func ignoreNoNode(err error) error {
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	return err
}

// WatchdogSeen implements WatchdogClock: the node holds the latest
// arrival in Unix milliseconds and only ever moves forward.
func (c *Claimer) WatchdogSeen(t time.Time) error {
	ms := []byte(strconv.FormatInt(t.UnixMilli(), 10))
	return c.do(context.Background(), func(conn *zk.Conn) error {
		for try := 0; try < 3; try++ {
			cur, st, err := c.readClock(conn)
			switch {
			case errors.Is(err, zk.ErrNoNode):
				if err := c.ensure(conn, path.Dir(c.clock)); err != nil {
					return err
				}
				_, err = conn.Create(c.clock, ms, 0, c.acl)
			case err != nil:
				return err
			case !t.Truncate(time.Millisecond).After(cur):
				return nil
			default:
				_, err = conn.Set(c.clock, ms, st.Version)
			}
			if !errors.Is(err, zk.ErrNodeExists) && !errors.Is(err, zk.ErrBadVersion) {
				return err
			}
		}
		return fmt.Errorf("watchdog clock %s: contended", c.clock)
	})
}

// WatchdogLastSeen implements WatchdogClock; zero when no replica has
// seen the alert.
func (c *Claimer) WatchdogLastSeen() (time.Time, error) {
	var t time.Time
	err := c.do(context.Background(), func(conn *zk.Conn) error {
		var err error
		t, _, err = c.readClock(conn)
		return ignoreNoNode(err)
	})
	return t, err
}

func (c *Claimer) readClock(conn *zk.Conn) (time.Time, *zk.Stat, error) {
	raw, st, err := conn.Get(c.clock)
	if err != nil {
		return time.Time{}, nil, err
	}
	ms, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("watchdog clock %s: %w", c.clock, err)
	}
	return time.UnixMilli(ms), st, nil
}

// Publish implements Journal: without final, only a node without a
// description gets data, so that a late first publication cannot undo a
// final one.
func (c *Claimer) Publish(incident string, data []byte, final bool) error {
	p := c.root + "/" + incident
	return c.do(context.Background(), func(conn *zk.Conn) error {
		if err := c.ensure(conn, p); err != nil {
			return err
		}
		version := int32(-1)
		if !final {
			cur, st, err := conn.Get(p)
			if err != nil || len(cur) > 0 {
				return err
			}
			version = st.Version
		}
		_, err := conn.Set(p, data, version)
		if errors.Is(err, zk.ErrBadVersion) {
			return nil // published by another replica meanwhile
		}
		return err
	})
}

// Incidents implements Journal.
func (c *Claimer) Incidents() ([]string, error) {
	var ids []string
	err := c.do(context.Background(), func(conn *zk.Conn) error {
		var err error
		ids, _, err = conn.Children(c.root)
		return ignoreNoNode(err)
	})
	return ids, err
}

// Incident implements Journal.
func (c *Claimer) Incident(id string) ([]byte, []ClaimRecord, error) {
	var (
		data   []byte
		claims []ClaimRecord
	)
	p := c.root + "/" + id
	err := c.do(context.Background(), func(conn *zk.Conn) error {
		var err error
		if data, _, err = conn.Get(p); err != nil {
			return err
		}
		names, _, err := conn.Children(p)
		if err != nil {
			return err
		}
		for _, name := range names {
			raw, _, err := conn.Get(p + "/" + name)
			if errors.Is(err, zk.ErrNoNode) {
				continue
			}
			if err != nil {
				return err
			}
			if r, ok := claimRecord(name, raw); ok {
				claims = append(claims, r)
			}
		}
		return nil
	})
	return data, claims, err
}

// claimRecord parses a claim node's name (escaped action, dash, attempt)
// and content.
func claimRecord(name string, raw []byte) (ClaimRecord, bool) {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return ClaimRecord{}, false
	}
	action, err := url.PathUnescape(name[:i])
	attempt, aerr := strconv.Atoi(name[i+1:])
	var d claimData
	if err != nil || aerr != nil || json.Unmarshal(raw, &d) != nil {
		return ClaimRecord{}, false
	}
	return ClaimRecord{Action: action, Attempt: attempt, Owner: d.Owner, Outcome: d.Outcome, Recorded: d.Recorded, Detail: d.Detail}, true
}
