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

// Command webhook-bench posts Alertmanager webhook payloads to a receiver
// on the loopback interface from concurrent clients and prints the
// throughput and latency as JSON. It is the separate client process of the
// receiver's load benchmark (bench/, `make bench`): bounded in posts and
// time, every answer must be 200.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alecthomas/kingpin/v2"
)

// Result is what webhook-bench prints.
type Result struct {
	Clients   int     `json:"clients"`
	Posts     int     `json:"posts"`
	Errors    int     `json:"errors"`
	FirstErr  string  `json:"first_error,omitempty"`
	Seconds   float64 `json:"seconds"`
	PostsPerS float64 `json:"posts_per_second"`
	P50Ms     float64 `json:"p50_ms"`
	P99Ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
}

func main() {
	app := kingpin.New("webhook-bench", "Load generator for zkwatch_receiver's POST /webhook (loopback only).")
	target := app.Flag("url", "Receiver base URL, on 127.0.0.1, ::1 or localhost.").Required().String()
	clients := app.Flag("clients", "Concurrent clients, each posting one payload at a time.").Default("16").Int()
	posts := app.Flag("posts", "Measured posts in all.").Default("20000").Int()
	warmup := app.Flag("warmup", "Posts before the measurement (not counted).").Default("500").Int()
	maxTime := app.Flag("max-duration", "Stop issuing posts after this long.").Default("60s").Duration()
	kingpin.MustParse(app.Parse(os.Args[1:]))

	if err := checkLoopback(*target); err != nil {
		fmt.Fprintln(os.Stderr, "webhook-bench:", err)
		os.Exit(2)
	}
	if *clients < 1 || *posts < 1 || *warmup < 0 {
		fmt.Fprintln(os.Stderr, "webhook-bench: --clients and --posts must be positive, --warmup not negative")
		os.Exit(2)
	}
	l := &load{url: strings.TrimSuffix(*target, "/") + "/webhook", client: &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: *clients, MaxConnsPerHost: *clients},
	}}
	if _, err := l.run(*clients, *warmup, time.Now().Add(*maxTime)); err != nil {
		fmt.Fprintln(os.Stderr, "webhook-bench: warm-up:", err)
		os.Exit(1)
	}
	res, err := l.run(*clients, *posts, time.Now().Add(*maxTime))
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		os.Exit(1)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "webhook-bench:", err)
		os.Exit(1)
	}
}

// checkLoopback refuses a URL that is not http on a loopback address.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("--url: %w", err)
	}
	if u.Scheme != "http" {
		return fmt.Errorf("--url %q: want http://127.0.0.1:PORT", raw)
	}
	if h := u.Hostname(); h != "localhost" {
		if ip := net.ParseIP(h); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("--url %q: only loopback addresses are allowed", raw)
		}
	}
	return nil
}

// load posts distinct alerts, each just fired, as in a real burst.
type load struct {
	url    string
	client *http.Client
	seq    atomic.Int64
}

func (l *load) payload() string {
	n := l.seq.Add(1)
	return fmt.Sprintf(`{"version":"4","status":"firing","receiver":"zkwatch","groupKey":"{}:{}","alerts":[{"status":"firing",`+
		`"startsAt":%q,"endsAt":"0001-01-01T00:00:00Z","labels":{"alertname":"ZooKeeperDown","server":"10.%d.%d.%d:2181","severity":"critical"},`+
		`"annotations":{"summary":"ZooKeeper is down.","description":"The server has not answered for 5 minutes."}}]}`,
		time.Now().UTC().Format(time.RFC3339Nano), n/62500%250, n/250%250, n%250)
}

func (l *load) post() error {
	resp, err := l.client.Post(l.url, "application/json", strings.NewReader(l.payload()))
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// run makes n posts from clients concurrent clients, issuing none after
// deadline, and returns their latencies' summary; any failed post is an
// error.
func (l *load) run(clients, n int, deadline time.Time) (Result, error) {
	var (
		left   atomic.Int64
		mu     sync.Mutex
		lat    = make([]time.Duration, 0, n)
		errs   []error
		nErr   int
		wg     sync.WaitGroup
		begin  = time.Now()
		record = func(d time.Duration, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				nErr++
				if len(errs) == 0 {
					errs = append(errs, err)
				}
				return
			}
			lat = append(lat, d)
		}
	)
	left.Store(int64(n))
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 && time.Now().Before(deadline) {
				t0 := time.Now()
				err := l.post()
				record(time.Since(t0), err)
			}
		}()
	}
	wg.Wait()
	return summarize(clients, lat, nErr, errors.Join(errs...), time.Since(begin)), errors.Join(errs...)
}

func summarize(clients int, lat []time.Duration, nErr int, err error, elapsed time.Duration) Result {
	r := Result{Clients: clients, Posts: len(lat), Errors: nErr, Seconds: elapsed.Seconds()}
	if err != nil {
		r.FirstErr = err.Error()
	}
	if len(lat) == 0 {
		return r
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	r.PostsPerS = float64(len(lat)) / elapsed.Seconds()
	r.P50Ms, r.P99Ms, r.MaxMs = ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]), ms(lat[len(lat)-1])
	return r
}
