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
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/collector"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

// BenchmarkWatchDetectionMetrics measures what a Prometheus-like client
// sees: the exporter runs with the default collectors on a 3-member
// ensemble (so /metrics includes probing the ensemble), a client polls
// /metrics back to back, and each of 100 deletes of a group member is timed
// from the delete call until the first /metrics answer showing the smaller
// zookeeper_group_members. The client reads each answer into a buffer it
// keeps and asks for it uncompressed, as a script polling with curl does;
// it runs with the default --zookeeper.probe-reuse, with it and gzip (as
// Prometheus asks: the answer's compression and decompression are then
// part of every poll), and with 0 (every poll probes the ensemble, as
// before it existed).
func BenchmarkWatchDetectionMetrics(b *testing.B) {
	ens := zktest.Start(b, 3)
	if err := ens.WaitHealthy(60 * time.Second); err != nil {
		b.Fatal(err)
	}
	actor, _, err := zk.Connect(ens.Addrs(), 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		b.Fatal(err)
	}
	defer actor.Close()
	for _, p := range []string{"/bench", "/bench/w"} {
		if _, err := actor.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err != nil && err != zk.ErrNodeExists {
			b.Fatal(err)
		}
	}
	for _, tc := range []struct {
		reuse time.Duration
		gzip  bool
	}{{testOptions("").probeReuse, false}, {testOptions("").probeReuse, true}, {0, false}} {
		name := fmt.Sprintf("probe-reuse=%s", tc.reuse)
		if tc.gzip {
			name += ",gzip"
		}
		b.Run(name, func(b *testing.B) {
			o := testOptions(ens.Servers())
			o.probeReuse = tc.reuse
			watchDetection(b, actor, o, tc.gzip)
		})
	}
}

func watchDetection(b *testing.B, actor *zk.Conn, o *options, gzip bool) {
	const n = 100
	for i := 0; i < n; i++ {
		if _, err := actor.Create(fmt.Sprintf("/bench/w/m%03d", i), nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
			b.Fatal(err)
		}
	}
	watch := collector.DefaultWatchOptions()
	watch.Groups = []string{"/bench/w"}
	var defaults []string
	for _, name := range collector.Names() {
		if collector.DefaultEnabled(name) {
			defaults = append(defaults, name)
		}
	}
	srv := testServer(b, o, watch, defaults...)
	const line = `zookeeper_group_members{group="/bench/w"} `
	var want atomic.Int64
	want.Store(n)
	found := make(chan time.Time, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := &http.Client{Transport: &http.Transport{DisableCompression: !gzip}}
	polls := pollMetrics(ctx, b, client, srv.URL+"/metrics", line, &want, found)
	select {
	case <-found: // synced
	case <-time.After(60 * time.Second):
		b.Fatal("group not synced")
	}
	var lat, acked, afterAck []time.Duration
	b.ResetTimer()
	for i := n - 1; i >= 0; i-- {
		want.Store(int64(i))
		t0 := time.Now()
		if err := actor.Delete(fmt.Sprintf("/bench/w/m%03d", i), -1); err != nil {
			b.Fatal(err)
		}
		ack := time.Now()
		acked = append(acked, ack.Sub(t0))
		at := <-found
		lat = append(lat, at.Sub(t0))
		afterAck = append(afterAck, at.Sub(ack))
	}
	b.StopTimer()
	cancel()
	sortDurations(lat)
	sortDurations(acked)
	sortDurations(afterAck)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	// The delete's own round trip (a quorum write on 3 members) is part of
	// the detection time: what the exporter adds is the rest.
	b.ReportMetric(float64(acked[len(acked)/2].Microseconds())/1000, "delete-ack-median-ms")
	b.ReportMetric(float64(afterAck[len(afterAck)/2].Microseconds())/1000, "after-ack-median-ms")
	b.ReportMetric(float64((<-polls).Microseconds())/1000, "poll-median-ms")
}

func sortDurations(d []time.Duration) { sort.Slice(d, func(i, j int) bool { return d[i] < d[j] }) }

// pollMetrics GETs url back to back until ctx ends. When an answer's line
// value equals want, it sends the answer's arrival time on found and resets
// want to -1. The median poll duration is sent on the returned channel at
// the end.
func pollMetrics(ctx context.Context, b *testing.B, client *http.Client, url, line string, want *atomic.Int64, found chan<- time.Time) <-chan time.Duration {
	out := make(chan time.Duration, 1)
	go func() {
		var durs []time.Duration
		var buf bytes.Buffer
		defer func() {
			sortDurations(durs)
			if len(durs) == 0 {
				durs = append(durs, 0)
			}
			out <- durs[len(durs)/2]
		}()
		for ctx.Err() == nil {
			t0 := time.Now()
			v, err := metricValue(ctx, client, url, line, &buf)
			if err != nil {
				if ctx.Err() == nil {
					b.Error(err)
				}
				return
			}
			now := time.Now()
			durs = append(durs, now.Sub(t0))
			if w := want.Load(); w >= 0 && v == w && want.CompareAndSwap(w, -1) {
				found <- now
			}
		}
	}()
	return out
}

// metricValue fetches url into buf and returns the value on the line
// starting with line.
func metricValue(ctx context.Context, client *http.Client, url, line string, buf *bytes.Buffer) (int64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return 0, err
	}
	body := buf.Bytes()
	i := bytes.Index(body, []byte("\n"+line))
	if i < 0 {
		return -1, nil
	}
	v, _, _ := bytes.Cut(body[i+1+len(line):], []byte("\n"))
	return strconv.ParseInt(string(v), 10, 64)
}
