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
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// githubAnchor is the anchor GitHub gives a Markdown heading.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// runbookSections maps the anchor of every heading of docs/runbook.md to the
// text up to the next heading.
func runbookSections(t *testing.T) map[string]string {
	sections := map[string]string{}
	var anchor string
	for _, line := range strings.Split(readFile(t, "docs", "runbook.md"), "\n") {
		if strings.HasPrefix(line, "#") {
			anchor = githubAnchor(strings.TrimLeft(line, "#"))
			if _, dup := sections[anchor]; dup {
				t.Errorf("runbook: heading anchor %q appears twice", anchor)
			}
			sections[anchor] = ""
			continue
		}
		if anchor != "" {
			sections[anchor] += line + "\n"
		}
	}
	return sections
}

func alertNames(t *testing.T) map[string]bool {
	names := map[string]bool{}
	for _, r := range alertRules(t) {
		names[r.Alert] = true
	}
	return names
}

var alertNameRE = regexp.MustCompile(`\bZooKeeper[A-Z][A-Za-z]+\b`)

func TestRunbookHasEveryAlert(t *testing.T) {
	sections := runbookSections(t)
	alerts := alertNames(t)
	for name := range alerts {
		body, ok := sections[strings.ToLower(name)]
		if !ok {
			t.Errorf("runbook has no section %q for alert %s", strings.ToLower(name), name)
			continue
		}
		for _, part := range []string{"**Meaning.**", "**Confirm.**", "**Fix.**"} {
			if !strings.Contains(body, part) {
				t.Errorf("runbook section %s lacks %s", name, part)
			}
		}
	}
	// No section or cross-reference for an alert that does not exist.
	for _, n := range alertNameRE.FindAllString(readFile(t, "docs", "runbook.md"), -1) {
		if !alerts[n] {
			t.Errorf("runbook mentions %s, which is not an alert", n)
		}
	}
}

// TestAlertmanagerExample checks that the example routes and inhibitions
// name existing alerts, and that a lost quorum inhibits the per-server
// alerts of the same ensemble only.
func TestAlertmanagerExample(t *testing.T) {
	text := readFile(t, "examples", "alertmanager.yml")
	alerts := alertNames(t)
	for _, n := range alertNameRE.FindAllString(text, -1) {
		if !alerts[n] {
			t.Errorf("examples/alertmanager.yml names %s, which is not an alert", n)
		}
	}
	var conf struct {
		Receivers []struct {
			Name           string `yaml:"name"`
			WebhookConfigs []struct {
				URL string `yaml:"url"`
			} `yaml:"webhook_configs"`
		} `yaml:"receivers"`
		InhibitRules []struct {
			SourceMatchers []string `yaml:"source_matchers"`
			TargetMatchers []string `yaml:"target_matchers"`
			Equal          []string `yaml:"equal"`
		} `yaml:"inhibit_rules"`
	}
	if err := yaml.Unmarshal([]byte(text), &conf); err != nil {
		t.Fatal(err)
	}
	// The production layout: every zkwatch_receiver replica is listed.
	replicas := 0
	for _, r := range conf.Receivers {
		for _, w := range r.WebhookConfigs {
			if strings.HasSuffix(w.URL, ":9143/webhook") {
				replicas++
			}
		}
	}
	if replicas < 2 {
		t.Errorf("examples/alertmanager.yml lists %d zkwatch_receiver replicas (URLs ending in :9143/webhook), want 2", replicas)
	}
	var found bool
	for _, r := range conf.InhibitRules {
		if !slices.Contains(r.SourceMatchers, `alertname="ZooKeeperQuorumLost"`) {
			continue
		}
		found = true
		targets := strings.Join(r.TargetMatchers, " ")
		for _, want := range []string{"ZooKeeperFollowerLagging", "ZooKeeperHighRequestLatency", "ZooKeeperMemberDown"} {
			if !strings.Contains(targets, want) {
				t.Errorf("quorum-lost inhibition does not cover %s", want)
			}
		}
		if !slices.Contains(r.Equal, "job") || !slices.Contains(r.Equal, "instance") {
			t.Errorf("quorum-lost inhibition must be limited to the same ensemble (equal: [job, instance]), got %v", r.Equal)
		}
	}
	if !found {
		t.Error("no inhibit rule with source ZooKeeperQuorumLost")
	}
}

// TestReadmeAlertNames guards the README's alert list against renames: any
// alert name it mentions must exist. A qualified Go identifier such as
// collector.ZooKeeperCollector is not an alert name.
func TestReadmeAlertNames(t *testing.T) {
	alerts := alertNames(t)
	readme := readFile(t, "README.md")
	for _, loc := range alertNameRE.FindAllStringIndex(readme, -1) {
		if n := readme[loc[0]:loc[1]]; !alerts[n] && (loc[0] == 0 || readme[loc[0]-1] != '.') {
			t.Errorf("README.md mentions %s, which is not an alert", n)
		}
	}
}
