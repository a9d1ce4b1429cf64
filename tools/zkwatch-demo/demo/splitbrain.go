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

package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// splitBrainPanels are the split-brain tables of the processes dashboard,
// by the label that names their path.
var splitBrainPanels = map[string]string{"lock": "Split-brain: locks", "election": "Split-brain: elections"}

// SplitBrain is one lock or election as the dashboard's split-brain panel
// shows it: who believes they hold (lead) it and whom ZooKeeper names.
type SplitBrain struct {
	Kind, Path string
	// Holder is the session ZooKeeper says holds (leads) it, "" for none.
	Holder string
	// Believers maps each believing session to its number of processes.
	Believers map[string]int
	// Unbacked counts the beliefs ZooKeeper does not back.
	Unbacked int
}

// Agree tells a path with exactly one believer, whose session ZooKeeper
// names as the holder.
func (b SplitBrain) Agree() bool {
	return b.Holder != "" && len(b.Believers) == 1 && b.Believers[b.Holder] == 1 && b.Unbacked == 0
}

// String reads like "lock /demo/locks/singleton: 1 believer (session
// 0x...), ZooKeeper holder session 0x..., agree".
func (b SplitBrain) String() string {
	n, sessions := 0, make([]string, 0, len(b.Believers))
	for s, c := range b.Believers {
		n += c
		sessions = append(sessions, s)
	}
	sort.Strings(sessions)
	holder := "none"
	if b.Holder != "" {
		holder = "session " + b.Holder
	}
	verdict := "agree"
	switch {
	case n == 0:
		verdict = "no process exports a belief"
	case !b.Agree():
		verdict = fmt.Sprintf("SPLIT BRAIN: %d unbacked belief(s)", b.Unbacked)
	}
	believers := fmt.Sprintf("%d believer%s", n, map[bool]string{true: "", false: "s"}[n == 1])
	if n > 0 {
		believers += " (session " + strings.Join(sessions, ", ") + ")"
	}
	return fmt.Sprintf("%s %s: %s, ZooKeeper %s %s, %s", b.Kind, b.Path, believers, map[string]string{"lock": "holder", "election": "leader"}[b.Kind], holder, verdict)
}

// SplitBrainCheck runs the queries of the dashboard's split-brain panels
// (with every variable at "All") until the demo's lock agrees or the stage
// times out, and returns what they show.
func (s *Stack) SplitBrainCheck(ctx context.Context) ([]SplitBrain, error) {
	panels, err := loadSplitBrainPanels(filepath.Join(s.opts.Repo, "dashboards", "zookeeper-processes.json"))
	if err != nil {
		return nil, err
	}
	var out []SplitBrain
	err = zktest.WaitFor(stageTimeout, 200*time.Millisecond, func() error {
		out = nil
		for _, kind := range []string{"lock", "election"} {
			rows, err := s.splitBrainRows(ctx, kind, panels[kind])
			if err != nil {
				return err
			}
			out = append(out, rows...)
		}
		for _, b := range out {
			if b.Kind == "lock" && b.Path == LockPath && b.Agree() {
				return nil
			}
		}
		return fmt.Errorf("the split-brain panel does not show %s agreeing yet: %v", LockPath, out)
	})
	return out, err
}

// splitBrainRows runs one panel's three queries (ZooKeeper's holder,
// believers, unbacked beliefs; each by path and session) and merges them.
func (s *Stack) splitBrainRows(ctx context.Context, kind string, exprs []string) ([]SplitBrain, error) {
	byPath := map[string]*SplitBrain{}
	for i, expr := range exprs {
		res, err := s.Query(ctx, expr)
		if err != nil {
			return nil, err
		}
		for _, smp := range res {
			path, session := smp.Labels[kind], smp.Labels["session"]
			b := byPath[path]
			if b == nil {
				b = &SplitBrain{Kind: kind, Path: path, Believers: map[string]int{}}
				byPath[path] = b
			}
			switch i {
			case 0:
				b.Holder = session
			case 1:
				b.Believers[session] += int(smp.Value)
			case 2:
				b.Unbacked += int(smp.Value)
			}
		}
	}
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	out := make([]SplitBrain, len(paths))
	for i, p := range paths {
		out[i] = *byPath[p]
	}
	return out, nil
}

var dashboardVariable = regexp.MustCompile(`\$\{?\w+\}?`)

// loadSplitBrainPanels reads the queries of the split-brain panels from
// the rendered dashboard, variables set to "All".
func loadSplitBrainPanels(file string) (map[string][]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	out := map[string][]string{}
	for kind, title := range splitBrainPanels {
		for _, p := range d.Panels {
			if p.Title != title {
				continue
			}
			for _, t := range p.Targets {
				out[kind] = append(out[kind], dashboardVariable.ReplaceAllString(t.Expr, ".+"))
			}
		}
		if len(out[kind]) != 3 {
			return nil, fmt.Errorf("%s: panel %q has %d queries, want 3 (holder, believers, unbacked)", file, title, len(out[kind]))
		}
	}
	return out, nil
}

// PrintSplitBrain writes the split-brain panel's rows.
func PrintSplitBrain(w io.Writer, rows []SplitBrain) {
	fmt.Fprintf(w, "\n== split-brain panel (dashboard ZooKeeper / Processes): beliefs against ZooKeeper\n")
	for _, b := range rows {
		fmt.Fprintf(w, "  %s\n", b)
	}
}
