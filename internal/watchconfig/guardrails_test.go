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

package watchconfig

import (
	"strings"
	"testing"
	"time"
)

func TestGuardrailsDefaults(t *testing.T) {
	cfg, err := Load([]byte("guardrails:\n  subtrees:\n    - path: /kafka\n    - path: /hbase\n      max_depth: 2\n      max_nodes: 500\n"))
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.Guardrails
	if g.Interval != DefaultGuardrailsInterval || len(g.Subtrees) != 2 ||
		g.Subtrees[0] != (Subtree{Path: "/kafka", MaxDepth: 3, MaxNodes: 10000}) ||
		g.Subtrees[1] != (Subtree{Path: "/hbase", MaxDepth: 2, MaxNodes: 500}) {
		t.Errorf("guardrails = %+v", g)
	}
	if cfg.Empty() {
		t.Error("a config with only guardrails is empty")
	}
	cfg, err = Load([]byte("guardrails:\n  interval: 30s\n  subtrees:\n    - path: /a\n"))
	if err != nil || time.Duration(cfg.Guardrails.Interval) != 30*time.Second {
		t.Errorf("interval: %+v, %v", cfg, err)
	}
}

func TestGuardrailsBad(t *testing.T) {
	for in, want := range map[string]string{
		"guardrails:\n  subtrees:\n    - path: kafka\n":                   `line 3: guardrails.subtrees[0]: path "kafka" is not absolute`,
		"guardrails:\n  subtrees:\n    - path: /a\n    - path: /a\n":      "line 4: guardrails.subtrees[1]: /a is already defined at guardrails.subtrees[0]",
		"guardrails:\n  subtrees:\n    - path: /a\n      max_depth: 11\n": "max_depth must be between 1 and 10",
		"guardrails:\n  subtrees:\n    - path: /a\n      max_nodes: -1\n": "max_nodes must be between 1 and 100000",
		"guardrails:\n  interval: 100ms\n  subtrees:\n    - path: /a\n":   "interval 100ms is below 1s",
		"guardrails:\n  interval: 1m\n":                                   "interval set but no subtrees",
		"guardrails:\n  subtrees:\n    - path: /a\n      depth: 2\n":      "field depth not found",
	} {
		_, err := Load([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", in, err, want)
		}
	}
}
