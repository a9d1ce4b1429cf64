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

// Package watchconfig reads and validates the exporter's watch
// configuration file (--watch.config.file): which groups, tasks roots,
// locks, elections, znodes and queues to watch, and subtrees to poll for
// the znode guardrails.
package watchconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/zkwatch/zkwatch/internal/zksession"
)

// DefaultWorkerField is the JSON field of a task's data that names the
// worker that claimed it.
const DefaultWorkerField = "worker"

// Config is the whole file.
type Config struct {
	Groups    []Group  `yaml:"groups"`
	Tasks     []Tasks  `yaml:"tasks"`
	Locks     []Recipe `yaml:"locks"`
	Elections []Recipe `yaml:"elections"`
	Znodes    []Recipe `yaml:"znodes"`
	Queues    []Recipe `yaml:"queues"`
	// Guardrails are subtrees measured by polling (guardrails.go).
	Guardrails Guardrails `yaml:"guardrails"`
}

// Group is a process group: the children of Path are its members.
type Group struct {
	Path string `yaml:"path"`
	// Expected lists members that should be present; a missing one is
	// exported as member_up 0 and never forgotten.
	Expected []string `yaml:"expected"`
	// ExpectedCount is the expected number of members (default: the length
	// of Expected; 0 means no expectation).
	ExpectedCount int `yaml:"expected_count"`
	// ForgetAfter overrides --watch.group.forget-after.
	ForgetAfter Duration `yaml:"forget_after"`
	// MaxMembers overrides --watch.max-members.
	MaxMembers int `yaml:"max_members"`
}

// Tasks is a tasks/workers root: ROOT/Tasks/<task>, ROOT/Workers/<worker>.
type Tasks struct {
	Root string `yaml:"root"`
	// WorkerField is the JSON field naming the claiming worker.
	WorkerField string `yaml:"worker_field"`
	// StateField is the JSON field holding the task's state.
	StateField string `yaml:"state_field"`
	// DoneStates are the values of StateField that mean done.
	DoneStates []string `yaml:"done_states"`
	MaxMembers int      `yaml:"max_members"`
}

// Recipe names one znode: a lock, an election, a plain node or a queue.
type Recipe struct {
	Path string `yaml:"path"`
}

// Duration is a duration in Prometheus notation (30s, 15m, 24h, 7d).
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: duration must be a string like 24h", n.Line)
	}
	v, err := model.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return model.Duration(d).String(), nil }

// LoadFile reads and validates a file.
func LoadFile(name string) (*Config, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	cfg, err := Load(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return cfg, nil
}

// Load parses and validates a configuration. Unknown keys are errors.
func Load(data []byte) (*Config, error) {
	cfg := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, cleanYAMLError(err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); err == nil {
		return nil, errors.New("more than one YAML document")
	}
	// A second pass for line numbers in validation errors.
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	if err := cfg.validate(lines{&root}); err != nil {
		return nil, err
	}
	return cfg, nil
}

func cleanYAMLError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return errors.New(strings.Join(te.Errors, "; "))
	}
	return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
}

// lines finds the line of the i-th item of a top-level section.
type lines struct{ root *yaml.Node }

func (l lines) item(section string, i int) int {
	n := l.root
	if n == nil || n.Kind != yaml.DocumentNode || len(n.Content) == 0 {
		return 0
	}
	m := n.Content[0]
	for k := 0; k+1 < len(m.Content); k += 2 {
		if m.Content[k].Value == section {
			seq := m.Content[k+1]
			if i < len(seq.Content) {
				return seq.Content[i].Line
			}
		}
	}
	return 0
}

func (l lines) errorf(section string, i int, format string, args ...any) error {
	return fmt.Errorf("line %d: %s[%d]: %s", l.item(section, i), section, i, fmt.Sprintf(format, args...))
}

func (c *Config) validate(l lines) error {
	seen := map[string]int{}
	for i, g := range c.Groups {
		if err := zksession.ValidatePath(g.Path); err != nil {
			return l.errorf("groups", i, "%v", err)
		}
		if j, dup := seen[g.Path]; dup {
			return l.errorf("groups", i, "group %s is already defined at groups[%d]", g.Path, j)
		}
		seen[g.Path] = i
		names := map[string]bool{}
		for _, m := range g.Expected {
			switch {
			case m == "" || strings.Contains(m, "/"):
				return l.errorf("groups", i, "expected member %q must be a child name, without slashes", m)
			case names[m]:
				return l.errorf("groups", i, "expected member %q listed twice", m)
			}
			names[m] = true
		}
		if g.ExpectedCount < 0 {
			return l.errorf("groups", i, "expected_count must not be negative")
		}
		if g.ExpectedCount > 0 && g.ExpectedCount < len(g.Expected) {
			return l.errorf("groups", i, "expected_count %d is less than the %d expected members listed", g.ExpectedCount, len(g.Expected))
		}
		if g.ForgetAfter < 0 {
			return l.errorf("groups", i, "forget_after must not be negative")
		}
		if g.MaxMembers < 0 {
			return l.errorf("groups", i, "max_members must not be negative")
		}
	}
	seen = map[string]int{}
	for i := range c.Tasks {
		t := &c.Tasks[i]
		if err := zksession.ValidatePath(t.Root); err != nil {
			return l.errorf("tasks", i, "root: %v", err)
		}
		if j, dup := seen[t.Root]; dup {
			return l.errorf("tasks", i, "tasks root %s is already defined at tasks[%d]", t.Root, j)
		}
		seen[t.Root] = i
		if t.WorkerField == "" {
			t.WorkerField = DefaultWorkerField
		}
		if t.StateField == "" {
			t.StateField = "state"
		}
		if len(t.DoneStates) == 0 {
			t.DoneStates = []string{"done"}
		}
		if t.MaxMembers < 0 {
			return l.errorf("tasks", i, "max_members must not be negative")
		}
	}
	for _, s := range []struct {
		name  string
		items []Recipe
	}{{"locks", c.Locks}, {"elections", c.Elections}, {"znodes", c.Znodes}, {"queues", c.Queues}} {
		seen = map[string]int{}
		for i, r := range s.items {
			if err := zksession.ValidatePath(r.Path); err != nil {
				return l.errorf(s.name, i, "%v", err)
			}
			if j, dup := seen[r.Path]; dup {
				return l.errorf(s.name, i, "%s is already defined at %s[%d]", r.Path, s.name, j)
			}
			seen[r.Path] = i
		}
	}
	return c.Guardrails.validate(l)
}

// Empty reports whether nothing is to be watched.
func (c *Config) Empty() bool {
	return len(c.Groups)+len(c.Tasks)+len(c.Locks)+len(c.Elections)+len(c.Znodes)+len(c.Queues)+len(c.Guardrails.Subtrees) == 0
}
