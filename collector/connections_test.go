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

package collector

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

func TestConnectionsFixtures(t *testing.T) {
	_, addrs := fakeEnsemble(t, "leader")
	zk, err := New(Config{Servers: addrs, Timeout: 2 * time.Second}, log.NewNopLogger(), "connections")
	if err != nil {
		t.Fatal(err)
	}
	defer zk.Close()
	a := addrs[0]
	want := fmt.Sprintf(`
# HELP zookeeper_client_connections Client connections listed by cons.
# TYPE zookeeper_client_connections gauge
zookeeper_client_connections{server=%[1]q} 1
# HELP zookeeper_read_only 1 when the member serves read-only (isro).
# TYPE zookeeper_read_only gauge
zookeeper_read_only{server=%[1]q} 0
# HELP zookeeper_watches Watches (wchs).
# TYPE zookeeper_watches gauge
zookeeper_watches{server=%[1]q} 0
# HELP zookeeper_scrape_collector_success Whether a collector succeeded.
# TYPE zookeeper_scrape_collector_success gauge
zookeeper_scrape_collector_success{collector="connections"} 1
`, a)
	if err := testutil.CollectAndCompare(zk, strings.NewReader(want), "zookeeper_client_connections", "zookeeper_read_only", "zookeeper_watches", "zookeeper_scrape_collector_success"); err != nil {
		t.Error(err)
	}
}

func TestConnectionsRealServer(t *testing.T) {
	e := zktest.Start(t, 1)
	zk, err := New(Config{Servers: e.Addrs(), Timeout: 2 * time.Second}, log.NewNopLogger(), "connections")
	if err != nil {
		t.Fatal(err)
	}
	defer zk.Close()
	// cons lists at least the connection that asks.
	waitScrape(t, zk, "connections collector", func(s sample) error {
		if s[srv("zookeeper_client_connections", e.Addrs()[0])] < 1 {
			return fmt.Errorf("client connections %v", s[srv("zookeeper_client_connections", e.Addrs()[0])])
		}
		return expect(s, map[string]float64{srv("zookeeper_read_only", e.Addrs()[0]): 0, `zookeeper_scrape_collector_success{collector="connections"}`: 1})
	})
}

