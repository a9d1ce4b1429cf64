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

// Package zksession manages one ZooKeeper session, as the exporter's watch
// collectors and the agent keep it: Curator-style connection states, digest
// auth, chroot, TLS, the negotiated timeout and the time of the server's
// last reply (for fencing), and the dispatch of watch events to the caches
// that asked for them.
package zksession

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/go-zookeeper/zk"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/internal/discovery"
	"github.com/zkwatch/zkwatch/internal/zktls"
)

// State is a connection state in Curator's model.
type State int

// The states, in the order of the state label values.
const (
	// Connected: the first session is established.
	Connected State = iota
	// Suspended: the connection is lost; the session may still be alive.
	Suspended
	// Reconnected: a connection is back after a suspension or a loss, in the
	// same session or (after a loss) a new one.
	Reconnected
	// Lost: the session expired, or the connection has been down longer
	// than the session timeout. Watches are gone.
	Lost
	// Idle is the state before the first session (not exposed as a label).
	Idle
)

var stateNames = [...]string{"connected", "suspended", "reconnected", "lost", "idle"}

func (s State) String() string { return stateNames[s] }

// Live reports whether the state has a usable session.
func (s State) Live() bool { return s == Connected || s == Reconnected }

// SessionEvent tells a Listener about a state transition.
type SessionEvent struct {
	State State
	// NewSession is set on Connected and Reconnected when the session is a
	// new one (the first, or one after an expiry): every watch must be set
	// again.
	NewSession bool
}

// Listener receives node events under the paths it subscribed to, and every
// session transition. Its methods are called from the manager's dispatch
// goroutine and must not block.
type Listener interface {
	NodeEvent(ev zk.Event)
	SessionEvent(ev SessionEvent)
}

// OrderedListener is a Listener that also wants each node event's place in
// the session's stream of replies (see Manager.EventSeq). When a listener
// implements it, NodeEventAt is called instead of NodeEvent.
type OrderedListener interface {
	Listener
	NodeEventAt(ev zk.Event, seq uint64)
}

// Options configure a Manager.
type Options struct {
	// Servers are host:port entries, or dns+NAME:PORT and dnssrv+NAME
	// entries looked up through Resolver when the session starts and
	// again when it reconnects (see dnsHosts).
	Servers []string
	// Resolver looks up the DNS entries of Servers (nil: the system's).
	Resolver       *net.Resolver
	SessionTimeout time.Duration
	// Chroot is prepended to every path given to Path.
	Chroot string
	// Digest holds "user:password" pairs added with the digest scheme.
	Digest []string
	// MaxBufferSize bounds one response packet (0: 16 MiB).
	MaxBufferSize int
	// SendBufferSize is the size of the buffer requests are encoded in,
	// which bounds one request (0: the client's default, 1.5 MiB). A
	// session that only reads and watches needs far less: its largest
	// request is the client's re-sending of watches after a reconnection,
	// in batches of 128 KiB of paths.
	SendBufferSize int
	// TLS, when set, makes every connection speak TLS (the members'
	// secureClientPort), through zk.WithDialer(zktls.Dialer(TLS)).
	TLS *tls.Config
	// OnExpired, when set, is called on every session expiry.
	OnExpired func()
	Logger    log.Logger
}

// Validate checks the options without connecting.
func (o *Options) Validate() error {
	if len(o.Servers) == 0 {
		return errors.New("no ZooKeeper servers")
	}
	if usesDNS(o.Servers) {
		if _, err := discovery.ParseList(o.Servers); err != nil {
			return err
		}
	}
	if o.SessionTimeout <= 0 {
		return fmt.Errorf("session timeout must be positive, got %s", o.SessionTimeout)
	}
	if o.Chroot != "" {
		if o.Chroot == "/" || ValidatePath(o.Chroot) != nil {
			return fmt.Errorf("chroot %q must be an absolute path without a trailing slash", o.Chroot)
		}
	}
	for _, d := range o.Digest {
		if i := strings.IndexByte(d, ':'); i <= 0 {
			return errors.New("digest credentials must read user:password")
		}
	}
	return nil
}

