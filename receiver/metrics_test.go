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

package receiver_test

import (
	"sort"
	"strings"
	"testing"
)

// TestCountersStartAtZero: every label combination the configuration makes
// known exists at 0 before any event, so that increase() counts the first
// restart, notification or webhook request (a series born at 1 has no
// earlier sample to increase from).
func TestCountersStartAtZero(t *testing.T) {
	e := start(t, `
notifiers:
  - name: ops
    webhook: {url: "http://127.0.0.1:1/hook"}
  - name: pager
    webhook: {url: "http://127.0.0.1:1/page"}
routes:
  - notifiers: [ops]
restarts:
  - name: restart-member
    match: {alertname: ZooKeeperProcessMemberDown}
    command: ["/bin/true", "{{ .Labels.member }}"]
`)
	series := map[string]float64{}
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			var ls []string
			for _, lp := range m.Label {
				ls = append(ls, lp.GetName()+"="+lp.GetValue())
			}
			sort.Strings(ls)
			series[mf.GetName()+"{"+strings.Join(ls, ",")+"}"] = m.GetCounter().GetValue()
		}
	}
	var want []string
	for _, n := range []string{"ops", "pager"} {
		for _, o := range []string{"success", "retry", "failure"} {
			want = append(want, "zkwatch_receiver_notifications_total{notifier="+n+",outcome="+o+"}")
		}
	}
	for _, o := range []string{"success", "failure", "refused", "postponed", "exhausted", "dry_run"} {
		want = append(want, "zkwatch_receiver_restarts_total{outcome="+o+",rule=restart-member}")
	}
	for _, c := range []string{"200", "400", "401", "403", "413", "500"} {
		want = append(want, "zkwatch_receiver_webhook_requests_total{code="+c+"}")
	}
	for _, s := range want {
		v, ok := series[s]
		if !ok {
			t.Errorf("%s missing before any event", s)
		} else if v != 0 {
			t.Errorf("%s = %v before any event", s, v)
		}
	}

	// Rules and notifiers added by a reload start at 0 too.
	cfg := *e.rcv.Config()
	cfg.Notifiers = append(cfg.Notifiers, cfg.Notifiers[0])
	cfg.Notifiers[len(cfg.Notifiers)-1].Name = "added"
	if err := e.rcv.ApplyConfig(&cfg); err != nil {
		t.Fatal(err)
	}
	if got := e.counter("zkwatch_receiver_notifications_total", "notifier", "added", "outcome", "failure"); got != 0 {
		t.Errorf("added notifier's failures = %v", got)
	}
	mfs, _ = e.reg.Gather()
	found := false
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			for _, lp := range m.Label {
				found = found || (lp.GetName() == "notifier" && lp.GetValue() == "added")
			}
		}
	}
	if !found {
		t.Error("notifier added by a reload has no series")
	}
}
