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

package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/zkwatch/zkwatch/collector"
	"github.com/zkwatch/zkwatch/internal/discovery/dnstest"
	"github.com/zkwatch/zkwatch/internal/reload"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

func TestParseServersDNS(t *testing.T) {
	got, err := parseServers("dns+zk.test:2181, a:1,dnssrv+_client._tcp.zk.test,dns+zk.test:2181")
	if want := []string{"dns+zk.test:2181", "a:1", "dnssrv+_client._tcp.zk.test"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("parseServers = %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"dns+zk.test", "dnssrv+zk.test:2181", "dnsx+zk.test:2181", "dns+:2181"} {
		if got, err := parseServers(bad); err == nil {
			t.Errorf("parseServers(%q) = %v, want an error", bad, got)
		}
	}
	// /probe stays host:port only.
	if got, err := parseTargets("dns+zk.test:2181", 16); err == nil {
		t.Errorf("parseTargets accepted a DNS entry: %v", got)
	}
	o := &options{servers: "dns+zk.test:2181", adminServers: "a:8080", timeout: time.Second, probeMaxEnsembles: 1, transport: "admin"}
	if _, _, err := buildConfig(o, collector.WatchOptions{}); err == nil {
		t.Error("--zookeeper.admin.servers with a dns+ entry accepted")
	}
}

// TestMetricsThroughDNS serves /metrics for --zookeeper.servers=dns+NAME:PORT
// against a real member, the name looked up in a DNS server of the test at
// every scrape: while it resolves the member is up, once it is gone the
// ensemble collector fails rather than reuse the old answer.
func TestMetricsThroughDNS(t *testing.T) {
	e := zktest.Start(t, 1)
	dns := dnstest.Start(t)
	dns.SetA("zk.test", "127.0.0.1")
	o := &options{servers: fmt.Sprintf("dns+zk.test:%d", e.Members[0].ClientPort), timeout: 5 * time.Second, probeMaxEnsembles: 1, transport: "4lw", metricsPath: "/metrics"}
	cfg, allowed, err := buildConfig(o, collector.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Resolver = dns.Resolver()
	logger := log.NewNopLogger()
	zk, err := collector.New(cfg, logger, "ensemble")
	if err != nil {
		t.Fatal(err)
	}
	defer zk.Close()
	h := newHandler(logger, o, cfg, allowed)
	mux, err := h.mux(zk, reload.New("zookeeper_exporter", "watch configuration", zk.Reload, h.exporterRegistry, logger))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	up := fmt.Sprintf("zookeeper_up{server=%q} 1", e.Addrs()[0])
	if err := zktest.WaitFor(30*time.Second, 100*time.Millisecond, func() error {
		if body := get("/metrics"); !strings.Contains(body, up) {
			return fmt.Errorf("no %s in /metrics", up)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if page := get("/"); strings.Contains(page, "/probe?target=dns") {
		t.Error("the landing page links /probe to a DNS entry, which /probe refuses")
	}
	dns.Delete("zk.test")
	body := get("/metrics")
	if !strings.Contains(body, `zookeeper_scrape_collector_success{collector="ensemble"} 0`) || strings.Contains(body, "zookeeper_up{") {
		t.Errorf("after the name went away, /metrics should report the failed collector and no member:\n%s", grepLines(body, "zookeeper_up", "collector_success"))
	}
}

func grepLines(body string, words ...string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		for _, w := range words {
			if strings.Contains(l, w) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}