// Manager owns one ZooKeeper session.
type Manager struct {
	opts   Options
	logger log.Logger
	conn   *zk.Conn
	// inflight bounds the reads the caches have in flight together.
	inflight chan struct{}

	qmu    sync.Mutex
	queue  []queuedEvent
	seq    atomic.Uint64 // events received so far (see EventSeq)
	wake   chan struct{}
	done   chan struct{}
	closed chan struct{}

	// Written by the connection wrapper (see liveConn).
	negotiated atomic.Int64 // session timeout granted by the server, ns
	lastReply  atomic.Int64 // when the server last sent bytes, Unix ns
	authSent   bool         // digest credentials added (dispatch goroutine only)

	mu          sync.RWMutex
	state       State
	sessionID   int64
	past        map[int64]bool // earlier sessions of this manager
	suspendedAt time.Time
	lostTimer   *time.Timer
	listeners   map[string][]Listener // by full path
	all         []Listener            // every Listener, for session events
	expirations float64
	reconnects  float64
	events      map[string]float64
}

var (
	stateDesc = prometheus.NewDesc("zookeeper_exporter_session_state",
		"Current state of the exporter's watch session (Curator model), the least healthy one with several: 1 for the current state. connected and reconnected both mean a live session.",
		[]string{"state"}, nil)
	expirationsDesc = prometheus.NewDesc("zookeeper_exporter_session_expirations_total",
		"Sessions of the exporter that expired (every watch was lost and re-set); with several watch sessions, the most any one of them had.", nil, nil)
	reconnectsDesc = prometheus.NewDesc("zookeeper_exporter_reconnects_total",
		"Times the exporter's watch session connected again after a suspension or a loss; with several watch sessions, the most any one of them had.", nil, nil)
	eventsDesc = prometheus.NewDesc("zookeeper_exporter_watch_events_total",
		"Watch events received from ZooKeeper, by type.", []string{"type"}, nil)
)

// Event type label values, in a fixed order so that every series exists.
var eventTypes = map[zk.EventType]string{
	zk.EventNodeCreated:         "created",
	zk.EventNodeDeleted:         "deleted",
	zk.EventNodeDataChanged:     "data_changed",
	zk.EventNodeChildrenChanged: "children_changed",
	zk.EventNotWatching:         "not_watching",
}

// MaxInflight bounds concurrent reads on the session (see Acquire): the
// server serves a session's requests in order, so more only costs
// goroutines and memory.
const MaxInflight = 256

// Acquire waits for a read slot; call the returned function to free it.
func (m *Manager) Acquire() func() {
	m.inflight <- struct{}{}
	return func() { <-m.inflight }
}

// New validates the options; it does not connect (see Start).
func New(opts Options) (*Manager, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.MaxBufferSize == 0 {
		opts.MaxBufferSize = 16 << 20
	}
	if opts.Logger == nil {
		opts.Logger = log.NewNopLogger()
	}
	m := &Manager{
		opts:      opts,
		logger:    opts.Logger,
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
		closed:    make(chan struct{}),
		state:     Idle,
		listeners: map[string][]Listener{},
		past:      map[int64]bool{},
		events:    map[string]float64{},
		inflight:  make(chan struct{}, MaxInflight),
	}
	for _, name := range eventTypes {
		m.events[name] = 0
	}
	return m, nil
}

// Logger adapts a go-kit logger to go-zookeeper's: the client's messages
// are logged at debug level.
func Logger(l log.Logger) zk.Logger { return zkLogger{l} }

type zkLogger struct{ l log.Logger }

func (z zkLogger) Printf(format string, args ...interface{}) {
	level.Debug(z.l).Log("msg", fmt.Sprintf(format, args...))
}

