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
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestDefaultLabelAllow: the default allow takes ZooKeeper paths (the
// exporter's group label), names and host:port, and refuses what a command
// could misread: a leading "-" (an option), ".." (a parent directory),
// shell syntax, empty values.
func TestDefaultLabelAllow(t *testing.T) {
	c, err := Load([]byte(`restarts:
  - name: r
    match: {alertname: ZooKeeperProcessMemberDown}
    command: ["/bin/true", "{{ .Labels.x }}"]
`))
	if err != nil {
		t.Fatal(err)
	}
	r := &c.Restarts[0]
	for _, v := range []string{"web-1", "zk_2", "/monitor/web", "/a/b/c", "monitor/web", "10.0.0.1:2181",
		"zk1.example.org:2181", "a..b", "v1.2.3", "/monitor/web-1.prod"} {
		if err := r.CheckAllow(map[string]string{"x": v}); err != nil {
			t.Errorf("%q refused: %v", v, err)
		}
	}
	for _, v := range []string{"--force", "-x", "/-x", "/a/-b", "..", "../etc", "/a/../b", "/a/..", ".", "/a/./b",
		".hidden", "", "/", "a//b", "/a/", "a b", "a;b", "$(touch x)", "a\nb", "`x`"} {
		if err := r.CheckAllow(map[string]string{"x": v}); err == nil {
			t.Errorf("%q allowed", v)
		}
	}
}

// TestExampleRulesMatchMixinAlerts: every restart rule in the shipped
// example (and its commented reference) names an alert the mixin has, and
// accepts the labels that alert really carries: those of the Alertmanager
// payload recorded by the end-to-end test (e2e -update).
func TestExampleRulesMatchMixinAlerts(t *testing.T) {
	alerts := mixinAlerts(t)
	for _, f := range []string{"../../examples/receiver.yml", "testdata/full.yml"} {
		c, err := LoadFile(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(c.Restarts) == 0 {
			t.Fatalf("%s has no restart rule", f)
		}
		for i := range c.Restarts {
			r := &c.Restarts[i]
			name := r.Match["alertname"]
			if !alerts[name] {
				t.Errorf("%s: rule %s matches alertname %q, which the mixin does not have", f, r.Name, name)
				continue
			}
			labels, err := recordedLabels(name)
			if err != nil {
				t.Errorf("%s: rule %s: %v", f, r.Name, err)
				continue
			}
			if !r.Matches(labels) {
				t.Errorf("%s: rule %s does not match a real %s: %v", f, r.Name, name, labels)
			}
			if err := r.CheckAllow(labels); err != nil {
				t.Errorf("%s: rule %s refuses a real %s: %v", f, r.Name, name, err)
			}
		}
	}
}

func mixinAlerts(t *testing.T) map[string]bool {
	data, err := os.ReadFile("../../alerts/zookeeper-alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			out[r.Alert] = true
		}
	}
	if len(out) == 0 {
		t.Fatal("no alerts in alerts/zookeeper-alerts.yaml")
	}
	return out
}

// recordedLabels returns the labels of the first alert of the firing
// payload Alertmanager sent for alertname in the end-to-end test.
func recordedLabels(alertname string) (map[string]string, error) {
	f := fmt.Sprintf("../payload/testdata/alertmanager-%s-firing.json", strings.ToLower(alertname))
	data, err := os.ReadFile(f)
	if err != nil {
		return nil, fmt.Errorf("no recorded payload for %s: %w", alertname, err)
	}
	var p struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
		} `json:"alerts"`
	}
	if err := json.Unmarshal(data, &p); err != nil || len(p.Alerts) == 0 {
		return nil, fmt.Errorf("%s: no alerts (%v)", f, err)
	}
	return p.Alerts[0].Labels, nil
}
