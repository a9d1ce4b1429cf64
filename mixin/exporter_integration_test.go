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

package mixin_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

type nopZKLogger struct{}

func (nopZKLogger) Printf(string, ...any) {}

// mixinExporterMetrics returns the zookeeper_* names the rules and dashboards
// select.
func mixinExporterMetrics(t *testing.T) []string {
	seen := map[string]bool{}
	add := func(expr string) {
		e, err := promql.ParseExpr(substituteVariables(expr))
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		for _, n := range metricNames(t, e) {
			if strings.HasPrefix(n, "zookeeper_") {
				seen[n] = true
			}
		}
	}
	for _, r := range append(alertRules(t), recordingRules(t)...) {
		add(r.Expr)
	}
	for _, d := range loadDashboards(t) {
		for _, p := range allPanels(d.Panels) {
			for _, tg := range p.Targets {
				add(tg.Expr)
			}
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// scrapeFamilies returns the metric family names of a /metrics page.
func scrapeFamilies(url string) (map[string]bool, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	fams := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			fams[line[:i]] = true
		}
	}
	return fams, sc.Err()
}

func mustCreate(t *testing.T, c *zk.Conn, path string, data string, flags int32) string {
	t.Helper()
	// Parents first, as persistent nodes.
	for i := 1; i < len(path); i++ {
		if path[i] == '/' {
			if _, err := c.Create(path[:i], nil, 0, zk.WorldACL(zk.PermAll)); err != nil && err != zk.ErrNodeExists {
				t.Fatalf("create %s: %v", path[:i], err)
			}
		}
	}
	p, err := c.Create(path, []byte(data), flags, zk.WorldACL(zk.PermAll))
	if err != nil {
		t.Fatalf("create %s: %v", path, err)
	}
	return p
}

// TestExporterExposesMixinMetrics runs the real zookeeper_exporter against a
// real 3-member ensemble with a watch configuration covering every watch
// collector (and a path it may not read, for the watch error counter), and checks that every zookeeper_* metric the alerts, recording
// rules and dashboards use is on its /metrics page, so that a renamed metric
// cannot silently disable an alert.
func TestExporterExposesMixinMetrics(t *testing.T) {
	ens := zktest.Start(t, 3)
	if err := ens.WaitHealthy(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "zookeeper_exporter")
	build := exec.Command("go", "build", "-o", bin, "github.com/zkwatch/zkwatch/cmd/zookeeper_exporter")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	conn, _, err := zk.Connect(ens.Addrs(), 4*time.Second, zk.WithLogInfo(false), zk.WithLogger(nopZKLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Existing state before the exporter starts: one worker with a claimed
	// task, an unclaimed task and one claimed by a worker that is gone; a
	// held lock with a waiter; an election with a leader; a config znode; a
	// queue with items.
	mustCreate(t, conn, "/monitor/app/m1", `{"host":"h1","ip":"127.0.0.1"}`, zk.FlagEphemeral)
	mustCreate(t, conn, "/work/Workers/w1", "", zk.FlagEphemeral)
	mustCreate(t, conn, "/work/Tasks/t1", "w1", 0)
	mustCreate(t, conn, "/work/Tasks/t2", "", 0)
	mustCreate(t, conn, "/work/Tasks/t3", "w-gone", 0)
	mustCreate(t, conn, "/locks/a/lock-", "", zk.FlagEphemeral|zk.FlagSequence)
	mustCreate(t, conn, "/locks/a/lock-", "", zk.FlagEphemeral|zk.FlagSequence)
	firstCandidate := mustCreate(t, conn, "/election/x/latch-", "", zk.FlagEphemeral|zk.FlagSequence)
	mustCreate(t, conn, "/config/app", "v1", 0)
	mustCreate(t, conn, "/queue/jobs/item-", "", zk.FlagSequence)
	mustCreate(t, conn, "/queue/jobs/item-", "", zk.FlagSequence)
	// A group the exporter may not read, for zookeeper_watch_errors_total.
	if _, err := conn.Create("/secret", nil, 0, zk.DigestACL(zk.PermAll, "someone", "secret")); err != nil {
		t.Fatal(err)
	}

	cfg := filepath.Join(dir, "watch.yml")
	if err := os.WriteFile(cfg, []byte(`groups:
  - path: /monitor/app
    expected: [m1, m2]
  - path: /secret
tasks:
  - root: /work
locks:
  - path: /locks/a
elections:
  - path: /election/x
znodes:
  - path: /config/app
queues:
  - path: /queue/jobs
`), 0o644); err != nil {
		t.Fatal(err)
	}

	ports, err := zktest.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	listen := net.JoinHostPort("127.0.0.1", fmt.Sprint(ports[0]))
	ctx, cancel := context.WithCancel(context.Background())
	var logs strings.Builder
	cmd := exec.CommandContext(ctx, bin,
		"--zookeeper.servers="+ens.Servers(),
		"--web.listen-address="+listen,
		"--watch.config.file="+cfg,
	)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("exporter log:\n%s", logs.String())
		}
	})
	url := "http://" + listen + "/metrics"

	// Events after the exporter has synced its views: a member joins, the
	// config znode changes and the election changes its leader.
	synced := regexp.MustCompile(`(?m)^zookeeper_watch_synced\{[^}]*root="/election/x"[^}]*\} 1$`)
	if err := zktest.WaitFor(60*time.Second, 200*time.Millisecond, func() error {
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if !synced.Match(b) {
			return fmt.Errorf("watch views not synced yet")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, conn, "/monitor/app/m3", "h3:127.0.0.3", zk.FlagEphemeral)
	if _, err := conn.Set("/config/app", []byte("v2"), -1); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, conn, "/election/x/latch-", "", zk.FlagEphemeral|zk.FlagSequence)
	if err := conn.Delete(firstCandidate, -1); err != nil {
		t.Fatal(err)
	}

	want := mixinExporterMetrics(t)
	t.Logf("checking %d zookeeper_* metrics used by the mixin", len(want))
	err = zktest.WaitFor(60*time.Second, 250*time.Millisecond, func() error {
		fams, err := scrapeFamilies(url)
		if err != nil {
			return err
		}
		var missing []string
		for _, n := range want {
			if !fams[n] {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("missing from /metrics: %s", strings.Join(missing, ", "))
		}
		return nil
	})
	if err != nil {
		t.Errorf("metrics used by the mixin that the running exporter does not expose: %v", err)
	}
}
