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
	"fmt"
	"time"

	"github.com/zkwatch/zkwatch/internal/zksession"
)

// Defaults and bounds of the guardrails block.
const (
	DefaultGuardrailsInterval = Duration(5 * time.Minute)
	MinGuardrailsInterval     = Duration(time.Second)
	DefaultGuardrailsMaxDepth = 3
	MaxGuardrailsMaxDepth     = 10
	DefaultGuardrailsMaxNodes = 10000
	MaxGuardrailsMaxNodes     = 100000
)

// Guardrails lists subtrees that no watch collector follows whose largest
// data and child count are measured by polling them (stat and children
// reads, one at a time), not by watches.
type Guardrails struct {
	// Interval between two walks of a subtree (default 5m).
	Interval Duration `yaml:"interval"`
	// Subtrees to walk.
	Subtrees []Subtree `yaml:"subtrees"`
}

// Subtree is one polled subtree, bounded in depth and in nodes read.
type Subtree struct {
	Path string `yaml:"path"`
	// MaxDepth is how many levels below Path are read (default 3).
	MaxDepth int `yaml:"max_depth"`
	// MaxNodes bounds the nodes read per walk (default 10000); a walk cut
	// short is reported as truncated.
	MaxNodes int `yaml:"max_nodes"`
}

// validate applies the defaults and checks the bounds.
func (g *Guardrails) validate(l lines) error {
	if len(g.Subtrees) == 0 {
		if g.Interval != 0 {
			return fmt.Errorf("guardrails: interval set but no subtrees")
		}
		return nil
	}
	switch {
	case g.Interval == 0:
		g.Interval = DefaultGuardrailsInterval
	case g.Interval < MinGuardrailsInterval:
		return fmt.Errorf("guardrails: interval %s is below %s", time.Duration(g.Interval), time.Duration(MinGuardrailsInterval))
	}
	seen := map[string]int{}
	for i := range g.Subtrees {
		s := &g.Subtrees[i]
		errorf := func(format string, args ...any) error {
			return fmt.Errorf("line %d: guardrails.subtrees[%d]: %s", l.guardrail(i), i, fmt.Sprintf(format, args...))
		}
		if err := zksession.ValidatePath(s.Path); err != nil {
			return errorf("%v", err)
		}
		if j, dup := seen[s.Path]; dup {
			return errorf("%s is already defined at guardrails.subtrees[%d]", s.Path, j)
		}
		seen[s.Path] = i
		if s.MaxDepth == 0 {
			s.MaxDepth = DefaultGuardrailsMaxDepth
		}
		if s.MaxNodes == 0 {
			s.MaxNodes = DefaultGuardrailsMaxNodes
		}
		if s.MaxDepth < 0 || s.MaxDepth > MaxGuardrailsMaxDepth {
			return errorf("max_depth must be between 1 and %d", MaxGuardrailsMaxDepth)
		}
		if s.MaxNodes < 0 || s.MaxNodes > MaxGuardrailsMaxNodes {
			return errorf("max_nodes must be between 1 and %d", MaxGuardrailsMaxNodes)
		}
	}
	return nil
}

// guardrail finds the line of the i-th guardrails subtree.
func (l lines) guardrail(i int) int {
	n := l.root
	if n == nil || len(n.Content) == 0 {
		return 0
	}
	m := n.Content[0]
	for k := 0; k+1 < len(m.Content); k += 2 {
		if m.Content[k].Value != "guardrails" {
			continue
		}
		g := m.Content[k+1]
		for j := 0; j+1 < len(g.Content); j += 2 {
			if g.Content[j].Value == "subtrees" && i < len(g.Content[j+1].Content) {
				return g.Content[j+1].Content[i].Line
			}
		}
	}
	return 0
}
