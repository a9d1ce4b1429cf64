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
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

// requiredAlerts are names other components depend on (the receiver's
// restart rule matches ZooKeeperProcessMemberDown, its watchdog Watchdog).
var requiredAlerts = []string{
	"ZooKeeperProcessMemberDown", "ZooKeeperMemberDown", "ZooKeeperQuorumLost",
	"ZooKeeperNoLeader", "ZooKeeperMultipleLeaders", "ZooKeeperFollowerLagging",
	watchdogAlert,
}

// watchdogAlert is the dead man's switch, named as kube-prometheus names
// it and as zkwatch_receiver's watchdog expects by default; it alone has
// severity none and no ZooKeeper prefix.
const watchdogAlert = "Watchdog"

func TestAlertsAreComplete(t *testing.T) {
	names := map[string]bool{}
	for _, r := range alertRules(t) {
		if names[r.Alert] {
			t.Errorf("alert %s defined twice", r.Alert)
		}
		names[r.Alert] = true
		switch {
		case r.Alert == watchdogAlert:
			if r.Labels["severity"] != "none" {
				t.Errorf("alert %s: severity %q, want none (it fires always and pages nobody)", r.Alert, r.Labels["severity"])
			}
		case !strings.HasPrefix(r.Alert, "ZooKeeper"):
			t.Errorf("alert %s does not start with ZooKeeper", r.Alert)
		case !slices.Contains([]string{"critical", "warning", "info"}, r.Labels["severity"]):
			t.Errorf("alert %s: severity %q is not critical, warning or info", r.Alert, r.Labels["severity"])
		}
		for _, a := range []string{"summary", "description", "runbook_url"} {
			if r.Annotations[a] == "" {
				t.Errorf("alert %s has no %s", r.Alert, a)
			}
		}
		if s := r.Annotations["summary"]; strings.Contains(s, "{{") || !strings.HasSuffix(s, ".") {
			t.Errorf("alert %s: summary %q must be a static sentence ending in a period", r.Alert, s)
		}
		if want := fmt.Sprintf(runbookURLPattern, strings.ToLower(r.Alert)); r.Annotations["runbook_url"] != want {
			t.Errorf("alert %s: runbook_url %q, want %q", r.Alert, r.Annotations["runbook_url"], want)
		}
	}
	for _, n := range requiredAlerts {
		if !names[n] {
			t.Errorf("required alert %s is missing", n)
		}
	}
}

// TestRuleMetricNames checks that every metric a rule selects is one the
// zkwatch binaries expose (or Prometheus' up, or a recording rule).
func TestRuleMetricNames(t *testing.T) {
	known := knownMetrics(t)
	for _, r := range append(alertRules(t), recordingRules(t)...) {
		name := r.Alert + r.Record
		expr, err := promqlParser.ParseExpr(r.Expr)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for _, m := range metricNames(t, expr) {
			if !known[m] {
				t.Errorf("%s uses unknown metric %s", name, m)
			}
		}
	}
}

// TestEnsembleAggregation checks that aggregations and vector matchings over
// exporter metrics keep the ensemble labels (job, instance), so that one
// Prometheus can watch several ensembles without mixing them. The
// split-brain rules are the exception: they join the beliefs of other jobs
// (agents, applications) with the exporter's view by lock or election path
// and session, and count the believers per path.
func TestEnsembleAggregation(t *testing.T) {
	ensemble := []string{"job", "instance"}
	for _, r := range append(alertRules(t), recordingRules(t)...) {
		name := r.Alert + r.Record
		if strings.Contains(r.Expr, "zkwatch_agent_lock_held_info") || strings.Contains(r.Expr, "zkwatch_agent_election_leader_info") {
			continue
		}
		expr, err := promqlParser.ParseExpr(r.Expr)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			switch n := n.(type) {
			case *parser.AggregateExpr:
				if n.Without {
					return nil // keeps every label not listed
				}
				for _, l := range ensemble {
					if !slices.Contains(n.Grouping, l) {
						t.Errorf("%s: %s aggregates away the ensemble label %s", name, n, l)
					}
				}
			case *parser.BinaryExpr:
				if n.VectorMatching != nil && n.VectorMatching.On {
					for _, l := range ensemble {
						if !slices.Contains(n.VectorMatching.MatchingLabels, l) {
							t.Errorf("%s: %s matches without the ensemble label %s", name, n, l)
						}
					}
				}
			}
			return nil
		})
	}
}
