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

package zksession

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"time"

	"github.com/go-zookeeper/zk"
)

// go-zookeeper (v1.0.4) keeps the session timeout the server granted to
// itself, and says nothing of when the server last answered. Both decide
// how long work that needs a live session may go on, so the connection is
// wrapped: the first frame a server sends on a connection is its connect
// response (length, protocol version, timeout in ms, session ID, password),
// and every byte read after it is a sign of life.

// connectHeader is the part of the connect response read for the timeout.
const connectHeader = 12

type liveConn struct {
	net.Conn
	// r buffers what the server sent: the client reads each reply in two
	// calls (length, then body), which would be two system calls each.
	r    *bufio.Reader
	m    *Manager
	hdr  []byte
	done bool // connect response seen
	dead bool // the server refused the session (timeout 0: expired)
}

func (m *Manager) liveDialer(dial zk.Dialer) zk.Dialer {
	return func(network, address string, timeout time.Duration) (net.Conn, error) {
		c, err := dial(network, address, timeout)
		if err != nil {
			return nil, err
		}
		return &liveConn{Conn: c, r: bufio.NewReaderSize(c, readBuffer), m: m}, nil
	}
}

// readBuffer is the size of a connection's read buffer.
const readBuffer = 64 << 10

// Read is called by the client's one reading goroutine per connection.
func (c *liveConn) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if n > 0 {
		c.saw(b[:n])
	}
	return n, err
}

func (c *liveConn) saw(b []byte) {
	if !c.done {
		c.hdr = append(c.hdr, b[:min(connectHeader-len(c.hdr), len(b))]...)
		if len(c.hdr) < connectHeader {
			return
		}
		c.done = true
		ms := int32(binary.BigEndian.Uint32(c.hdr[8:12]))
		if ms <= 0 {
			c.dead = true
			return
		}
		c.m.negotiated.Store(int64(ms) * int64(time.Millisecond))
	}
	if !c.dead {
		c.m.lastReply.Store(time.Now().UnixNano())
	}
}

// Timeout is the session timeout the server granted (it caps the requested
// one between 2 and 20 ticks by default), or the requested one before the
// first session.
func (m *Manager) Timeout() time.Duration {
	if t := m.negotiated.Load(); t > 0 {
		return time.Duration(t)
	}
	return m.opts.SessionTimeout
}

// LastReply is when the server last sent anything on a connection of a
// live session (zero before the first session). The server cannot expire
// the session before LastReply plus Timeout, less the one-way network
// delay.
func (m *Manager) LastReply() time.Time {
	if ns := m.lastReply.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// SessionID is the current session's ID (0 before the first session).
func (m *Manager) SessionID() int64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.sessionID
}

// Ours reports whether an ephemeral owner is the current session or an
// earlier one of this manager.
func (m *Manager) Ours(owner int64) (current, earlier bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return owner != 0 && owner == m.sessionID, m.past[owner]
}

// SessionHex formats a session ID the way ZooKeeper logs it.
func SessionHex(id int64) string { return fmt.Sprintf("0x%x", uint64(id)) }

// RememberSession records id as an earlier session of this client, so that
// Ours reports its ephemerals as ours (tests use it to stand in for a
// session the client had before).
func (m *Manager) RememberSession(id int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.past[id] = true
}
