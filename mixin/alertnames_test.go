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
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// alertnameMatcherRE finds the alertname matchers of shipped configurations
// in the forms they take: Alertmanager matchers (alertname="X",
// alertname=~"A|B", also inside a Go string), YAML maps (alertname: X,
// match_re: {alertname: "A.*"}), JSON ("alertname": "X") and URL queries
// (alertname=X&status=firing). Group 1 is the operator, group 2 the value.
var alertnameMatcherRE = regexp.MustCompile(`\balertname"?\s*(=~|!~|!=|=|:)\s*\\?["']?([^"'\\,}\]&\s]+)`)

// alertNameTokenRE is anything that looks like a zkwatch alert name.
var alertNameTokenRE = regexp.MustCompile(`\bZooKeeper[A-Z][A-Za-z]+\b`)

// shippedConfigs are the files whose text configures Alertmanager,
// Prometheus, the receiver or the agent for users: the examples, the
// configurations the demo writes (Go source holding their text), the Helm
// chart's values and templates, and the README, whose code blocks are
// copied by users.
func shippedConfigs(t *testing.T) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, pattern := range []string{"examples/*.yml", "examples/*/*", "tools/zkwatch-demo/demo/*.go", "deploy/helm/*/values.yaml", "deploy/helm/*/templates/*"} {
		matches, err := filepath.Glob(repoPath(pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range matches {
			rel, _ := filepath.Rel(repoPath(), m)
			if !strings.HasSuffix(rel, "_test.go") {
				files[rel] = readFile(t, rel)
			}
		}
	}
	files["README.md"] = readmeCodeBlocks(readFile(t, "README.md"))
	return files
}

var codeBlockRE = regexp.MustCompile("(?s)```[a-z]*\n(.*?)```")

func readmeCodeBlocks(readme string) string {
	var b strings.Builder
	for _, m := range codeBlockRE.FindAllStringSubmatch(readme, -1) {
		b.WriteString(m[1])
	}
	return b.String()
}

// checkAlertnameValue says why a matcher value names no alert: a plain
// name must be an alert, and each alternative of a regular expression must
// match one.
func checkAlertnameValue(op, value string, alerts map[string]bool) error {
	if strings.ContainsAny(value, "{%$") {
		return nil // a template or a format verb, filled in at run time
	}
	if op != "=~" && op != "!~" {
		if !alerts[value] {
			return fmt.Errorf("%s is not an alert of the mixin", value)
		}
		return nil
	}
	for _, alt := range strings.Split(value, "|") {
		re, err := regexp.Compile("^(?:" + alt + ")$")
		if err != nil {
			return fmt.Errorf("%q: %w", value, err)
		}
		found := false
		for a := range alerts {
			found = found || re.MatchString(a)
		}
		if !found {
			return fmt.Errorf("%s (in %s) matches no alert of the mixin", alt, value)
		}
	}
	return nil
}

// TestShippedConfigsNameExistingAlerts fails on an alert name that a
// shipped configuration references but the rendered rules do not define
// (as the demo's inhibition of ZooKeeperHighLatency once did).
func TestShippedConfigsNameExistingAlerts(t *testing.T) {
	alerts := alertNames(t)
	matchers := map[string]int{}
	for name, text := range shippedConfigs(t) {
		for _, loc := range alertnameMatcherRE.FindAllStringSubmatchIndex(text, -1) {
			matchers[name]++
			op, value := text[loc[2]:loc[3]], text[loc[4]:loc[5]]
			// A YAML map under match_re (receiver and old Alertmanager
			// routes) holds regular expressions.
			line := text[strings.LastIndexByte(text[:loc[0]], '\n')+1 : loc[0]]
			if op == ":" && strings.Contains(line, "match_re") {
				op = "=~"
			}
			if err := checkAlertnameValue(op, value, alerts); err != nil {
				t.Errorf("%s: %s: %v", name, text[loc[0]:loc[1]], err)
			}
		}
		// Names outside matchers too (comments, Go code of the demo); a
		// qualified Go identifier such as collector.ZooKeeperCollector is
		// not one.
		for _, loc := range alertNameTokenRE.FindAllStringIndex(text, -1) {
			if n := text[loc[0]:loc[1]]; !alerts[n] && (loc[0] == 0 || text[loc[0]-1] != '.') {
				t.Errorf("%s mentions %s, which is not an alert of the mixin", name, n)
			}
		}
	}
	// The check must have seen the configurations it guards.
	for _, name := range []string{"examples/alertmanager.yml", "examples/receiver.yml", "tools/zkwatch-demo/demo/configs.go", "README.md"} {
		if matchers[name] == 0 {
			t.Errorf("found no alertname matcher in %s", name)
		}
	}
}

func TestCheckAlertnameValue(t *testing.T) {
	alerts := map[string]bool{"ZooKeeperMemberDown": true, "ZooKeeperHighRequestLatency": true, "Watchdog": true}
	for _, c := range []struct {
		op, value string
		ok        bool
	}{
		{"=", "ZooKeeperMemberDown", true},
		{":", "Watchdog", true},
		{"=", "ZooKeeperHighLatency", false},
		{"=~", "ZooKeeperMemberDown|ZooKeeperHighRequestLatency", true},
		{"=~", "ZooKeeperMemberDown|ZooKeeperHighLatency", false},
		{"=~", "ZooKeeper.*", true},
		{"=~", "Kafka.*", false},
		{"!=", "Watchdg", false},
		{"=~", "ZooKeeper(", false},
		{":", "{{ .Labels.alertname }}", true},
	} {
		if err := checkAlertnameValue(c.op, c.value, alerts); (err == nil) != c.ok {
			t.Errorf("%s%s: error %v, want ok %v", c.op, c.value, err, c.ok)
		}
	}
}

var quotedRE = regexp.MustCompile(`"(.*)"`)

// watchdogMissingAfter is zkwatch_receiver's default watchdog.missing_after:
// Alertmanager must repeat the Watchdog more often than that.
const watchdogMissingAfter = 5 * time.Minute

// TestAlertmanagerExampleRoutesWatchdog checks the dead man's switch in
// examples/alertmanager.yml: Amtool routes Watchdog to the receiver
// replicas, its route repeats it well within the receiver's missing_after
// and stops there, and no inhibition can hide it.
func TestAlertmanagerExampleRoutesWatchdog(t *testing.T) {
	type route struct {
		Receiver       string         `yaml:"receiver"`
		Matchers       []string       `yaml:"matchers"`
		Continue       bool           `yaml:"continue"`
		RepeatInterval model.Duration `yaml:"repeat_interval"`
		Routes         []route        `yaml:"routes"`
	}
	var conf struct {
		Route        route `yaml:"route"`
		InhibitRules []struct {
			TargetMatchers []string `yaml:"target_matchers"`
		} `yaml:"inhibit_rules"`
	}
	text := readFile(t, "examples", "alertmanager.yml")
	if err := yaml.Unmarshal([]byte(text), &conf); err != nil {
		t.Fatal(err)
	}
	var wd *route
	for i, r := range conf.Route.Routes {
		if slices.Contains(r.Matchers, `alertname="`+watchdogAlert+`"`) {
			wd = &conf.Route.Routes[i]
			if i != 0 {
				t.Errorf("the Watchdog route is route %d; earlier routes could take it", i+1)
			}
		}
	}
	switch {
	case wd == nil:
		t.Fatal(`examples/alertmanager.yml has no route with matchers ['alertname="Watchdog"']`)
	case wd.Continue:
		t.Error("the Watchdog route continues to other routes, which may page")
	case wd.RepeatInterval == 0 || time.Duration(wd.RepeatInterval) >= watchdogMissingAfter/2:
		t.Errorf("the Watchdog route repeats every %s, want less than half of the receiver's missing_after (%s)", wd.RepeatInterval, watchdogMissingAfter)
	}
	onlyWatchdog := map[string]bool{watchdogAlert: true}
	for _, r := range conf.InhibitRules {
		for _, m := range r.TargetMatchers {
			v := quotedRE.FindStringSubmatch(m)
			if strings.HasPrefix(m, "alertname") && v != nil && checkAlertnameValue("=~", v[1], onlyWatchdog) == nil {
				t.Errorf("inhibit rule target %s can hide the Watchdog", m)
			}
		}
	}
	amtool := requireTool(t, "amtool")
	out, err := exec.Command(amtool, "config", "routes", "test", "--config.file="+repoPath("examples", "alertmanager.yml"),
		"alertname="+watchdogAlert, "severity=none").Output()
	if err != nil {
		t.Fatalf("amtool config routes test: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != wd.Receiver {
		t.Errorf("amtool routes Watchdog to %q, want the receiver of its route %q", got, wd.Receiver)
	}
}
