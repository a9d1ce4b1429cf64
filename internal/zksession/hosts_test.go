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
	"errors"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/discovery"
	"github.com/zkwatch/zkwatch/internal/discovery/dnstest"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

// TestSessionFollowsDNS: a session to dns+NAME:PORT connects to the member
// the A records name; when that member goes away and the records name
// another, the session reconnects there, the same session, without a
// restart. A name that does not resolve fails Start with a LookupError.
func TestSessionFollowsDNS(t *testing.T) {
	e := zktest.Start(t, 3)
	dns := dnstest.Start(t)
	ips, port := dnstest.Aliases(t, 21, e.Addrs()...)
	alias := func(i int) string { return net.JoinHostPort(ips[i], strconv.Itoa(port)) }
	leader := e.Leader()
	first, second := (leader+1)%3, (leader+2)%3 // followers: no election when one dies

	dns.SetA("zk.test", ips[first])
	m, err := New(Options{Servers: []string{fmt.Sprintf("dns+zk.test:%d", port)}, Resolver: dns.Resolver(), SessionTimeout: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	connectedTo := func(want string) error {
		return zktest.WaitFor(30*time.Second, 10*time.Millisecond, func() error {
			if s, got := m.State(), m.Conn().Server(); !s.Live() || got != want {
				return fmt.Errorf("state %s on %s, want a live session on %s", s, got, want)
			}
			return nil
		})
	}
	if err := connectedTo(alias(first)); err != nil {
		t.Fatal(err)
	}
	session := m.SessionID()

	dns.SetA("zk.test", ips[second])
	e.Kill(first)
	if err := connectedTo(alias(second)); err != nil {
		t.Fatalf("after the records moved to member %d and member %d died: %v", second, first, err)
	}
	if got := m.SessionID(); got != session {
		t.Errorf("session %x after reconnecting, want the same %x", got, session)
	}

	gone, err := New(Options{Servers: []string{"dns+gone.test:2181"}, Resolver: dns.Resolver(), SessionTimeout: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = gone.Start()
	var le *discovery.LookupError
	if !errors.As(err, &le) || le.Entry != "dns+gone.test:2181" {
		gone.Close()
		t.Fatalf("Start with a name that does not resolve: %v, want a LookupError", err)
	}
}

func TestValidateDNSServers(t *testing.T) {
	for _, bad := range [][]string{{"dns+zk.test"}, {"a:1", "dnssrv+"}, {"dns+zk.test:2181", "a"}} {
		o := Options{Servers: bad, SessionTimeout: time.Second}
		if err := o.Validate(); err == nil {
			t.Errorf("Validate(%q): no error", bad)
		}
	}
	o := Options{Servers: []string{"dnssrv+_client._tcp.zk.test", "a:1"}, SessionTimeout: time.Second}
	if err := o.Validate(); err != nil {
		t.Errorf("Validate(%q): %v", o.Servers, err)
	}
}
