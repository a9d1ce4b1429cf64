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
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"go.yaml.in/yaml/v3"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// TestLoadAlertsOnRecordedSeries records the real exporter's /metrics on a
// real 3-member ensemble before and after two kinds of load, and has
// promtool evaluate the shipped alert rules on the recorded series:
// ZooKeeperZnodeNearMaxBuffer fires for a 900 KB znode under a watched
// group, ZooKeeperClientConnectionsShare for 55 sessions from 127.0.0.2
// on one member, and neither fires before.
func TestLoadAlertsOnRecordedSeries(t *testing.T) {
	promtool := requireTool(t, "promtool")
	ens := zktest.Start(t, 3)
	bin := buildExporter(t)
	conn, _, err := zk.Connect(ens.Addrs(), 4*time.Second, zk.WithLogInfo(false), zk.WithLogger(nopZKLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	mustCreate(t, conn, "/monitor/big/small", "0123456789", 0)
	cfg := filepath.Join(t.TempDir(), "watch.yml")
	if err := os.WriteFile(cfg, []byte("groups:\n  - path: /monitor/big\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	url := startExporter(t, bin, ens.Servers(), cfg, "--collector.connections")
	member := ens.Addrs()[0]
	before := scrapeWhen(t, url, `zookeeper_watch_largest_data_bytes{root="/monitor/big"} 10`)

	mustCreate(t, conn, "/monitor/big/blob", strings.Repeat("x", 900<<10), 0)
	const sessions = 55
	for range sessions {
		c := dialFrom(t, member, "127.0.0.2")
		defer c.Close()
	}
	after := scrapeWhen(t, url, `zookeeper_watch_largest_data_bytes{root="/monitor/big"} 921600`,
		fmt.Sprintf(`zookeeper_top_client_connections{client="127.0.0.2",server=%q} %d`, member, sessions))

	// Two minutes as before, then twenty as after.
	var series []map[string]string
	for _, name := range []string{"zookeeper_watch_largest_data_bytes", "zookeeper_jute_maxbuffer_bytes", "zookeeper_top_client_connections"} {
		for _, line := range strings.Split(after, "\n") {
			if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
				continue
			}
			key, val := line[:strings.LastIndexByte(line, ' ')], line[strings.LastIndexByte(line, ' ')+1:]
			old := "_"
			for _, b := range strings.Split(before, "\n") {
				if strings.HasPrefix(b, key+" ") {
					old = strings.TrimPrefix(b, key+" ")
				}
			}
			series = append(series, map[string]string{"series": withEnsemble(key), "values": fmt.Sprintf("%s %s %sx19", old, old, val)})
		}
	}
	ensemble := map[string]string{"severity": "warning", "job": "zookeeper", "instance": "ens"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range ensemble {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	none := []map[string]any{}
	rulesTest := []map[string]any{
		{"eval_time": "1m", "alertname": "ZooKeeperZnodeNearMaxBuffer", "exp_alerts": none},
		{"eval_time": "6m", "alertname": "ZooKeeperZnodeNearMaxBuffer", "exp_alerts": none},
		{"eval_time": "8m", "alertname": "ZooKeeperZnodeNearMaxBuffer", "exp_alerts": []map[string]any{{"exp_labels": with("root", "/monitor/big")}}},
		{"eval_time": "1m", "alertname": "ZooKeeperClientConnectionsShare", "exp_alerts": none},
		{"eval_time": "16m", "alertname": "ZooKeeperClientConnectionsShare", "exp_alerts": none},
		{"eval_time": "18m", "alertname": "ZooKeeperClientConnectionsShare", "exp_alerts": []map[string]any{{"exp_labels": with("server", member, "client", "127.0.0.2")}}},
	}
	dir := t.TempDir()
	rules := filepath.Join(dir, "alerts.yaml")
	if err := os.WriteFile(rules, stripAnnotations(t), 0o644); err != nil {
		t.Fatal(err)
	}
	doc, err := yaml.Marshal(map[string]any{"rule_files": []string{rules}, "evaluation_interval": "1m", "tests": []map[string]any{
		{"interval": "1m", "input_series": series, "alert_rule_test": rulesTest},
	}})
	if err != nil {
		t.Fatal(err)
	}
	testFile := filepath.Join(dir, "load-test.yaml")
	if err := os.WriteFile(testFile, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "test", "rules", testFile).CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules on the recorded series: %v\n%s\n%s", err, out, doc)
	}
}

// scrapeWhen fetches url until the page holds every line of want.
func scrapeWhen(t *testing.T, url string, want ...string) string {
	t.Helper()
	var page string
	err := zktest.WaitFor(60*time.Second, 200*time.Millisecond, func() error {
		var err error
		if page, err = fetch(url); err != nil {
			return err
		}
		for _, w := range want {
			if !strings.Contains(page, "\n"+w+"\n") {
				return fmt.Errorf("no %s", w)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return page
}

// withEnsemble adds the ensemble labels a Prometheus scrape would add.
func withEnsemble(series string) string {
	name, rest, ok := strings.Cut(series, "{")
	if !ok {
		return name + `{job="zookeeper",instance="ens"}`
	}
	return name + `{job="zookeeper",instance="ens",` + rest
}

// dialFrom opens a session to server from local address ip (127.0.0.0/8
// is all loopback on Linux), as a distinct client host.
func dialFrom(t *testing.T, server, ip string) *zk.Conn {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c, _, err := zk.Connect([]string{server}, 4*time.Second, zk.WithLogInfo(false), zk.WithLogger(nopZKLogger{}),
		zk.WithDialer(func(network, addr string, timeout time.Duration) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			return d.DialContext(ctx, network, addr)
		}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
