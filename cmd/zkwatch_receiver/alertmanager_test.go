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
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// alertmanager is a real Alertmanager that sends every alert at once to
// a receiver's webhook.
type alertmanager struct {
	t   *testing.T
	url string
}

// startAlertmanager runs Alertmanager with one webhook receiver, sending
// token as the bearer token. It skips (fails under CI=true) when the
// binary is missing.
func startAlertmanager(t *testing.T, webhookURL, token string) *alertmanager {
	t.Helper()
	bin := ""
	for _, name := range []string{"prometheus-alertmanager", "alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("alertmanager not installed")
		}
		t.Skip("alertmanager not installed")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	writeFile(t, cfg, fmt.Sprintf(`
route:
  receiver: zkwatch
  group_by: ['...']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: zkwatch
    webhook_configs:
      - url: %q
        send_resolved: true
        http_config:
          authorization: {credentials: %q}
`, webhookURL, token))
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("alertmanager log:\n%s", logs.String())
		}
	})
	am := &alertmanager{t: t, url: "http://" + addr}
	if err := zktest.WaitFor(60*time.Second, 50*time.Millisecond, func() error {
		resp, err := http.Get(am.url + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("ready: %d", resp.StatusCode)
		}
		return nil
	}); err != nil {
		t.Fatalf("alertmanager not ready: %v", err)
	}
	return am
}

// post sends alerts to Alertmanager's API.
func (am *alertmanager) post(alerts []map[string]any) error {
	b, _ := json.Marshal(alerts)
	resp, err := http.Post(am.url+"/api/v2/alerts", "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("alertmanager answered %d", resp.StatusCode)
	}
	return nil
}

// fire posts firing alerts with the given label sets.
func (am *alertmanager) fire(labels ...map[string]string) {
	am.t.Helper()
	var alerts []map[string]any
	for _, l := range labels {
		alerts = append(alerts, map[string]any{"labels": l, "startsAt": time.Now().UTC().Format(time.RFC3339)})
	}
	if err := am.post(alerts); err != nil {
		am.t.Fatal(err)
	}
}
