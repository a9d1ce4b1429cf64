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
	"regexp"
	"strings"
	"testing"
)

// readmeDemo returns the README's Quick start section with its demo
// walk-through, up to the next "## " heading.
func readmeDemo(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "\n## Quick start\n")
	if start < 0 {
		t.Fatal("README.md has no Quick start section")
	}
	text = text[start+1:]
	if end := strings.Index(text[3:], "\n## "); end >= 0 {
		text = text[:end+3]
	}
	return text
}

// TestReadmeNamesGo: the Quick start says which Go it needs, the version
// go.mod names.
func TestReadmeNamesGo(t *testing.T) {
	data, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(data)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	if want := "Go " + string(m[1]) + " or later"; !strings.Contains(readmeDemo(t), want) {
		t.Errorf("the Quick start does not say %q", want)
	}
}

// TestReadmeDemoCommands: the walk-through stops and starts a member with
// the demo's own command, never with a pattern matched against every
// process on the machine, and names the alerts page Debian's Prometheus
// serves.
func TestReadmeDemoCommands(t *testing.T) {
	text := readmeDemo(t)
	for _, bad := range []string{"pkill", "killall"} {
		if strings.Contains(text, bad) {
			t.Errorf("the Quick start uses %s", bad)
		}
	}
	for _, want := range []string{"bin/zkwatch-demo member stop 1", "bin/zkwatch-demo member start 1", "/classic/alerts", "amtool --alertmanager.url="} {
		if !strings.Contains(text, want) {
			t.Errorf("the Quick start does not show %q", want)
		}
	}
}
