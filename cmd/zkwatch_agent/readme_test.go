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
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/sys/unix"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// readmeAgentMetric is one row of the README's agent metric table.
type readmeAgentMetric struct {
	name, typ string
	labels    []string
	modes     []string
}

var readmeMetricCellRE = regexp.MustCompile("^`([a-z_]+)(?:\\{([a-z_,]+)\\})?`$")

// readmeAgentMetrics parses the "| metric | type | modes | meaning |" table
// of the README's zkwatch_agent section.
func readmeAgentMetrics(t *testing.T) []readmeAgentMetric {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "\n## zkwatch_agent\n")
	if start < 0 {
		t.Fatal("README.md has no zkwatch_agent section")
	}
	text = text[start+1:]
	if end := strings.Index(text[3:], "\n## "); end >= 0 {
		text = text[:end+3]
	}
	var rows []readmeAgentMetric
	inTable := false
	for _, line := range strings.Split(text, "\n") {
		cells := strings.Split(line, "|")
		if !strings.HasPrefix(line, "|") || len(cells) < 6 {
			inTable = false
			continue
		}
		c := func(i int) string { return strings.TrimSpace(cells[i]) }
		if c(1) == "metric" && c(2) == "type" && c(3) == "modes" {
			inTable = true
			continue
		}
		m := readmeMetricCellRE.FindStringSubmatch(c(1))
		if !inTable || m == nil {
			continue
		}
		r := readmeAgentMetric{name: m[1], typ: c(2)}
		if m[2] != "" {
			r.labels = strings.Split(m[2], ",")
		}
		for _, mode := range strings.Split(c(3), ",") {
			r.modes = append(r.modes, strings.TrimSpace(mode))
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		t.Fatal("README.md: no agent metric table")
	}
	return rows
}

// agentFamilies scrapes the agent's zkwatch_agent_* metric families.
func agentFamilies(a *agentProc) (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get("http://" + a.addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	all, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, err
	}
	fams := map[string]*dto.MetricFamily{}
	for name, f := range all {
		if strings.HasPrefix(name, "zkwatch_agent_") {
			fams[name] = f
		}
	}
	return fams, nil
}

// checkAgentMetrics compares one agent's metrics with the README rows of
// its mode: the same names, types and label names, nothing else.
func checkAgentMetrics(mode string, rows []readmeAgentMetric, fams map[string]*dto.MetricFamily) error {
	var want []string
	for _, r := range rows {
		if !slices.Contains(r.modes, mode) && !slices.Contains(r.modes, "all") {
			continue
		}
		want = append(want, r.name)
		f, ok := fams[r.name]
		if !ok {
			return fmt.Errorf("%s agent lacks %s", mode, r.name)
		}
		if got := strings.ToLower(f.GetType().String()); got != r.typ {
			return fmt.Errorf("%s is a %s, README says %s", r.name, got, r.typ)
		}
		if len(r.labels) == 0 {
			continue
		}
		for _, m := range f.GetMetric() {
			var names []string
			for _, l := range m.GetLabel() {
				names = append(names, l.GetName())
			}
			if !slices.Equal(names, r.labels) {
				return fmt.Errorf("%s has labels %v, README says %v", r.name, names, r.labels)
			}
		}
	}
	got := make([]string, 0, len(fams))
	for name := range fams {
		got = append(got, name)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		return fmt.Errorf("%s agent exports %v, README's table says %v", mode, got, want)
	}
	return nil
}

// TestReadmeAgentMetricsByMode holds the README's agent metric table to
// real agents: an agent of each mode exports exactly the metrics whose
// "modes" column names it, with the documented type and labels, and the
// documented task states.
func TestReadmeAgentMetricsByMode(t *testing.T) {
	rows := readmeAgentMetrics(t)
	ens := zktest.Start(t, 1)
	agents := map[string]*agentProc{
		"register": startAgent(t, ens.Servers(), "register", "--register=/monitor/app", "--member=m1", "--", "sleep", "1000"),
		"lock":     startAgent(t, ens.Servers(), "lock", "--path=/locks/readme", "--", "sleep", "1000"),
		"election": startAgent(t, ens.Servers(), "election", "--path=/elections/readme", "--", "sleep", "1000"),
		"worker":   startAgent(t, ens.Servers(), "worker", "--root=/jobs/readme", "--member=w1", "--", "true", "{{.Task}}"),
	}
	ready := map[string]string{"register": "zkwatch_agent_registered", "lock": "zkwatch_agent_lock_held",
		"election": "zkwatch_agent_election_leader", "worker": "zkwatch_agent_registered"}
	for mode, a := range agents {
		if err := zktest.WaitFor(waitLong, 20*time.Millisecond, func() error {
			if v, err := a.metric(ready[mode]); err != nil || v != 1 {
				return fmt.Errorf("%s %v %v", ready[mode], v, err)
			}
			fams, err := agentFamilies(a)
			if err != nil {
				return err
			}
			return checkAgentMetrics(mode, rows, fams)
		}); err != nil {
			t.Error(err)
		}
	}
	fams, err := agentFamilies(agents["worker"])
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, m := range fams["zkwatch_agent_tasks"].GetMetric() {
		states = append(states, m.GetLabel()[0].GetValue())
	}
	sort.Strings(states)
	if want := []string{"claimed", "done", "running"}; !slices.Equal(states, want) {
		t.Errorf("zkwatch_agent_tasks states %v, README says %v", states, want)
	}
}

