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
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/zkwatch/zkwatch/internal/fourlw"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

// bareMntr fetches every member's mntr at once without parsing: the limit
// for a scrape of this ensemble on this machine.
func bareMntr(b *testing.B, addrs []string) {
	var wg sync.WaitGroup
	for _, a := range addrs {
		wg.Add(1)
		go func(a string) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if _, err := fourlw.Do(ctx, a, "mntr", 0); err != nil {
				b.Error(err)
			}
		}(a)
	}
	wg.Wait()
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// benchmarkScrape compares a full /metrics scrape (probe every member,
// parse, type, expose as text) with bareMntr, interleaved after warming the
// JVMs, and reports medians and their ratio (target ≤ 1.2).
func benchmarkScrape(b *testing.B, members int) {
	e := zktest.Start(b, members)
	addrs := e.Addrs()
	zk, err := New(Config{Servers: addrs, Timeout: 5 * time.Second}, log.NewNopLogger(), "ensemble")
	if err != nil {
		b.Fatal(err)
	}
	defer zk.Close()
	scrape := func() {
		rec := httptest.NewRecorder()
		mfs, err := zk.Gather(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if err := writeText(rec, mfs); err != nil || rec.Body.Len() == 0 {
			b.Fatalf("scrape: %v", err)
		}
	}
	for i := 0; i < 100; i++ {
		bareMntr(b, addrs)
		scrape()
	}
	const rounds = 300
	var bare, full []time.Duration
	b.ResetTimer()
	for i := 0; i < rounds; i++ {
		t0 := time.Now()
		bareMntr(b, addrs)
		t1 := time.Now()
		scrape()
		t2 := time.Now()
		bare = append(bare, t1.Sub(t0))
		full = append(full, t2.Sub(t1))
	}
	b.StopTimer()
	mb, mf := median(bare), median(full)
	b.ReportMetric(float64(mb.Microseconds())/1000, "bare-mntr-ms")
	b.ReportMetric(float64(mf.Microseconds())/1000, "scrape-ms")
	b.ReportMetric(float64(mf)/float64(mb), "ratio")
}

func BenchmarkScrape3Members(b *testing.B) { benchmarkScrape(b, 3) }
func BenchmarkScrape5Members(b *testing.B) { benchmarkScrape(b, 5) }

// BenchmarkFixtureScrape measures the exporter's own share of a scrape:
// three in-process members answering captured 3.8 fixtures, so that the
// time is parsing, typing and exposition rather than JVM work. A scrape is
// what /metrics and /probe do: Gather, then the text exposition, written
// to a ResponseWriter that counts and discards (a socket's send buffer, not
// a growing in-memory copy of the body as httptest.ResponseRecorder keeps).
// Each iteration also fetches mntr and srvr from every member at once
// without parsing (timer stopped), and the ratio of the medians is reported.
func BenchmarkFixtureScrape(b *testing.B) {
	var addrs []string
	for _, p := range []string{"leader", "follower", "follower"} {
		answers := map[string][]byte{}
		for _, cmd := range []string{"mntr", "srvr", "conf"} {
			data, err := os.ReadFile(filepath.Join("..", "internal", "fourlw", "testdata", p+"."+cmd+".txt"))
			if err != nil {
				b.Fatal(err)
			}
			answers[cmd] = data
		}
		f, err := zktest.NewFakeServer(answers)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		addrs = append(addrs, f.Addr())
	}
	zk, err := New(Config{Servers: addrs, Timeout: 5 * time.Second}, log.NewNopLogger(), "ensemble")
	if err != nil {
		b.Fatal(err)
	}
	w := &discardWriter{header: http.Header{}}
	scrape := func() {
		if err := zk.GatherFunc(context.Background(), func(mfs []*dto.MetricFamily) error {
			return writeText(w, mfs)
		}); err != nil {
			b.Fatal(err)
		}
	}
	var bare, full []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		t0 := time.Now()
		bareFetch(b, addrs, "mntr", "srvr")
		bare = append(bare, time.Since(t0))
		b.StartTimer()
		t1 := time.Now()
		scrape()
		full = append(full, time.Since(t1))
	}
	b.StopTimer()
	b.ReportMetric(float64(w.n)/float64(b.N), "body-B")
	b.ReportMetric(float64(median(full))/float64(median(bare)), "x-bare-fetch")
}

// bareFetch sends cmds to every member at once and reads the answers.
func bareFetch(b *testing.B, addrs []string, cmds ...string) {
	var wg sync.WaitGroup
	for _, a := range addrs {
		for _, cmd := range cmds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := fourlw.Do(context.Background(), a, cmd, 0); err != nil {
					b.Error(err)
				}
			}()
		}
	}
	wg.Wait()
}

// discardWriter is an http.ResponseWriter that counts what it is given.
type discardWriter struct {
	header http.Header
	n      int64
}

func (w *discardWriter) Header() http.Header { return w.header }
func (w *discardWriter) WriteHeader(int)     {}
func (w *discardWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// writeText writes mfs in the text format, as /metrics answers a client
// that asks for no compression.
func writeText(w io.Writer, mfs []*dto.MetricFamily) error {
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	return nil
}
