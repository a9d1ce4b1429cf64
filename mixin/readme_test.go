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
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
)

var readmeAlertRowRE = regexp.MustCompile("^\\| `(ZooKeeper[A-Za-z]+|Watchdog)` \\| ([a-z]+) \\| (.+) \\|$")

// TestReadmeAlertTable holds the README's alert table to the rendered
// rules: every alert is listed once, with its severity and summary, and
// the table lists nothing else.
func TestReadmeAlertTable(t *testing.T) {
	type row struct{ severity, summary string }
	table := map[string]row{}
	for _, line := range strings.Split(readFile(t, "README.md"), "\n") {
		m := readmeAlertRowRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if _, dup := table[m[1]]; dup {
			t.Errorf("README.md lists %s twice", m[1])
		}
		table[m[1]] = row{m[2], m[3]}
	}
	rules := alertRules(t)
	for _, r := range rules {
		got, ok := table[r.Alert]
		switch {
		case !ok:
			t.Errorf("README.md's alert table lacks %s", r.Alert)
		case got.severity != r.Labels["severity"]:
			t.Errorf("README.md: %s severity %q, rule %q", r.Alert, got.severity, r.Labels["severity"])
		case got.summary != r.Annotations["summary"]:
			t.Errorf("README.md: %s summary %q, rule %q", r.Alert, got.summary, r.Annotations["summary"])
		}
		delete(table, r.Alert)
	}
	for name := range table {
		t.Errorf("README.md's alert table lists %s, which is not a rule", name)
	}
}

// TestReadmeMixinOverride renders the README's override example with
// jsonnet and checks that each of its settings reaches the alerts: the
// selector, the memberDownFor duration and the ensemble labels.
func TestReadmeMixinOverride(t *testing.T) {
	if _, err := exec.LookPath("jsonnet"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("jsonnet not installed (apt-get install jsonnet)")
		}
		t.Skip("jsonnet not installed (apt-get install jsonnet)")
	}
	m := regexp.MustCompile("(?s)```jsonnet\n(\\(import 'mixin/mixin.libsonnet'\\).*?)```").FindStringSubmatch(readFile(t, "README.md"))
	if m == nil {
		t.Fatal("README.md has no jsonnet override example")
	}
	cmd := exec.Command("jsonnet", "-e", "("+m[1]+").prometheusAlerts")
	cmd.Dir = repoPath() // the example imports mixin/ from the repository root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("render the README's override: %v", err)
	}
	var doc struct {
		Groups []struct{ Rules []rulefmt.Rule } `json:"groups"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			switch r.Alert {
			case "ZooKeeperMemberDown":
				found++
				if r.For != model.Duration(2*time.Minute) || !strings.Contains(r.Expr, `job="zk-prod"`) {
					t.Errorf("ZooKeeperMemberDown: for %v expr %s; the override sets 2m and job=\"zk-prod\"", r.For, r.Expr)
				}
			case "ZooKeeperQuorumLost":
				found++
				if !strings.Contains(r.Expr, "by (cluster)") || !strings.Contains(r.Expr, `job="zk-prod"`) {
					t.Errorf("ZooKeeperQuorumLost %s: not aggregated by the override's ensembleLabels [cluster] or selector", r.Expr)
				}
			}
		}
	}
	if found != 2 {
		t.Errorf("the rendered override has %d of ZooKeeperMemberDown and ZooKeeperQuorumLost", found)
	}
}