// TestConnectionsRefusedFixture: a member whose whitelist refuses wchs,
// cons and isro (the default since 3.5.3) is reported as the ensemble
// collector reports refusals, not as a failed collector.
func TestConnectionsRefusedFixture(t *testing.T) {
	_, addrs := fakeEnsemble(t, "default-whitelist")
	zk, err := New(Config{Servers: addrs, Timeout: 2 * time.Second}, log.NewNopLogger(), "connections")
	if err != nil {
		t.Fatal(err)
	}
	defer zk.Close()
	want := fmt.Sprintf(`
# HELP zookeeper_command_allowed 1 when the member allows the four-letter word (or admin command), 0 when its whitelist refuses it.
# TYPE zookeeper_command_allowed gauge
zookeeper_command_allowed{command="cons",server=%[1]q} 0
zookeeper_command_allowed{command="isro",server=%[1]q} 0
zookeeper_command_allowed{command="wchs",server=%[1]q} 0
# HELP zookeeper_scrape_collector_success Whether a collector succeeded.
# TYPE zookeeper_scrape_collector_success gauge
zookeeper_scrape_collector_success{collector="connections"} 1
`, addrs[0])
	names := []string{"zookeeper_command_allowed", "zookeeper_scrape_collector_success", "zookeeper_client_connections", "zookeeper_watches", "zookeeper_read_only"}
	if err := testutil.CollectAndCompare(zk, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
}

// gatherScrape scrapes c as /metrics does: Gather merges the ensemble's
// directly built families with the registry's, zookeeper_command_allowed
// coming from both.
func gatherScrape(t *testing.T, c *ZooKeeperCollector) sample {
	t.Helper()
	mfs, err := c.Gather(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return sampleOf(mfs)
}

func allowed(server, cmd string) string {
	return fmt.Sprintf("zookeeper_command_allowed{command=%q,server=%q}", cmd, server)
}

func success(collector string) string {
	return fmt.Sprintf("zookeeper_scrape_collector_success{collector=%q}", collector)
}

// TestConnectionsDefaultWhitelist runs the connections collector against a
// real member started without 4lw.commands.whitelist=* (srvr only): over
// four-letter words the refusal is a warning metric and the collector
// succeeds, beside the ensemble collector; over the AdminServer, which has
// no whitelist, every number is there, so no four-letter word was sent.
func TestConnectionsDefaultWhitelist(t *testing.T) {
	e := zktest.Start(t, 1, func(o *zktest.Options) { o.Whitelist = "-" })
	addr := e.Addrs()[0]
	owner := dial(t, e.Addrs())
	if _, _, _, err := owner.ExistsW("/watched"); err != nil {
		t.Fatal(err)
	}

	t.Run("four letter words", func(t *testing.T) {
		col, err := New(Config{Servers: e.Addrs(), Timeout: 2 * time.Second}, log.NewNopLogger(), "ensemble", "connections")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(col.Close)
		s := gatherScrape(t, col)
		if err := expect(s, map[string]float64{
			success("connections"): 1, success("ensemble"): 1,
			allowed(addr, "wchs"): 0, allowed(addr, "cons"): 0, allowed(addr, "isro"): 0,
			allowed(addr, "mntr"): 0, allowed(addr, "srvr"): 1, srv("zookeeper_up", addr): 1,
		}); err != nil {
			t.Error(err)
		}
		if _, ok := s[srv("zookeeper_client_connections", addr)]; ok {
			t.Error("client connections reported although cons was refused")
		}
	})

	t.Run("admin server", func(t *testing.T) {
		admin := map[string]string{addr: strings.TrimPrefix(e.Members[0].AdminURL(), "http://")}
		col, err := New(Config{Servers: e.Addrs(), Timeout: 2 * time.Second, Transport: "admin", AdminPorts: admin}, log.NewNopLogger(), "ensemble", "connections")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(col.Close)
		waitConnections(t, col, addr, "watch_summary", "connections", "is_read_only")
	})
}

// waitConnections waits until c reports the owner's session and watch on
// addr (one connection holding one watch, read-write), asked with cmds.
func waitConnections(t *testing.T, c *ZooKeeperCollector, addr string, cmds ...string) {
	t.Helper()
	want := map[string]float64{
		success("connections"):                      1,
		srv("zookeeper_watches", addr):              1,
		srv("zookeeper_watching_connections", addr): 1,
		srv("zookeeper_read_only", addr):            0,
	}
	for _, cmd := range cmds {
		want[allowed(addr, cmd)] = 1
	}
	err := zktest.WaitFor(30*time.Second, 100*time.Millisecond, func() error {
		s := gatherScrape(t, c)
		if n := s[srv("zookeeper_client_connections", addr)]; n < 1 {
			return fmt.Errorf("client connections %v, want the owner's", n)
		}
		return expect(s, want)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestConnectionsTLS runs the connections collector against a member that
// serves clients over TLS only with a client certificate
// (ssl.clientAuth=need): four-letter words on the secure client port, and
// the AdminServer over https.
func TestConnectionsTLS(t *testing.T) {
	e := zktest.Start(t, 1, func(o *zktest.Options) { o.TLS = &zktest.TLSOptions{AdminHTTPS: true} })
	good := clientTLS(t, e.Certs.Client())
	addr := e.SecureAddrs()[0]
	owner := dialTLS(t, []string{addr}, good)
	if _, _, _, err := owner.ExistsW("/watched"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		cmds []string
	}{
		{"four letter words", Config{}, []string{"wchs", "cons", "isro"}},
		{"admin server over https", Config{Transport: "admin", AdminPorts: map[string]string{
			addr: strings.TrimPrefix(e.Members[0].AdminURL(), "http://")}}, []string{"watch_summary", "connections", "is_read_only"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Servers, cfg.Timeout, cfg.TLS = []string{addr}, 2*time.Second, good
			col, err := New(cfg, log.NewNopLogger(), "connections")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(col.Close)
			waitConnections(t, col, addr, tc.cmds...)
		})
	}
	// Without the client's certificate every word fails the handshake.
	t.Run("no client certificate", func(t *testing.T) {
		col, err := New(Config{Servers: []string{addr}, Timeout: 2 * time.Second, TLS: &tls.Config{RootCAs: good.RootCAs}}, log.NewNopLogger(), "connections")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(col.Close)
		if s := gatherScrape(t, col); s[success("connections")] != 0 {
			t.Errorf("connections collector succeeded without a client certificate: %v", s[success("connections")])
		}
	})
}
