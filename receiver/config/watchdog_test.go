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
	"strings"
	"testing"
	"time"
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
	} {
		_, err := Load([]byte(watchdogNotifiers + tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
