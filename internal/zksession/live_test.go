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
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// TestNegotiatedTimeoutAndLastReply: the server (tickTime=200) caps a
// requested 60 s at 4 s; the manager reports the granted timeout, and the
// server's last reply advances while the link works and stops when it is
// black-holed.
func TestNegotiatedTimeoutAndLastReply(t *testing.T) {
	e := zktest.Start(t, 1)
	proxy, err := zktest.NewProxy(e.Addrs()...)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	m, err := New(Options{Servers: proxy.Addrs(), SessionTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Timeout(); got != time.Minute {
		t.Errorf("timeout before connecting %s, want the requested 1m", got)
	}
	if !m.LastReply().IsZero() {
		t.Error("a last reply before connecting")
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := zktest.WaitFor(30*time.Second, 10*time.Millisecond, func() error {
		if !m.State().Live() {
			return fmt.Errorf("state %s", m.State())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := m.Timeout(); got != 4*time.Second {
		t.Fatalf("negotiated timeout %s, want 4s", got)
	}
	// Idle: pings every third of the timeout keep the last reply fresh.
	first := m.LastReply()
	if err := zktest.WaitFor(30*time.Second, 50*time.Millisecond, func() error {
		if !m.LastReply().After(first) {
			return fmt.Errorf("last reply still %s", first)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	proxy.Blackhole()
	cut := time.Now()
	if err := zktest.WaitFor(30*time.Second, 50*time.Millisecond, func() error {
		if m.State() != Suspended {
			return fmt.Errorf("state %s", m.State())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if last := m.LastReply(); last.After(cut) {
		t.Errorf("a reply at %s, after the link was cut at %s", last, cut)
	}
}

// countingConn counts the reads that reach the socket.
type countingConn struct {
	net.Conn
	reads int
}

func (c *countingConn) Read(b []byte) (int, error) {
	c.reads++
	return c.Conn.Read(b)
}

// TestRepliesReadBuffered: the client reads each reply in two calls (its
// length, then its body); replies that arrived together are served from
// the connection's buffer, not with a system call each.
func TestRepliesReadBuffered(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const replies = 200
	// The connect response (length 36), then the replies, in one write.
	var stream []byte
	stream = binary.BigEndian.AppendUint32(stream, 36)
	stream = append(stream, make([]byte, 36)...)
	binary.BigEndian.PutUint32(stream[8:], 4000) // after the length and protocol version: the timeout, ms
	for i := 0; i < replies; i++ {
		stream = binary.BigEndian.AppendUint32(stream, 16)
		stream = append(stream, make([]byte, 16)...)
	}
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Write(stream)
		io.Copy(io.Discard, c)
	}()
	m, err := New(Options{Servers: []string{l.Addr().String()}, SessionTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var raw *countingConn
	dial := m.liveDialer(func(network, address string, timeout time.Duration) (net.Conn, error) {
		c, err := net.DialTimeout(network, address, timeout)
		raw = &countingConn{Conn: c}
		return raw, err
	})
	c, err := dial("tcp", l.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64)
	for i := 0; i <= replies; i++ {
		if _, err := io.ReadFull(c, buf[:4]); err != nil {
			t.Fatal(err)
		}
		n := binary.BigEndian.Uint32(buf[:4])
		if _, err := io.ReadFull(c, buf[:n]); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.Timeout(); got != 4*time.Second {
		t.Errorf("negotiated timeout %s, want 4s from the connect response", got)
	}
	if m.LastReply().IsZero() {
		t.Error("no last reply recorded")
	}
	// One write of 4 KiB arrives in a few segments at most.
	if raw.reads > 10 {
		t.Errorf("%d reads of the socket for %d replies", raw.reads, replies+1)
	}
}
