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
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/fourlw"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

// recorder is a Listener that keeps what it was told.
type recorder struct {
	mu       sync.Mutex
	sessions []SessionEvent
	nodes    []zk.Event
}

func (r *recorder) NodeEvent(ev zk.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nodes = append(r.nodes, ev)
}

func (r *recorder) SessionEvent(ev SessionEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sessions = append(r.sessions, ev)
}

func (r *recorder) states() []SessionEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]SessionEvent(nil), r.sessions...)
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []Options{
		{},
		{Servers: []string{"a:1"}},
		{Servers: []string{"a:1"}, SessionTimeout: time.Second, Chroot: "app"},
		{Servers: []string{"a:1"}, SessionTimeout: time.Second, Chroot: "/app/"},
		{Servers: []string{"a:1"}, SessionTimeout: time.Second, Chroot: "/"},
		{Servers: []string{"a:1"}, SessionTimeout: time.Second, Digest: []string{"nopassword"}},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted invalid options", o)
		}
	}
	m, err := New(Options{Servers: []string{"a:1"}, SessionTimeout: time.Second, Chroot: "/app"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Path("/") != "/app" || m.Path("/x/y") != "/app/x/y" {
		t.Errorf("Path under chroot: %q %q", m.Path("/"), m.Path("/x/y"))
	}
	if m.State() != Idle {
		t.Errorf("state before Start = %s", m.State())
	}
	m.Close() // never started: no-op
}

// TestStatesAcrossDisconnectAndExpiry walks Connected → Suspended →
// Reconnected (same session) → Suspended → Lost → Reconnected (new
// session), with node events dispatched to the subscribed paths.
func TestStatesAcrossDisconnectAndExpiry(t *testing.T) {
	e := zktest.Start(t, 1)
	proxy, err := zktest.NewProxy(e.Addrs()...)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	m, err := New(Options{Servers: proxy.Addrs(), SessionTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	m.Subscribe(r, "/watched")
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	waitState := func(want State) {
		t.Helper()
		if err := zktest.WaitFor(30*time.Second, 10*time.Millisecond, func() error {
			if s := m.State(); s != want {
				return fmt.Errorf("state %s, want %s", s, want)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	waitState(Connected)
	conn := m.Conn()
	if _, _, _, err := conn.ExistsW("/watched"); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := conn.ExistsW("/other"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Create("/other", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Create("/watched", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if err := zktest.WaitFor(30*time.Second, 10*time.Millisecond, func() error {
		r.mu.Lock()
		defer r.mu.Unlock()
		if len(r.nodes) != 1 || r.nodes[0].Path != "/watched" || r.nodes[0].Type != zk.EventNodeCreated {
			return fmt.Errorf("node events %+v, want one created on /watched", r.nodes)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// A hard disconnect: the session survives.
	proxy.CutAll()
	waitState(Reconnected)
	if exp, rec := m.Counts(); exp != 0 || rec != 1 {
		t.Errorf("expirations, reconnects = %v, %v; want 0, 1", exp, rec)
	}
	// A partition longer than the session timeout: the session is lost.
	// A pending watch shows when the server has expired the session.
	if _, _, _, err := conn.ExistsW("/never"); err != nil {
		t.Fatal(err)
	}
	proxy.Blackhole()
	waitState(Lost)
	if err := zktest.WaitFor(30*time.Second, 50*time.Millisecond, func() error {
		out, err := fourlw.Do(context.Background(), e.Addrs()[0], "wchs", 1<<16)
		if err != nil {
			return err
		}
		if !strings.Contains(string(out), "Total watches:0") {
			return fmt.Errorf("session not expired yet: %s", out)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	proxy.Restore()
	waitState(Reconnected)
	if err := zktest.WaitFor(30*time.Second, 10*time.Millisecond, func() error {
		if exp, rec := m.Counts(); exp != 1 || rec != 2 {
			return fmt.Errorf("expirations, reconnects = %v, %v; want 1, 2", exp, rec)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range r.states() {
		got = append(got, fmt.Sprintf("%s/%v", ev.State, ev.NewSession))
	}
	want := []string{"connected/true", "suspended/false", "reconnected/false", "suspended/false", "lost/false", "reconnected/true"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("session events %v, want %v", got, want)
	}
}

// TestTLSSession opens the session over TLS (client certificate,
// ssl.clientAuth=need) through a proxy in front of the secure port, and
// checks that it reconnects, handshake included, after a cut.
func TestTLSSession(t *testing.T) {
	e := zktest.Start(t, 1, func(o *zktest.Options) { o.TLS = &zktest.TLSOptions{} })
	tc, err := e.Certs.Client().TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := zktest.NewProxy(e.SecureAddrs()...)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	m, err := New(Options{Servers: proxy.Addrs(), SessionTimeout: 4 * time.Second, TLS: tc})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	waitState := func(want State) {
		t.Helper()
		if err := zktest.WaitFor(30*time.Second, 10*time.Millisecond, func() error {
			if s := m.State(); s != want {
				return fmt.Errorf("state %s, want %s", s, want)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	waitState(Connected)
	if _, err := m.Conn().Create("/over-tls", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	proxy.CutAll()
	waitState(Reconnected)
	if ok, _, err := m.Conn().Exists("/over-tls"); err != nil || !ok {
		t.Fatalf("after reconnecting over TLS: exists %v, %v", ok, err)
	}
}
