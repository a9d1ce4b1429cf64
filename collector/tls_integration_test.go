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
	"crypto/tls"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/zktest"
	"github.com/zkwatch/zkwatch/internal/zktls"
)

// TestTLSRealEnsemble runs the probes (four-letter words and the AdminServer
// over https) and the watch session against a 3-member ensemble that serves
// TLS clients with ssl.clientAuth=need, then checks that a wrong CA, an
// expired client certificate and a missing one fail every member with
// reason tls within the scrape timeout.
func TestTLSRealEnsemble(t *testing.T) {
	e := zktest.Start(t, 3, func(o *zktest.Options) { o.TLS = &zktest.TLSOptions{AdminHTTPS: true} })
	good := clientTLS(t, e.Certs.Client())
	addrs := e.SecureAddrs()
	healthy := map[string]float64{
		"zookeeper_ensemble_members_up": 3, "zookeeper_ensemble_leaders": 1,
		"zookeeper_ensemble_has_quorum": 1, "zookeeper_ensemble_synced_followers": 2,
	}

	t.Run("four letter words", func(t *testing.T) {
		col := newTLSCollector(t, Config{Servers: addrs, Timeout: 2 * time.Second, TLS: good})
		s := waitScrape(t, col, "healthy TLS ensemble", func(s sample) error { return expect(s, healthy) })
		for _, a := range addrs {
			if s[srv("zookeeper_up", a)] != 1 || s[srv("zookeeper_znode_count", a)] < 1 {
				t.Errorf("member %s: up %v, znode_count %v", a, s[srv("zookeeper_up", a)], s[srv("zookeeper_znode_count", a)])
			}
		}
	})

	t.Run("admin server over https", func(t *testing.T) {
		admin := map[string]string{}
		for _, m := range e.Members {
			admin[m.SecureAddr()] = strings.TrimPrefix(m.AdminURL(), "http://")
		}
		col := newTLSCollector(t, Config{Servers: addrs, Timeout: 2 * time.Second, Transport: "admin", AdminPorts: admin, TLS: good})
		waitScrape(t, col, "healthy TLS ensemble over https", func(s sample) error { return expect(s, healthy) })
		// A wrong CA fails the https probes with reason tls too.
		wrong := clientTLS(t, &zktls.Config{CAFile: otherCA(t)})
		bad := newTLSCollector(t, Config{Servers: addrs, Timeout: 2 * time.Second, Transport: "admin", AdminPorts: admin, TLS: wrong})
		checkTLSFailures(t, bad, addrs, 2*time.Second)
	})

	t.Run("watch group", func(t *testing.T) {
		owner := dialTLS(t, addrs, good)
		mkdirs(t, owner, "/monitor/secure")
		mustCreate(t, owner, "/monitor/secure/web-1", "web-1:10.0.0.1", zk.FlagEphemeral)
		wf := watchFlags{groups: []string{"/monitor/secure"}}
		zc, err := New(Config{Servers: addrs, Timeout: 5 * time.Second, TLS: good, Watch: wf.options()}, log.NewNopLogger(), watchCollectorNames...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(zc.Close)
		x := &watchExporter{t: t, zc: zc}
		x.waitFor(want{values: map[string]float64{
			`zookeeper_group_members{group="/monitor/secure"}`:                  1,
			`zookeeper_group_member_up{group="/monitor/secure",member="web-1"}`: 1,
			`zookeeper_watch_synced{root="/monitor/secure"}`:                    1,
			`zookeeper_exporter_session_state{state="connected"}`:               1,
		}})
		owner.Close()
		x.waitFor(want{values: map[string]float64{
			`zookeeper_group_members{group="/monitor/secure"}`:                  0,
			`zookeeper_group_member_up{group="/monitor/secure",member="web-1"}`: 0,
		}})
	})

	expiredCert, expiredKey, err := e.Certs.Issue("expired", time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]*zktls.Config{
		"wrong CA":            {CAFile: otherCA(t), CertFile: e.Certs.ClientCert, KeyFile: e.Certs.ClientKey},
		"expired client cert": {CAFile: e.Certs.CAFile, CertFile: expiredCert, KeyFile: expiredKey},
		"no client cert":      {CAFile: e.Certs.CAFile},
	} {
		t.Run(name, func(t *testing.T) {
			col := newTLSCollector(t, Config{Servers: addrs, Timeout: 2 * time.Second, TLS: clientTLS(t, cfg)})
			checkTLSFailures(t, col, addrs, 2*time.Second)
		})
	}

	// A paused member accepts the TCP connection and never completes the
	// handshake: the scrape deadline ends it, as a timeout.
	t.Run("paused member", func(t *testing.T) {
		col := newTLSCollector(t, Config{Servers: addrs, Timeout: time.Second, TLS: good})
		e.Pause(0)
		defer e.Resume(0)
		begin := time.Now()
		s := scrape(t, col)
		if took := time.Since(begin); took > 1500*time.Millisecond {
			t.Errorf("scrape with a paused member took %s, timeout 1s", took)
		}
		key := fmt.Sprintf("zookeeper_probe_errors_total{reason=%q,server=%q}", "timeout", addrs[0])
		if s[srv("zookeeper_up", addrs[0])] != 0 || s[key] != 1 || s[srv("zookeeper_up", addrs[1])] != 1 {
			t.Errorf("paused member: up %v, %s = %v; other member up %v", s[srv("zookeeper_up", addrs[0])], key, s[key], s[srv("zookeeper_up", addrs[1])])
		}
	})
}

// checkTLSFailures scrapes twice and wants every member down with one more
// probe error of reason tls each time, and each scrape within timeout.
func checkTLSFailures(t *testing.T, col *ZooKeeperCollector, addrs []string, timeout time.Duration) {
	t.Helper()
	for round := 1; round <= 2; round++ {
		begin := time.Now()
		s := scrape(t, col)
		took := time.Since(begin)
		t.Logf("scrape %d of a TLS-refusing ensemble took %s", round, took.Round(time.Millisecond))
		if took > timeout+500*time.Millisecond {
			t.Errorf("scrape took %s, timeout %s", took, timeout)
		}
		if s["zookeeper_ensemble_members_up"] != 0 {
			t.Errorf("members up = %v, want 0", s["zookeeper_ensemble_members_up"])
		}
		for _, a := range addrs {
			key := fmt.Sprintf("zookeeper_probe_errors_total{reason=%q,server=%q}", "tls", a)
			if s[srv("zookeeper_up", a)] != 0 || s[key] != float64(round) {
				t.Errorf("member %s: up %v, %s = %v, want %d", a, s[srv("zookeeper_up", a)], key, s[key], round)
			}
		}
	}
}

func newTLSCollector(t *testing.T, cfg Config) *ZooKeeperCollector {
	t.Helper()
	col, err := New(cfg, log.NewNopLogger(), "ensemble")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(col.Close)
	return col
}

func clientTLS(t testing.TB, c *zktls.Config) *tls.Config {
	t.Helper()
	tc, err := c.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	return tc
}

// otherCA returns the CA file of unrelated key material.
func otherCA(t testing.TB) string {
	t.Helper()
	c, err := zktest.NewCerts(filepath.Join(t.TempDir(), "other"))
	if err != nil {
		t.Fatal(err)
	}
	return c.CAFile
}

// dialTLS opens a client session over TLS for a test actor.
func dialTLS(t testing.TB, servers []string, tc *tls.Config) *zk.Conn {
	t.Helper()
	c, _, err := zk.Connect(servers, 4*time.Second, zk.WithLogInfo(false), zk.WithLogger(nopZKLogger{}), zk.WithDialer(zktls.Dialer(tc)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := zktest.WaitFor(30*time.Second, 10*time.Millisecond, func() error {
		if c.State() != zk.StateHasSession {
			return fmt.Errorf("state %s", c.State())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return c
}
