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
	"errors"
	"fmt"
	"time"

	"github.com/go-kit/log/level"
	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/zksession"
)

// Nodes an unauthenticated client could change cannot be trusted: a claim
// says who acts and whether an action succeeded, a lease whether its owner
// still acts. So the replicas refuse to work under a root (or an ancestor
// of it) that lets world:anyone change it beyond the configured ACL, and a
// claim found with such an ACL is not believed but replaced.

// ErrUnprotected marks a root or ancestor that fails the check.
var ErrUnprotected = errors.New("unprotected ZooKeeper path")

// Verify waits up to wait for a live session and checks the root of the
// replicas' nodes and its ancestors. It reports false with no error when
// no session came up in time (every claim checks first, once a session).
func (c *Claimer) Verify(wait time.Duration) (bool, error) {
	deadline := time.Now().Add(wait)
	for !c.Connected() {
		if time.Now().After(deadline) {
			return false, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true, c.checkRoot(c.m.Conn())
}

// checkRoot runs zksession.CheckAncestors on the claims directory once per
// session.
func (c *Claimer) checkRoot(conn *zk.Conn) error {
	sid := conn.SessionID()
	c.mu.Lock()
	done := c.checked == sid
	c.mu.Unlock()
	if done {
		return nil
	}
	if err := zksession.CheckAncestors(conn, c.root, c.acl); err != nil {
		if errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrNoServer) || errors.Is(err, zk.ErrSessionExpired) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrUnprotected, err)
	}
	c.mu.Lock()
	c.checked = sid
	c.mu.Unlock()
	return nil
}

// trusted reports whether the claim node at p carries no ACL more open
// than the configured one; an untrusted claim is deleted (with its lease)
// so that the caller finds no claim and makes its own.
func (c *Claimer) trusted(conn *zk.Conn, p string) (bool, error) {
	acl, _, err := conn.GetACL(p)
	if err != nil {
		return false, err
	}
	if zksession.MoreOpen(acl, c.acl) == 0 {
		return true, nil
	}
	level.Warn(c.logger).Log("msg", "claim not trusted: its ACL lets unauthenticated clients change it; replacing it", "claim", p)
	return false, deleteTree(conn, p)
}
