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

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/agent"
)

// TestExampleUnitsParse: the ExecStart line of every systemd unit in
// examples/agent parses with the agent's flags and passes the checks its
// mode makes before connecting (systemd's %i and %H filled in).
func TestExampleUnitsParse(t *testing.T) {
	units, err := filepath.Glob(filepath.Join("..", "..", "examples", "agent", "*.service"))
	if err != nil || len(units) == 0 {
		t.Fatalf("no agent units: %v", err)
	}
	modes := map[string]bool{}
	for _, unit := range units {
		b, err := os.ReadFile(unit)
		if err != nil {
			t.Fatal(err)
		}
		_, exec, ok := strings.Cut(string(b), "\nExecStart=")
		if !ok {
			t.Fatalf("%s: no ExecStart", unit)
		}
		exec, _, _ = strings.Cut(strings.ReplaceAll(exec, "\\\n", " "), "\n")
		exec = strings.NewReplacer("%i", "app", "%H", "host1").Replace(exec)
		args := strings.Fields(exec)[1:]
		app := kingpin.New("zkwatch_agent", "")
		f := addFlags(app)
		cmd, err := app.Parse(args)
		if err != nil {
			t.Errorf("%s: %v", unit, err)
			continue
		}
		m, err := agent.NewModeMetrics(prometheus.NewRegistry(), cmd)
		if err == nil {
			_, err = f.mode(cmd, nil, m, log.NewNopLogger())
		}
		if err != nil {
			t.Errorf("%s: %v", unit, err)
		}
		modes[cmd] = true
	}
	for _, mode := range []string{agent.ModeRegister, agent.ModeLock, agent.ModeElection} {
		if !modes[mode] {
			t.Errorf("no unit in examples/agent runs %s mode", mode)
		}
	}
}
