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
	"fmt"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-zookeeper/zk"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/zkwatch/zkwatch/internal/fourlw"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

// TestTopClients: connections from one address sum, the top n are ranked
// by connections then packets received, the rest are summed as "other".
func TestTopClients(t *testing.T) {
	conns := []fourlw.Conn{
		{Client: "10.0.0.1", Received: 5, Sent: 4, MaxLatency: 3},
		{Client: "10.0.0.2", Received: 1, Sent: 1, Outstanding: 2, MaxLatency: 9},
		{Client: "10.0.0.1", Received: 7, Sent: 7, Outstanding: 1, MaxLatency: 2},
		{Client: "10.0.0.3", Received: 100, Sent: 90, MaxLatency: 1},
		{Client: "10.0.0.4", Received: 2, Sent: 2, MaxLatency: 20},
	}
	got := topClients(conns, 2)
	want := []clientStats{
		{client: "10.0.0.1", connections: 2, outstanding: 1, received: 12, sent: 11, maxLatencyMillis: 3},
		{client: "10.0.0.3", connections: 1, received: 100, sent: 90, maxLatencyMillis: 1},
		{client: "other", connections: 2, outstanding: 2, received: 3, sent: 3, maxLatencyMillis: 20},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if got := topClients(conns, 10); len(got) != 4 || got[3].client == otherClients {
		t.Errorf("all fit: got %+v, want 4 clients and no other", got)
	}
	if got := topClients(nil, 10); len(got) != 0 {
		t.Errorf("no connections: got %+v", got)
	}
}

func TestConnectionsTopClientsFixture(t *testing.T) {
	_, addrs := fakeEnsemble(t, "clients")
	zk, err := New(Config{Servers: addrs, Timeout: 2 * time.Second, TopClients: 1}, log.NewNopLogger(), "connections")
	if err != nil {
		t.Fatal(err)
	}
	defer zk.Close()
	want := fmt.Sprintf(`
# HELP zookeeper_top_client_connections Connections from the client address (cons); the addresses beyond --collector.connections.top-clients are summed as client="other".
# TYPE zookeeper_top_client_connections gauge
zookeeper_top_client_connections{client="127.0.0.2",server=%[1]q} 1
zookeeper_top_client_connections{client="other",server=%[1]q} 1
# HELP zookeeper_top_client_max_latency_seconds Highest request latency of the client address's open connections (cons maxlat).
# TYPE zookeeper_top_client_max_latency_seconds gauge
zookeeper_top_client_max_latency_seconds{client="127.0.0.2",server=%[1]q} 0.136
zookeeper_top_client_max_latency_seconds{client="other",server=%[1]q} 0
# HELP zookeeper_top_client_packets_received_total Packets received from the client address over its open connections (cons recved).
# TYPE zookeeper_top_client_packets_received_total counter
zookeeper_top_client_packets_received_total{client="127.0.0.2",server=%[1]q} 22
zookeeper_top_client_packets_received_total{client="other",server=%[1]q} 1
`, addrs[0])
	if err := testutil.CollectAndCompare(zk, strings.NewReader(want), "zookeeper_top_client_connections", "zookeeper_top_client_max_latency_seconds", "zookeeper_top_client_packets_received_total"); err != nil {
		t.Error(err)
	}
	if _, err := New(Config{Servers: addrs, TopClients: MaxTopClients + 1}, log.NewNopLogger(), "connections"); err == nil {
		t.Error("top clients above the bound accepted")
	}
}

// TestTopClientsUnderLoad: on a real 3-member ensemble, a load generator
// whose sessions come from 127.0.0.2 (a dialer bound to that address) is
// every member's top client; the exporter's own cons connection comes
// from 127.0.0.1.
func TestTopClientsUnderLoad(t *testing.T) {
	e := zktest.Start(t, 3)
	const sessions = 9
	stop := loadGenerator(t, e.Addrs(), "127.0.0.2", sessions)
	defer stop()
	zkc, err := New(Config{Servers: e.Addrs(), Timeout: 3 * time.Second}, log.NewNopLogger(), "connections")
	if err != nil {
		t.Fatal(err)
	}
	defer zkc.Close()
	s := waitScrape(t, zkc, "load generator is the top client of every member", func(s sample) error {
		total := 0.0
		for _, a := range e.Addrs() {
			top, other := topClientOf(s, a)
			if top != "127.0.0.2" {
				return fmt.Errorf("%s: top client %q", a, top)
			}
			if other != "127.0.0.1" {
				return fmt.Errorf("%s: second client %q, want the exporter's 127.0.0.1", a, other)
			}
			total += s[fmt.Sprintf(`zookeeper_top_client_connections{client="127.0.0.2",server=%q}`, a)]
			// Under load: the generator's requests are flowing.
			if r := s[fmt.Sprintf(`zookeeper_top_client_packets_received_total{client="127.0.0.2",server=%q}`, a)]; r < 100 {
				return fmt.Errorf("%s: %v packets received from the load generator", a, r)
			}
		}
		if total != sessions {
			return fmt.Errorf("load generator connections %v over the members, want %d", total, sessions)
		}
		return nil
	})
	// The AdminServer's connections list the same clients (not the
	// asking one, which is HTTP).
	admin := map[string]string{}
	for _, m := range e.Members {
		admin[m.Addr()] = net.JoinHostPort("127.0.0.1", fmt.Sprint(m.AdminPort))
	}
	adminCol, err := New(Config{Servers: e.Addrs(), Timeout: 3 * time.Second, Transport: "admin", AdminPorts: admin}, log.NewNopLogger(), "connections")
	if err != nil {
		t.Fatal(err)
	}
	defer adminCol.Close()
	waitScrape(t, adminCol, "load generator is the top client over the AdminServer", func(s sample) error {
		for _, a := range e.Addrs() {
			if top, _ := topClientOf(s, a); top != "127.0.0.2" {
				return fmt.Errorf("%s: top client %q", a, top)
			}
		}
		return nil
	})
	for _, a := range e.Addrs() {
		k := fmt.Sprintf(`zookeeper_top_client_packets_received_total{client="127.0.0.2",server=%q}`, a)
		t.Logf("%s: %v connections, %v packets received from 127.0.0.2", a, s[fmt.Sprintf(`zookeeper_top_client_connections{client="127.0.0.2",server=%q}`, a)], s[k])
	}
}

// topClientOf returns the client with the most connections on a member
// and the next one, from a scrape.
func topClientOf(s sample, server string) (top, next string) {
	var best, second float64
	for k, v := range s {
		if !strings.HasPrefix(k, "zookeeper_top_client_connections{") || !strings.Contains(k, fmt.Sprintf("server=%q", server)) {
			continue
		}
		client := strings.SplitN(strings.SplitN(k, `client="`, 2)[1], `"`, 2)[0]
		switch {
		case v > best:
			next, second, top, best = top, best, client, v
		case v > second:
			next, second = client, v
		}
	}
	return top, next
}

// loadGenerator opens n sessions from local address ip (127.0.0.0/8 is all
// loopback on Linux) spread over the servers, each reading and writing its
// own node until stop is called.
func loadGenerator(t *testing.T, servers []string, ip string, n int) (stop func()) {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	dial := zk.WithDialer(func(network, addr string, timeout time.Duration) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return d.DialContext(ctx, network, addr)
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range n {
		// One server each, round robin, so that every member has sessions.
		conn, _, err := zk.Connect([]string{servers[i%len(servers)]}, 4*time.Second, dial, zk.WithLogInfo(false), zk.WithLogger(nopZKLogger{}))
		if err != nil {
			t.Fatal(err)
		}
		p := fmt.Sprintf("/load-%d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			for ctx.Err() == nil {
				if _, err := conn.Set(p, []byte("x"), -1); err != nil {
					_, _ = conn.Create(p, []byte("x"), 0, zk.WorldACL(zk.PermAll))
				}
				for range 3 {
					_, _, _ = conn.Get(p)
				}
			}
		}()
	}
	return func() { cancel(); wg.Wait() }
}

// TestLoadFlags: --collector.connections.top-clients and
// --zookeeper.jute-maxbuffer reach the Config, and values out of bounds
// are refused with the flag's name.
func TestLoadFlags(t *testing.T) {
	parse := func(args ...string) (Config, error) {
		app := kingpin.New("test", "")
		f := AddFlags(app)
		if _, err := app.Parse(args); err != nil {
			t.Fatal(err)
		}
		var cfg Config
		return cfg, f.Apply(&cfg)
	}
	if cfg, err := parse(); err != nil || cfg.TopClients != DefaultTopClients || cfg.JuteMaxBuffer != DefaultJuteMaxBuffer {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
	if cfg, err := parse("--collector.connections.top-clients=3", "--zookeeper.jute-maxbuffer=4194304"); err != nil || cfg.TopClients != 3 || cfg.JuteMaxBuffer != 4194304 {
		t.Errorf("set: %+v, %v", cfg, err)
	}
	for _, args := range [][]string{{"--collector.connections.top-clients=0"}, {"--collector.connections.top-clients=101"}, {"--zookeeper.jute-maxbuffer=0"}} {
		if _, err := parse(args...); err == nil || !strings.Contains(err.Error(), strings.SplitN(args[0], "=", 2)[0]) {
			t.Errorf("%v: err = %v, want one naming the flag", args, err)
		}
	}
}
