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
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// TestShippedExampleRestartsMember runs the real receiver with
// examples/receiver.yml as shipped, except that the restart command is a
// script that records its argv and the notifiers point at a local sink,
// and feeds it the exact payload Alertmanager sent for the mixin's
// ZooKeeperProcessMemberDown in the end-to-end test (group is a ZooKeeper
// path, /monitor/demo). The restart command must really run with the
// group and member as its arguments.
func TestShippedExampleRestartsMember(t *testing.T) {
	dir := t.TempDir()
	sink := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer sink.Close()
	ran := filepath.Join(dir, "ran")
	script := filepath.Join(dir, "restart-member")
	writeFile(t, script, fmt.Sprintf("#!/bin/sh\nprintf '%%s\\n' \"$ZKWATCH_ALERTNAME\" \"$@\" >> %q\n", ran))
	if err := os.Chmod(script, 0o755); err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("../../examples/receiver.yml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.ReplaceAll(string(example), "/usr/local/bin/restart-member", script)
	for _, port := range []string{"9999", "9998", "9997"} {
		cfg = strings.ReplaceAll(cfg, "http://127.0.0.1:"+port, sink.URL)
	}
	if cfg == string(example) {
		t.Fatal("example has no /usr/local/bin/restart-member to replace")
	}
	cfgFile := filepath.Join(dir, "receiver.yml")
	writeFile(t, cfgFile, cfg)
	p := launch(t, cfgFile, filepath.Join(dir, "data"))

	body, err := os.ReadFile("../../receiver/payload/testdata/alertmanager-zookeeperprocessmemberdown-firing.json")
	if err != nil {
		t.Fatal(err)
	}
	if code, err := post(p.url, string(body)); err != nil || code != http.StatusOK {
		t.Fatalf("webhook: %d %v", code, err)
	}
	want := "ZooKeeperProcessMemberDown\n/monitor/demo\napp\n"
	if err := zktest.WaitFor(30*time.Second, 50*time.Millisecond, func() error {
		got, err := os.ReadFile(ran)
		if err != nil {
			return fmt.Errorf("restart command did not run: %v", err)
		}
		if string(got) != want {
			return fmt.Errorf("restart command ran with %q, want %q", got, want)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The command's output appears before the receiver records the
	// outcome: wait for the counter too.
	if err := zktest.WaitFor(30*time.Second, 50*time.Millisecond, func() error {
		if v := p.metric(`zkwatch_receiver_restarts_total{outcome="success",rule="restart-member"}`); v != 1 {
			return fmt.Errorf("successful restarts = %v, want 1", v)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}
