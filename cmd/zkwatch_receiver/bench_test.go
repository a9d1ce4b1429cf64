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
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// loadResult is the JSON that tools/webhook-bench prints.
type loadResult struct {
	Clients   int     `json:"clients"`
	Posts     int     `json:"posts"`
	Errors    int     `json:"errors"`
	FirstErr  string  `json:"first_error"`
	Seconds   float64 `json:"seconds"`
	PostsPerS float64 `json:"posts_per_second"`
	P50Ms     float64 `json:"p50_ms"`
	P99Ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
}

// BenchmarkWebhookLoad runs the real receiver binary with the durable
// (fsynced) store and no notifiers, and loads POST /webhook from a
// separate process (tools/webhook-bench) over HTTP on 127.0.0.1: 16
// concurrent clients, each post a distinct alert that has just fired.
// Every post must be answered 200 and be in the store afterwards. The goal
// (issue 14) is 3,000 posts/s with p99 under 20 ms.
func BenchmarkWebhookLoad(b *testing.B) {
	const (
		clients = "16"
		warmup  = 500
		posts   = 20000
	)
	dir := b.TempDir()
	tool := filepath.Join(dir, "webhook-bench")
	if out, err := exec.Command("go", "build", "-o", tool, "../../tools/webhook-bench").CombinedOutput(); err != nil {
		b.Fatalf("go build webhook-bench: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(b, cfg, "routes: []\n")
	for range b.N {
		p := launch(b, cfg, b.TempDir())
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(tool, "--url="+p.url, "--clients="+clients, "--warmup="+strconv.Itoa(warmup), "--posts="+strconv.Itoa(posts), "--max-duration=120s")
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		runErr := cmd.Run()
		var r loadResult
		if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
			b.Fatalf("webhook-bench: %v, %v\n%s", runErr, err, stderr.String())
		}
		if runErr != nil || r.Errors > 0 || r.Posts != posts {
			b.Fatalf("webhook-bench: %v; %d posts, %d errors (first: %s)\n%s", runErr, r.Posts, r.Errors, r.FirstErr, strings.TrimSpace(stderr.String()))
		}
		if got := p.metric(`zkwatch_receiver_webhook_requests_total{code="200"}`); got != warmup+posts {
			b.Errorf("receiver answered %g posts with 200, want %d", got, warmup+posts)
		}
		if got := p.metric(`zkwatch_receiver_incidents{status="firing"}`); got != warmup+posts {
			b.Errorf("store holds %g firing incidents, want %d", got, warmup+posts)
		}
		p.kill()
		b.ReportMetric(r.PostsPerS, "posts/s")
		b.ReportMetric(r.P50Ms, "p50-ms")
		b.ReportMetric(r.P99Ms, "p99-ms")
		b.ReportMetric(r.MaxMs, "max-ms")
		b.ReportMetric(float64(r.Clients), "clients")
	}
}
