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

package config

import (
	"os"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const watchdogNotifiers = "notifiers:\n- name: ding\n  webhook: {url: http://127.0.0.1/hook}\n- name: sms\n  webhook: {url: http://127.0.0.1/sms}\n"

func TestWatchdogDefaults(t *testing.T) {
	c, err := Load([]byte(watchdogNotifiers))
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Watchdog; w.AlertName != "Watchdog" || w.MissingAfter != 5*time.Minute || len(w.Notifiers) != 0 {
		t.Errorf("defaults %+v", w)
	}
	c, err = Load([]byte(watchdogNotifiers + "watchdog:\n  notifiers: [ding, sms]\n  missing_after: 90s\n"))
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Watchdog; w.AlertName != "Watchdog" || w.MissingAfter != 90*time.Second || strings.Join(w.Notifiers, ",") != "ding,sms" {
		t.Errorf("watchdog %+v", w)
	}
	if !c.Watchdog.IsWatchdog(map[string]string{"alertname": "Watchdog"}) || c.Watchdog.IsWatchdog(map[string]string{"alertname": "ZooKeeperDown"}) {
		t.Error("IsWatchdog")
	}
	// Another Prometheus' Watchdog is told apart by a label.
	c, err = Load([]byte(watchdogNotifiers + "watchdog:\n  match: {prometheus: zk}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Watchdog.IsWatchdog(map[string]string{"alertname": "Watchdog", "prometheus": "zk"}) ||
		c.Watchdog.IsWatchdog(map[string]string{"alertname": "Watchdog", "prometheus": "k8s"}) ||
		c.Watchdog.IsWatchdog(map[string]string{"alertname": "Watchdog"}) {
		t.Error("IsWatchdog with match")
	}
}

// Bad watchdog settings name the setting and what is wrong with it.
func TestWatchdogConfigErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"watchdog:\n  missing_after: 5 minutes\n", "line 7: cannot unmarshal !!str `5 minutes` into time.Duration"},
		{"watchdog:\n  missing_after: 5x\n", "line 7: cannot unmarshal !!str `5x`"},
		{"watchdog:\n  missing_after: -1m\n", "watchdog: missing_after must be at least 1s"},
		{"watchdog:\n  missing_after: 0s\n", "watchdog: missing_after must be at least 1s"},
		{"watchdog:\n  missing_after: 10ms\n", "got 10ms"},
		{"watchdog:\n  alertname: \"\"\n", "watchdog: alertname must not be empty"},
		{"watchdog:\n  notifiers: [pager]\n", `watchdog: unknown notifier "pager"`},
		{"watchdog:\n  notifiers: [ding, ding]\n", `watchdog: notifier "ding" listed twice`},
		{"watchdog:\n  notifiers: ding\n", "cannot unmarshal !!str `ding` into []string"},
		{"watchdog:\n  missing: 5m\n", "field missing not found"},
		{"watchdog:\n  match: {alertname: X}\n", "watchdog: match must not hold alertname"},
	} {
		_, err := Load([]byte(watchdogNotifiers + tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

// The shipped example pages through the watchdog, with a window that
// outlasts several of the repeats examples/alertmanager.yml sends.
func TestExampleWatchdogOutlastsAlertmanagerRepeats(t *testing.T) {
	c, err := LoadFile("../../examples/receiver.yml")
	if err != nil {
		t.Fatal(err)
	}
	w := c.Watchdog
	if w.AlertName != "Watchdog" || strings.Join(w.Notifiers, ",") != "ding,sms" {
		t.Errorf("example watchdog %+v", w)
	}
	b, err := os.ReadFile("../../examples/alertmanager.yml")
	if err != nil {
		t.Fatal(err)
	}
	var am struct {
		Route struct {
			Routes []struct {
				Matchers       []string `yaml:"matchers"`
				RepeatInterval string   `yaml:"repeat_interval"`
				GroupInterval  string   `yaml:"group_interval"`
			} `yaml:"routes"`
		} `yaml:"route"`
	}
	if err := yaml.Unmarshal(b, &am); err != nil {
		t.Fatal(err)
	}
	for _, r := range am.Route.Routes {
		if strings.Join(r.Matchers, ",") != `alertname="`+w.AlertName+`"` {
			continue
		}
		repeat, err := time.ParseDuration(r.RepeatInterval)
		if err != nil {
			t.Fatalf("repeat_interval %q: %v", r.RepeatInterval, err)
		}
		group, _ := time.ParseDuration(r.GroupInterval)
		if every := max(repeat, group); w.MissingAfter < 3*every {
			t.Errorf("missing_after %s pages after fewer than three missed repeats (every %s)", w.MissingAfter, every)
		}
		return
	}
	t.Errorf("examples/alertmanager.yml has no route for %s", w.AlertName)
}
