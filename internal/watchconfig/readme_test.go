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
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// TestReadmeExample loads the README's example watch configuration as
// written and checks that it means what the README says.
func TestReadmeExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)Example configuration \\(`examples/watch.yml`[^\\n]*\\n\\n```yaml\\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("README.md has no example watch configuration")
	}
	cfg, err := Load(m[1])
	if err != nil {
		t.Fatalf("README.md's example watch configuration: %v", err)
	}
	g := cfg.Groups
	if len(g) != 1 || g[0].Path != "/monitor/web" || len(g[0].Expected) != 3 || time.Duration(g[0].ForgetAfter) != 6*time.Hour {
		t.Errorf("groups %+v", g)
	}
	if len(cfg.Tasks) != 1 || cfg.Tasks[0].Root != "/jobs" || cfg.Tasks[0].WorkerField != DefaultWorkerField {
		t.Errorf("tasks %+v", cfg.Tasks)
	}
	for what, r := range map[string][]Recipe{"/locks/reindex": cfg.Locks, "/election/scheduler": cfg.Elections,
		"/config/app": cfg.Znodes, "/queues/mail": cfg.Queues} {
		if len(r) != 1 || r[0].Path != what {
			t.Errorf("%s: %+v", what, r)
		}
	}
	if g := cfg.Guardrails; time.Duration(g.Interval) != 5*time.Minute ||
		len(g.Subtrees) != 1 || g.Subtrees[0] != (Subtree{Path: "/brokers", MaxDepth: 3, MaxNodes: 10000}) {
		t.Errorf("guardrails %+v", g)
	}
}
