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

package web_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/receiver/receivertest"
)

// BenchmarkWebhookThroughput measures POST /webhook end to end over HTTP
// with the durable (fsynced) store: each iteration is a burst of distinct
// alerts from concurrent clients, like Alertmanager fanning out groups.
// It reports posts/s and the 99th percentile latency in milliseconds.
func BenchmarkWebhookThroughput(b *testing.B) {
	for _, c := range []struct {
		name, cfg string
	}{
		{"store", ""},
		{"notify", "notifiers: [{name: sink, webhook: {url: %q}}]\nroutes: [{notifiers: [sink]}]\n"},
	} {
		b.Run(c.name, func(b *testing.B) { benchWebhook(b, c.cfg) })
	}
}

func benchWebhook(b *testing.B, cfgTmpl string) {
	const (
		clients = 32
		burst   = 4000
	)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer sink.Close()
	cfgText := cfgTmpl
	if strings.Contains(cfgTmpl, "%q") {
		cfgText = fmt.Sprintf(cfgTmpl, sink.URL)
	}
	srv := receivertest.Start(b, cfgText).Server
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}

	// Each alert has just fired, as in a real burst.
	body := func(n int64) string {
		startsAt := time.Now().UTC().Format(time.RFC3339Nano)
		m := map[string]any{
			"version": "4", "status": "firing", "receiver": "zkwatch", "groupKey": "{}:{}",
			"alerts": []map[string]any{{
				"status": "firing", "startsAt": startsAt, "endsAt": "0001-01-01T00:00:00Z",
				"labels":      map[string]string{"alertname": "ZooKeeperDown", "server": fmt.Sprintf("10.0.%d.%d:2181", n/250, n%250), "severity": "critical"},
				"annotations": map[string]string{"summary": "ZooKeeper is down.", "description": "The server has not answered for 5 minutes."},
			}},
		}
		out, _ := json.Marshal(m)
		return string(out)
	}
	var seq atomic.Int64
	var total time.Duration
	var lat []time.Duration
	b.ResetTimer()
	for range b.N {
		var mu sync.Mutex
		var wg sync.WaitGroup
		begin := time.Now()
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []time.Duration
				for range burst / clients {
					payload := body(seq.Add(1))
					t0 := time.Now()
					resp, err := client.Post(srv.URL+"/webhook", "application/json", strings.NewReader(payload))
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		total += time.Since(begin)
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) == 0 {
		return
	}
	b.ReportMetric(float64(len(lat))/total.Seconds(), "posts/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}
