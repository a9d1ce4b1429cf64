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
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

type dashboard struct {
	Title         string  `json:"title"`
	UID           string  `json:"uid"`
	Editable      bool    `json:"editable"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type variable struct {
	Name       string     `json:"name"`
	Label      string     `json:"label"`
	Type       string     `json:"type"`
	Query      any        `json:"query"`
	Definition string     `json:"definition"`
	Datasource datasource `json:"datasource"`
	Multi      bool       `json:"multi"`
	IncludeAll bool       `json:"includeAll"`
	AllValue   string     `json:"allValue"`
	Refresh    int        `json:"refresh"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID          int     `json:"id"`
	Type        string  `json:"type"`
	Title       string  `json:"title"`
	Description string  `json:"description"`
	Datasource  any     `json:"datasource"`
	Panels      []panel `json:"panels"`
	GridPos     struct {
		X, Y, W, H int
	} `json:"gridPos"`
	Targets     []target `json:"targets"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
		Overrides []struct {
			Matcher struct {
				ID      string `json:"id"`
				Options string `json:"options"`
			} `json:"matcher"`
			Properties []struct {
				ID    string `json:"id"`
				Value any    `json:"value"`
			} `json:"properties"`
		} `json:"overrides"`
	} `json:"fieldConfig"`
	Transformations []transformation `json:"transformations"`
}

type transformation struct {
	ID      string `json:"id"`
	Options struct {
		ExcludeByName map[string]bool   `json:"excludeByName"`
		RenameByName  map[string]string `json:"renameByName"`
	} `json:"options"`
}

type target struct {
	Expr         string     `json:"expr"`
	RefID        string     `json:"refId"`
	Datasource   datasource `json:"datasource"`
	Format       string     `json:"format"`
	Instant      bool       `json:"instant"`
	LegendFormat string     `json:"legendFormat"`
}

func loadDashboards(t *testing.T) map[string]dashboard {
	t.Helper()
	files, err := filepath.Glob(repoPath("dashboards", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("want the ensemble, processes and zkwatch dashboards, found %v", files)
	}
	out := map[string]dashboard{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = d
	}
	return out
}

// allPanels flattens rows (collapsed rows carry their panels inside).
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// fixedJob matches a job matcher whose value is not a dashboard variable.
var fixedJob = regexp.MustCompile(`\bjob\s*(=|=~|!=|!~)\s*"[^$"]`)

func TestDashboards(t *testing.T) {
	known := knownMetrics(t)
	uids := map[string]string{}
	labelValues := regexp.MustCompile(`^label_values\((.*),\s*[a-zA-Z_]+\)$`)
	for file, d := range loadDashboards(t) {
		t.Run(file, func(t *testing.T) {
			if d.Title == "" || d.UID == "" {
				t.Errorf("title %q, uid %q: both are required", d.Title, d.UID)
			}
			if other, dup := uids[d.UID]; dup {
				t.Errorf("uid %s also used by %s", d.UID, other)
			}
			uids[d.UID] = file
			if d.SchemaVersion < 39 {
				t.Errorf("schemaVersion %d is older than current Grafana (39)", d.SchemaVersion)
			}

			vars := map[string]string{}
			for _, v := range d.Templating.List {
				vars[v.Name] = v.Type
				q, _ := v.Query.(map[string]any)
				if v.Type != "query" || q == nil {
					continue
				}
				if fixedJob.MatchString(q["query"].(string)) {
					t.Errorf("variable %s: %v fixes a job instead of using a variable", v.Name, q["query"])
				}
				m := labelValues.FindStringSubmatch(q["query"].(string))
				if m == nil {
					t.Errorf("variable %s: query %v is not label_values(selector, label)", v.Name, q["query"])
					continue
				}
				if _, err := promqlParser.ParseExpr(substituteVariables(m[1])); err != nil {
					t.Errorf("variable %s: %q: %v", v.Name, m[1], err)
				}
			}
			for name, typ := range map[string]string{"datasource": "datasource", "job": "query", "ensemble": "query"} {
				if vars[name] != typ {
					t.Errorf("template variable %s: type %q, want %q", name, vars[name], typ)
				}
			}

			ids := map[int]string{}
			grid := map[[2]int]string{}
			for _, p := range allPanels(d.Panels) {
				if p.ID == 0 {
					t.Errorf("panel %q has no id", p.Title)
				}
				if other, dup := ids[p.ID]; dup {
					t.Errorf("panel id %d used by %q and %q", p.ID, other, p.Title)
				}
				ids[p.ID] = p.Title
				g := p.GridPos
				if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
					t.Errorf("panel %q: gridPos %+v outside the 24-column grid", p.Title, g)
				}
				for x := g.X; x < g.X+g.W; x++ {
					for y := g.Y; y < g.Y+g.H; y++ {
						if other, ok := grid[[2]int{x, y}]; ok {
							t.Errorf("panels %q and %q overlap at %d,%d", other, p.Title, x, y)
						}
						grid[[2]int{x, y}] = p.Title
					}
				}
				if p.Type == "row" {
					continue
				}
				if p.Datasource == nil {
					t.Errorf("panel %q has no datasource", p.Title)
				}
				if len(p.Targets) == 0 {
					t.Errorf("panel %q has no targets", p.Title)
				}
				refs := map[string]bool{}
				for _, tg := range p.Targets {
					if tg.RefID == "" || refs[tg.RefID] {
						t.Errorf("panel %q: missing or duplicate refId %q", p.Title, tg.RefID)
					}
					refs[tg.RefID] = true
					if fixedJob.MatchString(tg.Expr) {
						t.Errorf("panel %q: %q fixes a job; select on a job variable", p.Title, tg.Expr)
					}
					expr, err := promqlParser.ParseExpr(substituteVariables(tg.Expr))
					if err != nil {
						t.Errorf("panel %q: %q: %v", p.Title, tg.Expr, err)
						continue
					}
					for _, m := range metricNames(t, expr) {
						if !known[m] {
							t.Errorf("panel %q uses unknown metric %s", p.Title, m)
						}
					}
				}
			}
		})
	}
}