// TestReadmeSignalsPassedThrough: "SIGHUP, SIGUSR1 and SIGUSR2 are passed
// through" to the command by the real binary, which keeps running and
// registered.
func TestReadmeSignalsPassedThrough(t *testing.T) {
	ens := zktest.Start(t, 1)
	obs := observer(t, ens.Servers())
	dir := t.TempDir()
	got, ready := filepath.Join(dir, "signals"), filepath.Join(dir, "ready")
	script := `for s in HUP USR1 USR2; do trap "echo $s >> $0" $s; done; touch "$1"; while :; do sleep 0.05; done`
	a := startAgent(t, ens.Servers(), "register", "--register=/monitor/sig", "--member=m1", "--", "sh", "-c", script, got, ready)
	if err := zktest.WaitFor(waitLong, 20*time.Millisecond, func() error {
		if _, err := os.Stat(ready); err != nil {
			return err
		}
		_, _, err := obs.Get("/monitor/sig/m1")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2} {
		name := strings.TrimPrefix(unix.SignalName(sig), "SIG")
		a.signal(sig)
		if err := zktest.WaitFor(waitLong, 20*time.Millisecond, func() error {
			b, err := os.ReadFile(got)
			if err != nil || !strings.Contains(string(b), name+"\n") {
				return fmt.Errorf("the command has not seen %s: %q %v", name, b, err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if ok, _, err := obs.Exists("/monitor/sig/m1"); err != nil || !ok {
		t.Errorf("member node gone after the passed-through signals: %v %v", ok, err)
	}
	if v, err := a.metric("zkwatch_agent_registered"); err != nil || v != 1 {
		t.Errorf("registered %v %v after the passed-through signals", v, err)
	}
}

// TestReadmeWorkerTemplateUnderChroot: with --zookeeper.chroot a task
// command sees {{.Path}} inside the chroot (as configured), next to
// {{.Task}} and {{.Worker}}, and the task is marked done on the server
// under the chroot.
func TestReadmeWorkerTemplateUnderChroot(t *testing.T) {
	ens := zktest.Start(t, 1)
	obs := observer(t, ens.Servers())
	for _, p := range []string{"/myapp", "/myapp/jobs", "/myapp/jobs/Tasks", "/myapp/jobs/Workers", "/myapp/jobs/Tasks/t1"} {
		if _, err := obs.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "args")
	startAgent(t, ens.Servers(), "--zookeeper.chroot=/myapp", "worker", "--root=/jobs", "--member=w1", "--",
		"sh", "-c", `echo "$1 $2 $3" >> "$0"`, out, "{{.Task}}", "{{.Path}}", "{{.Worker}}")
	if err := zktest.WaitFor(waitLong, 20*time.Millisecond, func() error {
		data, _, err := obs.Get("/myapp/jobs/Tasks/t1")
		if err != nil {
			return err
		}
		if task := parseTask(data); task.State != "done" {
			return fmt.Errorf("task data %q, want done", data)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(out); err != nil || string(got) != "t1 /jobs/Tasks/t1 w1\n" {
		t.Errorf("task command arguments %q (%v), want %q", got, err, "t1 /jobs/Tasks/t1 w1\n")
	}
}

// TestReadmeHealthFlags: --health.tcp and --health.exec (split on spaces,
// no shell) of the real binary; the node exists only while every check
// passes and comes back when they pass again.
func TestReadmeHealthFlags(t *testing.T) {
	ens := zktest.Start(t, 1)
	obs := observer(t, ens.Servers())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	flag := filepath.Join(t.TempDir(), "healthy")
	if err := os.WriteFile(flag, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, ens.Servers(), "register", "--register=/monitor/health", "--member=m1",
		"--health.tcp="+ln.Addr().String(), "--health.exec=test -e "+flag, "--health.interval=50ms", "--", "sleep", "1000")
	registered := func(want bool) {
		t.Helper()
		if err := zktest.WaitFor(waitLong, 20*time.Millisecond, func() error {
			ok, _, err := obs.Exists("/monitor/health/m1")
			if err != nil || ok != want {
				return fmt.Errorf("member node exists %v (%v), want %v", ok, err, want)
			}
			if v, err := a.metric("zkwatch_agent_registered"); err != nil || (v == 1) != want {
				return fmt.Errorf("zkwatch_agent_registered %v (%v)", v, err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	registered(true)
	if err := os.Remove(flag); err != nil { // the exec check fails
		t.Fatal(err)
	}
	registered(false)
	if err := os.WriteFile(flag, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	registered(true)
	ln.Close() // the TCP check fails
	registered(false)
}
