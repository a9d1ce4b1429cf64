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
	"bufio"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"

	"github.com/zkwatch/zkwatch/collector"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

// TestProbeCacheKeepsHundredEnsembles: with the default flags, probing 100
// ensembles in turn keeps the collector of each (its leader-change count)
// from one round to the next; the cache of 64 it replaced rebuilt every
// collector at every probe once more than 64 ensembles were probed.
func TestProbeCacheKeepsHundredEnsembles(t *testing.T) {
	app := kingpin.New("test", "")
	o := addFlags(app)
	if _, err := app.Parse(nil); err != nil {
		t.Fatal(err)
	}
	c := newProbeCache(o.probeMaxEnsembles)
	t.Cleanup(func() {
		for _, e := range c.m {
			e.zk.Close()
		}
	})
	builds := 0
	for round := 0; round < 3; round++ {
		for i := 1; i <= 100; i++ {
			key := fmt.Sprintf("127.0.0.1:%d", i)
			_, err := c.get(key, func() (*collector.ZooKeeperCollector, error) {
				builds++
				return collector.New(collector.Config{Servers: []string{key}, Timeout: time.Second, Transport: "4lw"}, log.NewNopLogger(), "ensemble")
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if builds != 100 {
		t.Errorf("3 rounds over 100 ensembles built %d collectors, want 100 (one per ensemble)", builds)
	}
}

// TestProbeCacheForgetsLeastRecentlyProbed: beyond --probe.max-ensembles the
// least recently probed ensemble's collector is closed and forgotten.
func TestProbeCacheForgetsLeastRecentlyProbed(t *testing.T) {
	c := newProbeCache(2)
	built := map[string]int{}
	probe := func(key string) {
		if _, err := c.get(key, func() (*collector.ZooKeeperCollector, error) {
			built[key]++
			return collector.New(collector.Config{Servers: []string{key}, Timeout: time.Second, Transport: "4lw"}, log.NewNopLogger(), "ensemble")
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:1", "127.0.0.1:3", "127.0.0.1:1", "127.0.0.1:2"} {
		probe(k)
	}
	// :2 was the least recently probed when :3 came, so it was rebuilt.
	want := map[string]int{"127.0.0.1:1": 1, "127.0.0.1:2": 2, "127.0.0.1:3": 1}
	for k, n := range want {
		if built[k] != n {
			t.Errorf("%s built %d times, want %d (all: %v)", k, built[k], n, built)
		}
	}
	if len(c.m) != 2 {
		t.Errorf("cache holds %d collectors, want 2", len(c.m))
	}
}

// TestProbeHungEnsembleDoesNotDelayOthers: while the probe of a paused
// (SIGSTOPped) real ZooKeeper waits for its answer, probes of another real
// ensemble through the same exporter are answered, and up, before it ends.
func TestProbeHungEnsembleDoesNotDelayOthers(t *testing.T) {
	hung := zktest.Start(t, 1, func(o *zktest.Options) { o.Heap = "64m" })
	healthy := zktest.Start(t, 1, func(o *zktest.Options) { o.Heap = "64m" })
	o := testOptions(healthy.Servers())
	o.timeout = time.Minute // the hung probe lasts as long as Prometheus's timeout allows
	srv := testServer(t, o, collector.DefaultWatchOptions(), "ensemble")
	hung.Pause(0)
	t.Cleanup(func() { hung.Resume(0) })

	hungDone := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/probe?target="+hung.Servers(), nil)
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "30")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			hungDone <- err.Error()
			return
		}
		resp.Body.Close()
		hungDone <- resp.Status
	}()
	// The hung probe is in flight once its connection to the paused member
	// is established (the kernel accepts it; the JVM never reads it).
	port := hung.Members[0].ClientPort
	if err := zktest.WaitFor(20*time.Second, 5*time.Millisecond, func() error {
		if n, err := establishedTo(port); err != nil || n == 0 {
			return fmt.Errorf("no connection to the paused member yet (%v)", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		start := time.Now()
		code, body := get(t, srv.URL+"/probe?target="+healthy.Servers())
		want := fmt.Sprintf(`zookeeper_up{server=%q} 1`, healthy.Servers())
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Fatalf("probe %d of the healthy ensemble: %d, no %s", i, code, want)
		}
		select {
		case s := <-hungDone:
			t.Fatalf("the hung probe ended (%s) before the healthy probe %d was answered (%s after it was sent)", s, i, time.Since(start))
		default:
		}
	}
}

// establishedTo counts established IPv4 TCP connections whose remote port
// is port (/proc/net/tcp: st 01; addresses in hex).
func establishedTo(port int) (int, error) {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || fields[3] != "01" {
			continue
		}
		_, hexPort, ok := strings.Cut(fields[2], ":")
		if p, err := strconv.ParseInt(hexPort, 16, 32); ok && err == nil && int(p) == port {
			n++
		}
	}
	return n, sc.Err()
}
