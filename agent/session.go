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

// Package agent implements zkwatch_agent: truthful ephemeral registration of
// supervised processes, a Curator-compatible singleton lock and task workers
// on Apache ZooKeeper.
package agent

import (
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/go-zookeeper/zk"
	"github.com/prometheus/client_golang/prometheus"
)

// State is the agent's view of its ZooKeeper session, after Curator's
// ConnectionState.
type State int

const (
	// StateConnecting: no session yet (initial connection).
	StateConnecting State = iota
	// StateConnected: a live session; ephemerals made under it exist.
	StateConnected
	// StateSuspended: the connection dropped; the session may still be
	// alive on the server, so ephemerals are kept as registered.
	StateSuspended
	// StateLost: the session expired, or stayed disconnected for a full
	// session timeout; its ephemerals must be assumed gone.
	StateLost
)

func (s State) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StateSuspended:
		return "suspended"
	case StateLost:
		return "lost"
	}
	return "unknown"
}

// Session owns one ZooKeeper connection (which go-zookeeper re-establishes,
// with a new session after an expiry) and tracks its state.
type Session struct {
	Conn    *zk.Conn
	timeout time.Duration
	logger  log.Logger
	expired prometheus.Counter

	mu             sync.Mutex
	state          State
	sessionID      int64
	past           map[int64]bool
	disconnectedAt time.Time
	suspensions    int // times the connection dropped (tests read it)
	lostTimer      *time.Timer
	subs           map[chan struct{}]struct{}
}

// Dial connects to servers (a comma-separated list of host:port). expired
// counts session expirations and may be nil.
func Dial(servers string, timeout time.Duration, logger log.Logger, expired prometheus.Counter) (*Session, error) {
	var list []string
	for _, s := range strings.Split(servers, ",") {
		if s = strings.TrimSpace(s); s != "" {
			list = append(list, s)
		}
	}
	if len(list) == 0 {
		return nil, errors.New("no ZooKeeper servers given")
	}
	if timeout <= 0 {
		return nil, errors.New("session timeout must be positive")
	}
	if logger == nil {
		logger = log.NewNopLogger()
	}
	s := &Session{timeout: timeout, logger: logger, expired: expired, past: map[int64]bool{}, subs: map[chan struct{}]struct{}{}}
	conn, _, err := zk.Connect(list, timeout,
		zk.WithLogger(zkLogger{logger}),
		zk.WithEventCallback(s.event))
	if err != nil {
		return nil, err
	}
	s.Conn = conn
	return s, nil
}

type zkLogger struct{ l log.Logger }

func (z zkLogger) Printf(format string, args ...interface{}) {
	level.Debug(z.l).Log("msg", "zk client", "detail", sprintf(format, args...))
}

// event is go-zookeeper's synchronous callback; it must not block.
func (s *Session) event(ev zk.Event) {
	if ev.Type != zk.EventSession {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch ev.State {
	case zk.StateHasSession:
		id := s.Conn.SessionID()
		if s.sessionID != 0 && s.sessionID != id {
			s.past[s.sessionID] = true
		}
		s.sessionID = id
		s.setState(StateConnected)
		level.Info(s.logger).Log("msg", "ZooKeeper session established", "session", sessionHex(id), "server", ev.Server)
	case zk.StateExpired:
		if s.sessionID != 0 {
			s.past[s.sessionID] = true
		}
		if s.expired != nil {
			s.expired.Inc()
		}
		level.Warn(s.logger).Log("msg", "ZooKeeper session expired", "session", sessionHex(s.sessionID))
		s.setState(StateLost)
	case zk.StateDisconnected, zk.StateConnecting:
		if s.state == StateConnected {
			s.disconnectedAt = time.Now()
			s.suspensions++
			s.setState(StateSuspended)
			level.Warn(s.logger).Log("msg", "ZooKeeper connection suspended", "session", sessionHex(s.sessionID))
			if s.lostTimer != nil {
				s.lostTimer.Stop()
			}
			s.lostTimer = time.AfterFunc(s.timeout, s.checkLost)
		}
	}
}

// checkLost turns a suspension that lasted a full session timeout into a
// loss, as Curator does: the server has expired the session by now.
func (s *Session) checkLost() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == StateSuspended && time.Since(s.disconnectedAt) >= s.timeout {
		level.Warn(s.logger).Log("msg", "ZooKeeper session presumed lost", "session", sessionHex(s.sessionID), "disconnected_for", time.Since(s.disconnectedAt))
		s.setState(StateLost)
	}
}

func (s *Session) setState(st State) {
	s.state = st
	for ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// State returns the current state, the current session ID, and, when
// suspended, how long ago the connection dropped.
func (s *Session) State() (State, int64, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var d time.Duration
	if s.state == StateSuspended {
		d = time.Since(s.disconnectedAt)
	}
	return s.state, s.sessionID, d
}

// Fenced reports whether work that must run only while this session is
// provably alive (a held lock, a claimed task) has to stop: the session is
// lost, or has been suspended for a quarter of the timeout. The client
// notices a dead connection about 2/3 of a timeout after the last reply, so
// stopping at 1/4 after that keeps clear of the server's expiry.
func (s *Session) Fenced() bool {
	st, _, d := s.State()
	return st == StateLost || (st == StateSuspended && d >= s.timeout/4) || st == StateConnecting
}

// Timeout is the requested session timeout.
func (s *Session) Timeout() time.Duration { return s.timeout }

// Ours reports whether an ephemeral owner is the current session or one of
// this agent's earlier sessions.
func (s *Session) Ours(owner int64) (current, old bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return owner != 0 && owner == s.sessionID, s.past[owner]
}

// Subscribe returns a channel that receives a token on every state change,
// and a function to unsubscribe.
func (s *Session) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	s.subs[ch] = struct{}{}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
	}
}

// Close ends the session; the server deletes its ephemerals at once.
func (s *Session) Close() {
	s.mu.Lock()
	if s.lostTimer != nil {
		s.lostTimer.Stop()
	}
	s.mu.Unlock()
	s.Conn.Close()
}

// CreateParents creates every missing ancestor of path as a persistent node.
func CreateParents(conn *zk.Conn, path string) error {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	cur := ""
	for _, p := range parts[:len(parts)-1] {
		cur += "/" + p
		_, err := conn.Create(cur, nil, 0, zk.WorldACL(zk.PermAll))
		if err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return err
		}
	}
	return nil
}

// ValidatePath checks a znode path given on the command line.
func ValidatePath(path string) error {
	if path == "" || path[0] != '/' {
		return errors.New("znode path must start with /: " + strconvQuote(path))
	}
	if path != "/" && strings.HasSuffix(path, "/") {
		return errors.New("znode path must not end with /: " + strconvQuote(path))
	}
	if strings.Contains(path, "//") {
		return errors.New("znode path must not contain empty elements: " + strconvQuote(path))
	}
	for _, e := range strings.Split(path[1:], "/") {
		if e == "." || e == ".." {
			return errors.New("znode path must not contain . or ..: " + strconvQuote(path))
		}
	}
	return nil
}
