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
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// restartAt is when the process restarts in every test of
// tests/restarts.yaml.
const restartAt = 10 * time.Minute

// counterFuncs are the functions whose value jumps when a counter's owner
// restarts.
var counterFuncs = map[string]bool{"rate": true, "irate": true, "increase": true, "resets": true, "delta": true, "idelta": true}

// restartSensitive says whether an expression reads counters or divides,
// and returns its longest range.
func restartSensitive(expr parser.Expr) (bool, time.Duration) {
	sensitive, longest := false, time.Duration(0)
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.Call:
			sensitive = sensitive || counterFuncs[n.Func.Name]
		case *parser.BinaryExpr:
			sensitive = sensitive || n.Op == parser.DIV
		case *parser.MatrixSelector:
			longest = max(longest, n.Range)
		}
		return nil
	})
	return sensitive, longest
}

// TestRestartTestsCoverCounterAlerts checks that every alert on counters
// or on a ratio has a "restarted, then quiet" test in tests/restarts.yaml
// that expects it silent from the restart until its range window and its
// "for" have both passed, and at no time expects it to fire.
func TestRestartTestsCoverCounterAlerts(t *testing.T) {
	var doc struct {
		Tests []struct {
			AlertRuleTest []struct {
				EvalTime  model.Duration `yaml:"eval_time"`
				AlertName string         `yaml:"alertname"`
				ExpAlerts []any          `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, "mixin", "tests", "restarts.yaml")), &doc); err != nil {
		t.Fatal(err)
	}
	last := map[string]time.Duration{} // latest silent evaluation after the restart
	for _, tc := range doc.Tests {
		for _, c := range tc.AlertRuleTest {
			if len(c.ExpAlerts) > 0 {
				t.Errorf("tests/restarts.yaml expects %s to fire at %s: after a restart nothing may", c.AlertName, c.EvalTime)
			}
			last[c.AlertName] = max(last[c.AlertName], time.Duration(c.EvalTime))
		}
	}
	covered := 0
	for _, r := range alertRules(t) {
		expr, err := promqlParser.ParseExpr(r.Expr)
		if err != nil {
			t.Fatalf("%s: %v", r.Alert, err)
		}
		sensitive, window := restartSensitive(expr)
		if !sensitive {
			continue
		}
		covered++
		want := restartAt + window + time.Duration(r.For)
		switch got, ok := last[r.Alert]; {
		case !ok:
			t.Errorf("%s reads counters or divides, but tests/restarts.yaml has no restart test for it", r.Alert)
		case got < want:
			t.Errorf("tests/restarts.yaml checks %s up to %s only, want at least %s (restart at %s + range %s + for %s)",
				r.Alert, got, want, restartAt, window, time.Duration(r.For))
		}
	}
	if covered == 0 {
		t.Error("no alert reads counters: the check found nothing to check")
	}
}
