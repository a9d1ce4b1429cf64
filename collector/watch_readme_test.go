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

package collector

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// readmeWatchMetric is one metric of the README's watch metric table: its
// label names and, for a metric with a state label, the states its meaning
// lists.
type readmeWatchMetric struct{ labels, states []string }

// readmeWatchMetrics parses the metric table of the README's "Watch
// collectors" section.
func readmeWatchMetrics(t *testing.T) map[string]readmeWatchMetric {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "\n## Watch collectors\n")
	if start < 0 {
		t.Fatal("README.md has no Watch collectors section")
	}
	text = text[start+1:]
	if end := strings.Index(text[3:], "\n## "); end >= 0 {
		text = text[:end+3]
	}
	tick := regexp.MustCompile("`([a-z_]+)`")
	rows := map[string]readmeWatchMetric{}
	inTable := false
	for _, line := range strings.Split(text, "\n") {
		cells := strings.Split(line, "|")
		if !strings.HasPrefix(line, "|") || len(cells) < 5 {
			inTable = false
			continue
		}
		if strings.TrimSpace(cells[1]) == "metric" && strings.TrimSpace(cells[2]) == "labels" {
			inTable = true
			continue
		}
		if !inTable {
			continue
		}
		var labels []string
		for _, m := range tick.FindAllStringSubmatch(cells[2], -1) {
			labels = append(labels, m[1])
		}
		sort.Strings(labels)
		var states []string
		if slices.Contains(labels, "state") {
			for _, m := range tick.FindAllStringSubmatch(cells[3], -1) {
				states = append(states, m[1])
			}
			sort.Strings(states)
		}
		for _, m := range tick.FindAllStringSubmatch(cells[1], -1) {
			rows[m[1]] = readmeWatchMetric{labels, states}
		}
	}
	if len(rows) == 0 {
		t.Fatal("README.md: no watch metric table")
	}
	return rows
}

// watchFamilyRE matches the series names the watch collectors own.
var watchFamilyRE = regexp.MustCompile(`^zookeeper_(exporter_(session|reconnects|watch)|watch|group|tasks?|workers?|lock|election|znode|queue)_?`)

// seriesLabels splits a scrape key name{a="1",b="2"} into the name and the
// sorted label names and values.
func seriesLabels(key string) (string, map[string]string) {
	name, rest, _ := strings.Cut(key, "{")
	labels := map[string]string{}
	for _, kv := range regexp.MustCompile(`([a-z_]+)="((?:[^"\\]|\\.)*)"`).FindAllStringSubmatch(rest, -1) {
		labels[kv[1]] = kv[2]
	}
	return name, labels
}

// TestReadmeWatchMetrics holds the README's watch metric table to a real
// exporter watching one path of every kind: every documented metric is
// exported with exactly its documented labels, and the watch collectors
// export nothing the table leaves out.
func TestReadmeWatchMetrics(t *testing.T) {
	rows := readmeWatchMetrics(t)
	e := watchEnsemble(t)
	servers := e.Addrs()
	admin := dial(t, servers)
	for _, p := range []string{"/monitor/web", "/monitor/many", "/jobs/Tasks", "/jobs/Workers", "/locks/l", "/election/e", "/queues/q", "/config"} {
		mkdirs(t, admin, p)
	}
	if _, err := admin.Create("/secret", nil, 0, zk.DigestACL(zk.PermAll, "owner", "pw")); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, admin, "/config/app", "v1", 0)
	mustCreate(t, admin, "/monitor/web/web-1", `{"host":"h1","ip":"10.0.0.1"}`, zk.FlagEphemeral)
	for _, m := range []string{"m1", "m2", "m3"} {
		mustCreate(t, admin, "/monitor/many/"+m, "", zk.FlagEphemeral)
	}
	mustCreate(t, admin, "/jobs/Workers/w1", "", zk.FlagEphemeral)
	mustCreate(t, admin, "/jobs/Tasks/t1", "", 0)
	mustCreate(t, admin, "/jobs/Tasks/t2", "w1", 0)
	mustCreate(t, admin, "/queues/q/item-", "x", zk.FlagSequence)
	for _, p := range []string{"/locks/l/lock-", "/election/e/latch-"} {
		if _, err := admin.CreateProtectedEphemeralSequential(p, nil, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	x := newWatchExporter(t, servers, watchFlags{configFile: writeFile(t, t.TempDir(), "watch.yml", recipesConfig)})
	x.waitFor(want{values: map[string]float64{`zookeeper_group_members{group="/monitor/web"}`: 1}})
	// A join and a leave, so that the change series exist.
	mustCreate(t, admin, "/monitor/web/web-2", "", zk.FlagEphemeral)
	x.waitFor(want{values: map[string]float64{`zookeeper_group_members{group="/monitor/web"}`: 2}})
	mustDelete(t, admin, "/monitor/web/web-2")

	if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error {
		got, _ := x.scrape()
		return checkWatchTable(rows, got)
	}); err != nil {
		t.Error(err)
	}
}

// checkWatchTable compares one scrape with the README's table.
func checkWatchTable(rows map[string]readmeWatchMetric, got sample) error {
	seen := map[string]bool{}
	var bad []string
	states := map[string][]string{}
	for key := range got {
		name, labels := seriesLabels(key)
		if !watchFamilyRE.MatchString(name) {
			continue
		}
		row, ok := rows[name]
		if !ok {
			bad = append(bad, name+" is not in README.md's watch metric table")
			continue
		}
		seen[name] = true
		names := make([]string, 0, len(labels))
		for l := range labels {
			names = append(names, l)
		}
		sort.Strings(names)
		if !slices.Equal(names, row.labels) {
			bad = append(bad, fmt.Sprintf("%s has labels %v, README.md says %v", key, names, row.labels))
		}
		if v, ok := labels["state"]; ok && !slices.Contains(states[name], v) {
			states[name] = append(states[name], v)
		}
	}
	for name := range rows {
		if !seen[name] {
			bad = append(bad, name+" (README.md) is not exported")
		}
	}
	for name, row := range rows {
		sort.Strings(states[name])
		if row.states != nil && !slices.Equal(states[name], row.states) {
			bad = append(bad, fmt.Sprintf("%s states %v, README.md says %v", name, states[name], row.states))
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("%s", strings.Join(bad, "\n"))
	}
	return nil
}