// Start opens the session in the background. It returns at once; listeners
// learn of the session through SessionEvent.
func (m *Manager) Start() error {
	dial := func(network, address string, timeout time.Duration) (net.Conn, error) {
		return net.DialTimeout(network, address, timeout)
	}
	if m.opts.TLS != nil {
		dial = zktls.Dialer(m.opts.TLS)
	}
	// The client's option type is not exported: WithLogInfo(false), given
	// anyway, stands in when the send buffer keeps its default.
	sendBuffer := zk.WithLogInfo(false)
	if m.opts.SendBufferSize > 0 {
		sendBuffer = zk.WithMaxConnBufferSize(m.opts.SendBufferSize)
	}
	// The client's option type is not exported either: WithLogInfo(false)
	// stands in when the default host provider is kept.
	hosts := zk.WithLogInfo(false)
	if usesDNS(m.opts.Servers) {
		h, err := newDNSHosts(m.opts.Servers, m.opts.Resolver, m.logger)
		if err != nil {
			return err
		}
		hosts = zk.WithHostProvider(h)
	}
	conn, _, err := zk.Connect(m.opts.Servers, m.opts.SessionTimeout,
		zk.WithLogger(Logger(log.With(m.logger, "component", "zk"))),
		zk.WithLogInfo(false),
		hosts,
		zk.WithMaxBufferSize(m.opts.MaxBufferSize),
		zk.WithDialer(m.liveDialer(dial)),
		zk.WithEventCallback(m.enqueue),
		sendBuffer)
	if err != nil {
		return err
	}
	m.conn = conn
	go m.dispatch()
	return nil
}

// Conn returns the client. Valid after Start.
func (m *Manager) Conn() *zk.Conn { return m.conn }

// Path maps a configured path to the server path under the chroot.
func (m *Manager) Path(p string) string {
	if m.opts.Chroot == "" {
		return p
	}
	if p == "/" {
		return m.opts.Chroot
	}
	return m.opts.Chroot + p
}

// State returns the current state.
func (m *Manager) State() State {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.state
}

// Subscribe registers l for node events on the given server paths (events
// on a path go to the listeners of the path and of its parent) and for
// session events. The returned function unsubscribes. A listener that
// subscribes while a session is live gets a Connected event at once.
func (m *Manager) Subscribe(l Listener, paths ...string) func() {
	m.mu.Lock()
	for _, p := range paths {
		m.listeners[p] = append(m.listeners[p][:len(m.listeners[p]):len(m.listeners[p])], l)
	}
	m.all = append(m.all[:len(m.all):len(m.all)], l)
	live := m.state.Live()
	m.mu.Unlock()
	if live {
		l.SessionEvent(SessionEvent{State: Connected, NewSession: true})
	}
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, p := range paths {
			m.listeners[p] = remove(m.listeners[p], l)
			if len(m.listeners[p]) == 0 {
				delete(m.listeners, p)
			}
		}
		m.all = remove(m.all, l)
	}
}

// remove returns ls without l in a new slice: the dispatcher may be
// iterating the old one.
func remove(ls []Listener, l Listener) []Listener {
	out := make([]Listener, 0, len(ls))
	for _, x := range ls {
		if x != l {
			out = append(out, x)
		}
	}
	return out
}

// queuedEvent is an event and its sequence number.
type queuedEvent struct {
	ev  zk.Event
	seq uint64
}

// EventSeq returns the number of events the client has received so far.
// The client takes events in by the connection's read loop, in the order
// the server sent them among the replies, and numbers them as it does; so
// for a request R and an event numbered s:
//   - if EventSeq() read before R was sent is at least s, the server sent
//     the event before it got R: R's reply shows the server's state after
//     the change the event reports;
//   - if EventSeq() read after R's reply came back is below s, the server
//     sent the event after R's reply.
//
// Between the two, the order is not known.
func (m *Manager) EventSeq() uint64 { return m.seq.Load() }

