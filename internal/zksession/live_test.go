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
	"fmt"
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
