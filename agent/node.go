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

package agent

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/zksession"
)

// Node keeps an ephemeral znode in place while it is wanted, in the manner
// of Curator's PersistentNode: it survives short disconnections, is
// recreated after a session expiry or a deletion, replaces a node left by
// one of the agent's own earlier sessions, and never takes over a node
// owned by another live session (a conflict, logged and counted, after
// which it waits for that node to go away).
type Node struct {
	s      *Session
	path   string
	logger log.Logger
	m      *Metrics

	mu         sync.Mutex
	want       bool
	data       []byte
	registered bool
	conflict   bool
	changed    chan struct{} // closed and replaced on every registered change
	kick       chan struct{}
}

// NewNode prepares an ephemeral node at path; call Run to maintain it.
func NewNode(s *Session, path string, m *Metrics, logger log.Logger) *Node {
	if logger == nil {
		logger = log.NewNopLogger()
	}
	return &Node{s: s, path: path, m: m, logger: log.With(logger, "znode", path),
		changed: make(chan struct{}), kick: make(chan struct{}, 1)}
}

// Set says whether the node should exist and with which data (used when it
// is created).
func (n *Node) Set(want bool, data []byte) {
	n.mu.Lock()
	n.want = want
	if data != nil {
		n.data = data
	}
	n.mu.Unlock()
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// Registered reports whether the node is known to exist under the session,
// and a channel closed on the next change of that answer.
func (n *Node) Registered() (bool, <-chan struct{}) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.registered, n.changed
}

// WaitRegistered waits until Registered() equals want.
func (n *Node) WaitRegistered(ctx context.Context, want bool) error {
	for {
		r, ch := n.Registered()
		if r == want {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

func (n *Node) setRegistered(r bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.registered == r {
		return
	}
	n.registered = r
	if n.m != nil && n.m.Registered != nil {
		if r {
			n.m.Registered.Set(1)
		} else {
			n.m.Registered.Set(0)
		}
	}
	close(n.changed)
	n.changed = make(chan struct{})
}

// Run maintains the node until ctx ends. On return it has tried to delete
// the node if it owned it.
func (n *Node) Run(ctx context.Context) {
	states, unsub := n.s.Subscribe()
	defer unsub()
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	for {
		watch, again := n.reconcile()
		if again {
			retry.Reset(100 * time.Millisecond)
		}
		select {
		case <-ctx.Done():
			n.mu.Lock()
			n.want = false
			n.mu.Unlock()
			n.reconcile()
			return
		case <-n.kick:
		case <-states:
		case <-watch:
		case <-retry.C:
		}
	}
}

// reconcile brings ZooKeeper in line with the wanted state once. It returns
// a watch that fires when the node changes, and whether to retry soon.
func (n *Node) reconcile() (<-chan zk.Event, bool) {
	switch n.s.State() {
	case zksession.Lost, zksession.Idle:
		n.setRegistered(false)
		return nil, false
	case zksession.Suspended:
		// Keep the registration: the session may well survive.
		return nil, false
	}
	n.mu.Lock()
	want, data, registered := n.want, n.data, n.registered
	n.mu.Unlock()
	if want && !registered {
		// Optimistic create first: registration costs one round trip when
		// the path is free; anything else is sorted out below.
		if err := n.create(data); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			level.Debug(n.logger).Log("msg", "create failed", "err", err)
		}
	}
	for attempt := 0; attempt < 5; attempt++ {
		n.mu.Lock()
		want, data = n.want, n.data
		n.mu.Unlock()
		ok, stat, watch, err := n.s.Conn().ExistsW(n.path)
		if err != nil {
			level.Debug(n.logger).Log("msg", "exists failed", "err", err)
			return nil, true
		}
		var current, old bool
		if ok {
			current, old = n.s.Ours(stat.EphemeralOwner)
		}
		switch {
		case !want:
			if ok && (current || old) {
				if err := n.s.Conn().Delete(n.path, stat.Version); err != nil && !errors.Is(err, zk.ErrNoNode) {
					level.Warn(n.logger).Log("msg", "delete failed", "err", err)
					if errors.Is(err, zk.ErrBadVersion) {
						continue
					}
					return nil, true
				}
				level.Info(n.logger).Log("msg", "unregistered")
			}
			n.setRegistered(false)
			n.setConflict(false)
			return nil, false
		case !ok:
			if err := n.create(data); err != nil && !errors.Is(err, zk.ErrNodeExists) {
				level.Warn(n.logger).Log("msg", "create failed", "err", err)
				return nil, true
			}
			// Loop to confirm ownership and set the watch.
		case current:
			if !n.isRegistered() {
				level.Info(n.logger).Log("msg", "registered", "session", zksession.SessionHex(stat.EphemeralOwner))
			}
			n.setConflict(false)
			n.setRegistered(true)
			return watch, false
		case old:
			level.Info(n.logger).Log("msg", "replacing node left by an earlier session of this agent", "owner", zksession.SessionHex(stat.EphemeralOwner))
			if err := n.s.Conn().Delete(n.path, stat.Version); err != nil && !errors.Is(err, zk.ErrNoNode) && !errors.Is(err, zk.ErrBadVersion) {
				return nil, true
			}
		default:
			n.setRegistered(false)
			if !n.Conflict() {
				n.setConflict(true)
				if n.m != nil && n.m.Conflicts != nil {
					n.m.Conflicts.Inc()
				}
				level.Error(n.logger).Log("msg", "conflict: node is owned by another live session; not taking it over, waiting for it to go away", "owner", zksession.SessionHex(stat.EphemeralOwner))
			}
			return watch, false
		}
	}
	return nil, true
}

func (n *Node) isRegistered() bool {
	r, _ := n.Registered()
	return r
}

// Conflict reports whether the node is held by another session.
func (n *Node) Conflict() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.conflict
}

func (n *Node) setConflict(c bool) {
	n.mu.Lock()
	n.conflict = c
	n.mu.Unlock()
}

func (n *Node) create(data []byte) error {
	_, err := n.s.create(n.path, data, zk.FlagEphemeral)
	return err
}