// enqueue is the client's event callback: it must not block, so events go
// to an unbounded queue drained by dispatch, in order. It runs in the
// client's read loop, before any later reply is handed over.
func (m *Manager) enqueue(ev zk.Event) {
	m.qmu.Lock()
	m.queue = append(m.queue, queuedEvent{ev: ev, seq: m.seq.Add(1)})
	m.qmu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// lostEvent is queued by the suspension timer.
const lostEvent zk.EventType = -1000

func (m *Manager) dispatch() {
	defer close(m.closed)
	var batch []queuedEvent
	for {
		select {
		case <-m.done:
			return
		case <-m.wake:
		}
		m.qmu.Lock()
		batch, m.queue = m.queue, batch[:0]
		m.qmu.Unlock()
		for _, q := range batch {
			if q.ev.Type == zk.EventSession || q.ev.Type == lostEvent {
				m.session(q.ev)
				continue
			}
			m.node(q.ev, q.seq)
		}
		clear(batch)
	}
}

func (m *Manager) node(ev zk.Event, seq uint64) {
	m.mu.Lock()
	if name, ok := eventTypes[ev.Type]; ok {
		m.events[name]++
	}
	if ev.Type == zk.EventNotWatching {
		// Sent once per lost watch on expiry; the Lost transition covers it.
		m.mu.Unlock()
		return
	}
	ls := m.listeners[ev.Path]
	var parent []Listener
	if ev.Path != "/" {
		parent = m.listeners[path.Dir(ev.Path)]
	}
	m.mu.Unlock()
	for _, l := range ls {
		deliver(l, ev, seq)
	}
	for _, l := range parent {
		deliver(l, ev, seq)
	}
}

func deliver(l Listener, ev zk.Event, seq uint64) {
	if o, ok := l.(OrderedListener); ok {
		o.NodeEventAt(ev, seq)
		return
	}
	l.NodeEvent(ev)
}

func (m *Manager) session(ev zk.Event) {
	if ev.State == zk.StateHasSession && !m.authSent && len(m.opts.Digest) > 0 {
		// Before the state turns live, so that no one creates a node with
		// a creator ACL before the identity is known.
		m.authSent = m.addAuth()
	}
	m.mu.Lock()
	var out *SessionEvent
	switch {
	case ev.Type == lostEvent:
		if m.state == Suspended && time.Since(m.suspendedAt) >= m.Timeout() {
			m.state = Lost
			out = &SessionEvent{State: Lost}
			level.Warn(m.logger).Log("msg", "ZooKeeper session presumed lost: disconnected longer than the session timeout", "timeout", m.Timeout())
		}
	case ev.State == zk.StateHasSession:
		sid := m.conn.SessionID()
		newSession := sid != m.sessionID
		if newSession && m.sessionID != 0 {
			m.past[m.sessionID] = true
		}
		if m.state == Idle {
			m.state = Connected
		} else {
			m.state = Reconnected
			m.reconnects++
		}
		m.sessionID = sid
		m.stopTimer()
		out = &SessionEvent{State: m.state, NewSession: newSession}
		level.Info(m.logger).Log("msg", "ZooKeeper session "+m.state.String(), "session", SessionHex(sid), "server", ev.Server,
			"new_session", newSession, "timeout", m.Timeout())
	case ev.State == zk.StateExpired:
		m.expirations++
		if m.sessionID != 0 {
			m.past[m.sessionID] = true
		}
		if m.opts.OnExpired != nil {
			m.opts.OnExpired()
		}
		m.stopTimer()
		level.Warn(m.logger).Log("msg", "ZooKeeper session expired; watches will be set again on a new session")
		if m.state != Lost {
			m.state = Lost
			out = &SessionEvent{State: Lost}
		}
	case ev.State == zk.StateDisconnected:
		if m.state.Live() {
			m.state = Suspended
			m.suspendedAt = time.Now()
			m.stopTimer()
			m.lostTimer = time.AfterFunc(m.Timeout(), func() { m.enqueue(zk.Event{Type: lostEvent}) })
			out = &SessionEvent{State: Suspended}
			level.Warn(m.logger).Log("msg", "ZooKeeper connection suspended", "server", ev.Server)
		}
	case ev.State == zk.StateAuthFailed:
		level.Error(m.logger).Log("msg", "ZooKeeper authentication failed", "server", ev.Server)
	}
	ls := append([]Listener(nil), m.all...)
	m.mu.Unlock()
	if out == nil {
		return
	}
	for _, l := range ls {
		l.SessionEvent(*out)
	}
}

// addAuth sends the digest credentials and reports whether all were
// accepted; the client re-sends accepted ones on every later connection
// before any other request.
func (m *Manager) addAuth() bool {
	ok := true
	for _, d := range m.opts.Digest {
		if err := m.conn.AddAuth("digest", []byte(d)); err != nil {
			user, _, _ := strings.Cut(d, ":")
			level.Error(m.logger).Log("msg", "ZooKeeper digest authentication failed", "user", user, "err", err)
			ok = false
		}
	}
	return ok
}

func (m *Manager) stopTimer() {
	if m.lostTimer != nil {
		m.lostTimer.Stop()
		m.lostTimer = nil
	}
}

// Close ends the session and stops dispatching.
func (m *Manager) Close() {
	if m.conn == nil {
		return
	}
	select {
	case <-m.done:
		return
	default:
	}
	close(m.done)
	m.conn.Close()
	<-m.closed
	m.mu.Lock()
	m.stopTimer()
	m.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (m *Manager) Describe(ch chan<- *prometheus.Desc) {
	ch <- stateDesc
	ch <- expirationsDesc
	ch <- reconnectsDesc
	ch <- eventsDesc
}

// Collect implements prometheus.Collector.
func (m *Manager) Collect(ch chan<- prometheus.Metric) {
	collectStats(ch, m.stats())
}

// stats is a snapshot of what a manager exports.
type stats struct {
	state                   State
	expirations, reconnects float64
	events                  map[string]float64
}

func (m *Manager) stats() stats {
	m.mu.RLock()
	defer m.mu.RUnlock()
	events := make(map[string]float64, len(m.events))
	for name, v := range m.events {
		events[name] = v
	}
	return stats{state: m.state, expirations: m.expirations, reconnects: m.reconnects, events: events}
}

func collectStats(ch chan<- prometheus.Metric, st stats) {
	for s := Connected; s <= Lost; s++ {
		v := 0.0
		if st.state == s {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(stateDesc, prometheus.GaugeValue, v, s.String())
	}
	ch <- prometheus.MustNewConstMetric(expirationsDesc, prometheus.CounterValue, st.expirations)
	ch <- prometheus.MustNewConstMetric(reconnectsDesc, prometheus.CounterValue, st.reconnects)
	for name, v := range st.events {
		ch <- prometheus.MustNewConstMetric(eventsDesc, prometheus.CounterValue, v, name)
	}
}

// health orders the states from the healthiest: the state of several
// sessions is that of the least healthy one.
var health = map[State]int{Connected: 0, Reconnected: 1, Idle: 2, Suspended: 3, Lost: 4}

// Sessions exports several managers doing one job (the exporter's watch
// sessions) as one session: the state of the least healthy one, the watch
// events of all, and expirations and reconnects as the most any one of
// them had, so that an incident that breaks every session counts once, as
// it did with one session. The counters never go down: when the session
// with the most is closed (see Retire), they stay until another passes
// them.
type Sessions struct {
	mu                      sync.Mutex
	expirations, reconnects float64            // exported so far
	retired                 map[string]float64 // events of closed sessions
}

// Retire keeps the watch events of a manager about to be closed.
func (s *Sessions) Retire(m *Manager) {
	st := m.stats()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retired == nil {
		s.retired = map[string]float64{}
	}
	for name, v := range st.events {
		s.retired[name] += v
	}
}

// Collect sends the metrics of the managers, as one session.
func (s *Sessions) Collect(ch chan<- prometheus.Metric, ms []*Manager) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := stats{state: Connected, expirations: s.expirations, reconnects: s.reconnects, events: map[string]float64{}}
	for name, v := range s.retired {
		out.events[name] = v
	}
	for _, m := range ms {
		st := m.stats()
		if health[st.state] > health[out.state] {
			out.state = st.state
		}
		out.expirations = max(out.expirations, st.expirations)
		out.reconnects = max(out.reconnects, st.reconnects)
		for name, v := range st.events {
			out.events[name] += v
		}
	}
	s.expirations, s.reconnects = out.expirations, out.reconnects
	collectStats(ch, out)
}

// Counts returns the expiration and reconnect counters (for tests).
func (m *Manager) Counts() (expirations, reconnects float64) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.expirations, m.reconnects
}
