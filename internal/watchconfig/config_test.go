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

func TestLoadGood(t *testing.T) {
	cfg, err := LoadFile("testdata/good.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Groups) != 2 || cfg.Groups[0].Path != "/monitor/web" || cfg.Groups[0].ExpectedCount != 3 ||
		time.Duration(cfg.Groups[0].ForgetAfter) != 2*time.Hour || len(cfg.Groups[0].Expected) != 2 {
		t.Errorf("groups = %+v", cfg.Groups)
	}
	if len(cfg.Tasks) != 1 || cfg.Tasks[0].WorkerField != "owner" || cfg.Tasks[0].StateField != "state" ||
		len(cfg.Tasks[0].DoneStates) != 1 || cfg.Tasks[0].DoneStates[0] != "done" {
		t.Errorf("tasks = %+v", cfg.Tasks)
	}
	if len(cfg.Locks) != 1 || len(cfg.Elections) != 1 || len(cfg.Znodes) != 1 || len(cfg.Queues) != 1 {
		t.Errorf("recipes = %+v", cfg)
	}
	if cfg.Empty() {
		t.Error("Empty() on a full config")
	}
}

func TestLoadEmpty(t *testing.T) {
	for _, in := range []string{"", "# nothing\n", "{}\n"} {
		cfg, err := Load([]byte(in))
		if err != nil || !cfg.Empty() {
			t.Errorf("Load(%q) = %+v, %v; want empty config", in, cfg, err)
		}
	}
}

func TestLoadBad(t *testing.T) {
	for file, wantErr := range map[string]string{
		"bad-unknown-field.yml":    "line 3: field expectd not found",
		"bad-relative-path.yml":    `line 3: groups[1]: path "monitor" is not absolute`,
		"bad-duplicate.yml":        "line 3: groups[1]: group /a is already defined at groups[0]",
		"bad-duration.yml":         `line 3: not a valid duration string: "soon"`,
		"bad-duplicate-member.yml": `line 2: groups[0]: expected member "x" listed twice`,
		"bad-member-slash.yml":     `expected member "a/b" must be a child name`,
		"bad-expected-count.yml":   "expected_count 2 is less than the 3 expected members listed",
		"bad-trailing-slash.yml":   `line 2: locks[0]: path "/locks/x/" ends with a slash`,
		"bad-dotdot.yml":           `queues[0]: path "/q/../r" has a relative segment ".."`,
		"bad-syntax.yml":           "line ",
		"bad-type.yml":             "line 2: cannot unmarshal !!map into []watchconfig.Group",
		"bad-empty-root.yml":       "line 2: tasks[0]: root: path is empty",
		"bad-two-documents.yml":    "more than one YAML document",
	} {
		_, err := LoadFile("testdata/" + file)
		if err == nil {
			t.Errorf("%s: no error, want %q", file, wantErr)
			continue
		}
		if !strings.Contains(err.Error(), wantErr) || !strings.Contains(err.Error(), file) {
			t.Errorf("%s: error %q, want it to contain %q and the file name", file, err, wantErr)
		}
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte("groups:\n  - path: /a\n    expected: [x]\n"))
	f.Add([]byte("tasks:\n  - root: /t\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Load(data)
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
	})
}

func TestExampleConfigLoads(t *testing.T) {
	cfg, err := LoadFile("../../examples/watch.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Groups) == 0 || len(cfg.Tasks) == 0 || len(cfg.Locks) == 0 || len(cfg.Elections) == 0 ||
		len(cfg.Znodes) == 0 || len(cfg.Queues) == 0 {
		t.Errorf("example config should show every section: %+v", cfg)
	}
}
