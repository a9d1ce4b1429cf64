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
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/zkwatch/zkwatch/collector"
	"github.com/zkwatch/zkwatch/internal/reload"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

// testServer serves the exporter's mux in-process for the given flags.
func testServer(t testing.TB, o *options, watch collector.WatchOptions, names ...string) *httptest.Server {
	t.Helper()
	cfg, allowed, err := buildConfig(o, watch)
	if err != nil {
		t.Fatal(err)
	}
	logger := log.NewNopLogger()
	zk, err := collector.New(cfg, logger, names...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(zk.Close)
	h := newHandler(logger, o, cfg, allowed)
	mux, err := h.mux(zk, reload.New("zookeeper_exporter", "watch configuration", zk.Reload, h.exporterRegistry, logger))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func testOptions(servers string) *options {
	return &options{servers: servers, transport: "4lw", metricsPath: "/metrics", timeout: 2 * time.Second,
		maxRequests: 40, probeMaxTargets: 16, probeMaxEnsembles: 1000, timeoutOffset: 0.25, probeReuse: 500 * time.Millisecond}
}

// blackHole accepts connections and never answers, like a paused member.
func blackHole(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var accepted atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			t.Cleanup(func() { c.Close() })
		}
	}()
	return l.Addr().String(), &accepted
}

func TestProbeAllowedTargets(t *testing.T) {
	o := testOptions("127.0.0.1:1")
	o.allowedTargets = `127\.0\.0\.1:(1|2|3000)`
	srv := testServer(t, o, collector.DefaultWatchOptions(), "ensemble")
	for target, wantCode := range map[string]int{
		"127.0.0.1:1":                http.StatusOK,
		"10.0.0.1:2181":              http.StatusForbidden,
		"127.0.0.1:1,10.0.0.1:2181":  http.StatusForbidden,
		"127.0.0.1:12":               http.StatusForbidden, // anchored: a prefix match is not enough
		"not-a-target":               http.StatusBadRequest,
		"127.0.0.1:2,127.0.0.1:3000": http.StatusOK,
	} {
		code, body := get(t, srv.URL+"/probe?target="+target)
		if code != wantCode {
			t.Errorf("target %s: %d, want %d: %s", target, code, wantCode, body)
		}
		if code == http.StatusForbidden && !strings.Contains(body, "--probe.allowed-targets") {
			t.Errorf("target %s: refusal without a reason: %q", target, body)
		}
	}
	if _, _, err := buildConfig(&options{servers: "a:1", timeout: time.Second, probeMaxEnsembles: 1, allowedTargets: "("}, collector.WatchOptions{}); err == nil {
		t.Error("an invalid --probe.allowed-targets was accepted")
	}
}

// TestProbeUnderMaxRequests holds the only request slot with a /metrics
// scrape of a member that never answers: /probe is refused with 503, and
// once the scrape ends both work again.
func TestProbeUnderMaxRequests(t *testing.T) {
	addr, accepted := blackHole(t)
	o := testOptions(addr)
	o.maxRequests = 1
	srv := testServer(t, o, collector.DefaultWatchOptions(), "ensemble")
	done := make(chan int)
	go func() {
		resp, err := http.Get(srv.URL + "/metrics")
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	if err := zktest.WaitFor(10*time.Second, 5*time.Millisecond, func() error {
		if accepted.Load() == 0 {
			return os.ErrNotExist
		}
		return nil
	}); err != nil {
		t.Fatal("the scrape never reached the member")
	}
	code, body := get(t, srv.URL+"/probe?target=127.0.0.1:1")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "--web.max-requests") {
		t.Errorf("/probe while /metrics holds the slot: %d %q, want 503", code, body)
	}
	if code := <-done; code != http.StatusOK {
		t.Errorf("the slow scrape: %d", code)
	}
	if code, _ := get(t, srv.URL+"/probe?target=127.0.0.1:1"); code != http.StatusOK {
		t.Errorf("/probe after the slot was freed: %d", code)
	}
}

