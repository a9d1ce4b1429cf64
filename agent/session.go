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
	"path"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/internal/zksession"
)

// Session is the agent's view of its internal/zksession session: the
// channels its loops wait on, the ACL of the nodes it creates, and the
// fencing rule of work that needs the session alive.
type Session struct {
	m   *zksession.Manager
	acl []zk.ACL
	// checked holds the parent paths whose ancestors passed
	// zksession.CheckAncestors.
	checked sync.Map

	mu    sync.Mutex
	subs  map[chan struct{}]struct{}
	unsub func()
}

// SessionOptions configure Dial.
type SessionOptions struct {
	zksession.Options
	// ACLMode is the ACL of every node the agent creates (zksession.ACL).
	ACLMode string
	// Expired counts session expirations; may be nil.
	Expired prometheus.Counter
}

// Authenticated reports whether the session has an identity of its own:
// digest credentials or a TLS client certificate.
func (o SessionOptions) Authenticated() bool {
	return len(o.Digest) > 0 || (o.TLS != nil && len(o.TLS.Certificates) > 0)
}

// Servers splits a comma-separated host:port list.
func Servers(list string) []string {
	var out []string
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Dial checks opts and starts the session in the background.
func Dial(opts SessionOptions) (*Session, error) {
	if len(opts.Servers) == 0 {
		return nil, errors.New("no ZooKeeper servers given")
	}
	acl, err := zksession.ACL(opts.ACLMode, opts.Authenticated())
	if err != nil {
		return nil, err
	}
	if opts.Expired != nil {
		opts.OnExpired = opts.Expired.Inc
	}
	m, err := zksession.New(opts.Options)
	if err != nil {
		return nil, err
	}
	s := &Session{m: m, acl: acl, subs: map[chan struct{}]struct{}{}}
	s.unsub = m.Subscribe(s)
	if err := m.Start(); err != nil {
		s.unsub()
		return nil, err
	}
	return s, nil
}

// NodeEvent implements zksession.Listener; the agent sets its own watches.
func (s *Session) NodeEvent(zk.Event) {}

// SessionEvent implements zksession.Listener: it wakes every subscriber.
func (s *Session) SessionEvent(zksession.SessionEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
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

// Conn is the client.
func (s *Session) Conn() *zk.Conn { return s.m.Conn() }

// State is the session's state.
func (s *Session) State() zksession.State { return s.m.State() }

// Live reports whether the session is usable, and its ID.
func (s *Session) Live() (bool, int64) { return s.m.State().Live(), s.m.SessionID() }

// Path maps a configured path to the server path under the chroot.
func (s *Session) Path(p string) string { return s.m.Path(p) }

// Timeout is the session timeout the server granted.
func (s *Session) Timeout() time.Duration { return s.m.Timeout() }

// Fenced reports whether work that must run only while this session is
// provably alive (a held lock, a claimed task) has to stop: there is no
// session, or the server has not been heard from for half the negotiated
// timeout. A healthy connection hears a ping reply every third of it.
func (s *Session) Fenced() bool {
	st := s.m.State()
	if st == zksession.Lost || st == zksession.Idle {
		return true
	}
	return time.Since(s.m.LastReply()) >= s.m.Timeout()/2
}

// WhenFenced returns a channel closed once Fenced holds, checked every
// sixteenth of the timeout by a goroutine of its own (so that a ZooKeeper
// call blocked on a dead connection cannot delay it), until done closes.
func (s *Session) WhenFenced(done <-chan struct{}) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		for !s.Fenced() {
			t := time.NewTimer(s.checkEvery())
			select {
			case <-done:
				t.Stop()
				return
			case <-t.C:
			}
		}
		close(ch)
	}()
	return ch
}

// checkEvery is how often fencing is checked.
func (s *Session) checkEvery() time.Duration { return max(s.m.Timeout()/16, 10*time.Millisecond) }

// StopBy is when fenced work must have ended: three quarters of the
// negotiated timeout after the server's last reply, leaving a quarter for
// the network delay before the server may expire the session and hand a
// lock or task to someone else.
func (s *Session) StopBy() time.Time { return s.m.LastReply().Add(s.m.Timeout() * 3 / 4) }

// StopGrace bounds a stop timeout by StopBy.
func (s *Session) StopGrace(timeout time.Duration) time.Duration {
	return max(0, min(timeout, time.Until(s.StopBy())))
}

// Ours reports whether an ephemeral owner is the current session or one of
// this agent's earlier sessions.
func (s *Session) Ours(owner int64) (current, old bool) { return s.m.Ours(owner) }

// Close ends the session; the server deletes its ephemerals at once.
func (s *Session) Close() {
	s.unsub()
	s.m.Close()
}

// CreateParents creates every missing ancestor of path as a persistent node
// with the agent's ACL.
func (s *Session) CreateParents(p string) error {
	if err := s.CheckParents(path.Dir(p)); err != nil {
		return err
	}
	return createParents(s.Conn(), p, s.acl)
}

func createParents(conn *zk.Conn, path string, acl []zk.ACL) error {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	cur := ""
	for _, p := range parts[:len(parts)-1] {
		cur += "/" + p
		_, err := conn.Create(cur, nil, 0, acl)
		if err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return err
		}
	}
	return nil
}

// CheckParents refuses a parent directory (server path) that, or an
// existing ancestor of which, lets unauthenticated clients change it beyond
// the agent's ACL (zksession.CheckAncestors). A directory that passed is
// not checked again.
func (s *Session) CheckParents(dirs ...string) error {
	for _, dir := range dirs {
		if _, ok := s.checked.Load(dir); ok {
			continue
		}
		if err := zksession.CheckAncestors(s.Conn(), dir, s.acl); err != nil {
			return err
		}
		s.checked.Store(dir, true)
	}
	return nil
}

// create makes a node with the agent's ACL, creating missing parents,
// once its parent's ancestors passed CheckParents.
func (s *Session) create(p string, data []byte, flags int32) (string, error) {
	if err := s.CheckParents(path.Dir(p)); err != nil {
		return "", err
	}
	return s.createChecked(p, data, flags)
}

func (s *Session) createChecked(p string, data []byte, flags int32) (string, error) {
	created, err := s.Conn().Create(p, data, flags, s.acl)
	if errors.Is(err, zk.ErrNoNode) {
		if err = createParents(s.Conn(), p, s.acl); err == nil {
			created, err = s.Conn().Create(p, data, flags, s.acl)
		}
	}
	return created, err
}

// Verify waits up to wait for a live session and checks the parent
// directories (configured paths) the mode will create nodes in. It
// reports false, with no error, when no session came up in time: create
// checks again before it first creates a node there.
func (s *Session) Verify(wait time.Duration, dirs ...string) (bool, error) {
	states, unsub := s.Subscribe()
	defer unsub()
	t := time.NewTimer(wait)
	defer t.Stop()
	for !s.State().Live() {
		select {
		case <-states:
		case <-t.C:
			return false, nil
		}
	}
	for i, d := range dirs {
		dirs[i] = s.Path(d)
	}
	return true, s.CheckParents(dirs...)
}
