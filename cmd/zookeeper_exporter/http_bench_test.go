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
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zkwatch/zkwatch/collector"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

// BenchmarkHTTPScrape measures the exporter's HTTP path in-process: the
// mux with the ensemble collector, three members answering the captured
// 3.8 fixtures (internal/zktest's fake four-letter-word server), scraped
// over a keep-alive connection, uncompressed, as the side-by-side table
// scrapes. /metrics (probe reuse off, so every scrape probes) includes
// the exporter's own go_/process_ metrics, /probe does not.
func BenchmarkHTTPScrape(b *testing.B) {
	var addrs []string
	for _, role := range []string{"leader", "follower", "follower"} {
		answers := map[string][]byte{}
		for _, cmd := range []string{"mntr", "srvr", "conf"} {
			data, err := os.ReadFile(filepath.Join("..", "..", "internal", "fourlw", "testdata", role+"."+cmd+".txt"))
			if err != nil {
				b.Fatal(err)
			}
			answers[cmd] = data
		}
		f, err := zktest.NewFakeServer(answers)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(f.Close)
		addrs = append(addrs, f.Addr())
	}
	o := testOptions(strings.Join(addrs, ","))
	o.probeReuse = 0
	srv := testServer(b, o, collector.WatchOptions{}, "ensemble")
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	for _, path := range []string{"/metrics", "/probe?target=" + strings.Join(addrs, ",")} {
		b.Run(strings.TrimPrefix(strings.SplitN(path, "?", 2)[0], "/"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Get(srv.URL + path)
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || n < 10000 {
					b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
				}
			}
		})
	}
}