func TestReloadGauge(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "watch.yml")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("groups: []\n")
	watch := collector.DefaultWatchOptions()
	watch.ConfigFile = file
	srv := testServer(t, testOptions("127.0.0.1:1"), watch, "group")
	const gauge = "zookeeper_exporter_config_last_reload_successful "
	check := func(want string) {
		t.Helper()
		_, body := get(t, srv.URL+"/metrics")
		if !strings.Contains(body, gauge+want+"\n") {
			t.Errorf("want %s%s in /metrics", gauge, want)
		}
	}
	check("1")
	write("groups:\n  - path: relative\n")
	resp, err := http.Post(srv.URL+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("reload of an invalid file: %d", resp.StatusCode)
	}
	check("0")
	write("groups: []\n")
	if resp, err = http.Post(srv.URL+"/-/reload", "", nil); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("reload of a valid file: %d", resp.StatusCode)
	}
	check("1")
}

// TestConcurrentScrapes runs /metrics and /probe scrapes at once against
// members answering fixed fixtures: pooled buffers and the shared probe
// must give every answer whole (run it with -race).
func TestConcurrentScrapes(t *testing.T) {
	var addrs []string
	for _, p := range []string{"leader", "follower", "follower"} {
		answers := map[string][]byte{}
		for _, cmd := range []string{"mntr", "srvr", "conf"} {
			data, err := os.ReadFile(filepath.Join("..", "..", "internal", "fourlw", "testdata", p+"."+cmd+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			answers[cmd] = data
		}
		f, err := zktest.NewFakeServer(answers)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(f.Close)
		addrs = append(addrs, f.Addr())
	}
	list := strings.Join(addrs, ",")
	srv := testServer(t, testOptions(list), collector.DefaultWatchOptions(), "ensemble")
	count := func(body string) int {
		// zookeeper_ lines, less the probe age gauge of /metrics and
		// command_allowed (conf is asked at the first probe only, which
		// /metrics may still be reusing).
		return strings.Count(body, "\nzookeeper_") - strings.Count(body, "\nzookeeper_ensemble_probe_age_seconds") -
			strings.Count(body, "\nzookeeper_command_allowed")
	}
	want := map[string]int{}
	for _, path := range []string{"/metrics", "/probe?target=" + list} {
		_, body := get(t, srv.URL+path)
		want[path] = count(body)
	}
	errs := make(chan string, 64)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				path := "/metrics"
				if (g+i)%2 == 0 {
					path = "/probe?target=" + list
				}
				resp, err := http.Get(srv.URL + path)
				if err != nil {
					errs <- err.Error()
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				n := count(string(body))
				if resp.StatusCode != http.StatusOK || n != want[path] || !strings.Contains(string(body), "zookeeper_ensemble_leaders 1\n") {
					errs <- fmt.Sprintf("%s: %d, %d zookeeper_ lines, want %d", path, resp.StatusCode, n, want[path])
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestMetricsAsPrometheusAsks: asked as Prometheus 2 and 3 ask (gzip,
// OpenMetrics preferred), /metrics answers gzip-compressed text format
// (OpenMetrics is not offered, as promhttp's default) with the ensemble,
// the build info and client_golang's go_ and process_ families; asked
// without gzip, it answers uncompressed. gzip is at BestSpeed.
func TestMetricsAsPrometheusAsks(t *testing.T) {
	f, err := zktest.NewFakeServer(map[string][]byte{"srvr": []byte("Zookeeper version: 3.8.0\nZxid: 0x100000002\nMode: standalone\nNode count: 5\n")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	srv := testServer(t, testOptions(f.Addr()), collector.DefaultWatchOptions(), "ensemble")
	for _, gz := range []bool{true, false} {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1")
		if gz {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		// A transport of its own: the default one would ask for gzip and
		// decompress unasked.
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		text := raw
		if enc := resp.Header.Get("Content-Encoding"); (enc == "gzip") != gz {
			t.Errorf("gzip asked %v: Content-Encoding %q", gz, enc)
		} else if gz {
			// The header's XFL byte is 4 for the fastest level (RFC 1952):
			// BestSpeed, not promhttp's default level.
			if len(raw) < 10 || raw[8] != 4 {
				t.Errorf("gzip header % x: not compressed at BestSpeed", raw[:min(len(raw), 10)])
			}
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if text, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
			t.Errorf("Content-Type %q", ct)
		}
		for _, want := range []string{"zookeeper_ensemble_leaders 1\n", "zookeeper_exporter_build_info{", "go_goroutines ", "process_cpu_seconds_total ", "go_info{"} {
			if !strings.Contains(string(text), want) {
				t.Errorf("gzip asked %v: no %q in the answer", gz, want)
			}
		}
	}
}
