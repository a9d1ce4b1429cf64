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

package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/watchconfig"
	"github.com/zkwatch/zkwatch/internal/zktest"
	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/tools/zkwatch-demo/demo"
)

// exampleLoaders names, for every file under examples/, how a test
// consumes it the way a user would. A new example without an entry fails
// TestExamples.
var exampleLoaders = map[string]func(*testing.T, *exampleEnv, string){
	"receiver.yml":                          loadReceiverExample,
	"watch.yml":                             loadWatchExample,
	"prometheus.yml":                        checkWithTool("promtool", "prometheus", "check", "config"),
	"alertmanager.yml":                      checkWithTool("amtool", "prometheus-alertmanager", "check-config"),
	"agent/zkwatch-agent-register@.service": runRegisterUnit,
	"agent/zkwatch-agent-lock.service":      runLockUnit,
	"agent/zkwatch-agent-election.service":  runElectionUnit,
	"agent/worker.sh":                       runWorkerScript,
	"templates/dingtalk.tmpl": loadTemplateExample(`dingtalk: {url: "http://127.0.0.1:1/robot/send",
      title: '{{ template "ding.link.title" . }}', text: '{{ template "ding.link.content" . }}'}`),
	"templates/email.html": loadTemplateExample(`email: {smarthost: "127.0.0.1:25", from: a@b, to: [c@d],
      subject: '{{ template "email.zkwatch.subject" . }}', html: '{{ template "email.zkwatch.html" . }}'}`),
}

// TestExamples loads every shipped example: the receiver configuration
// with the receiver's loader (cmd/zkwatch_receiver's
// TestShippedExampleRestartsMember also runs it on a real alert), the
// watch configuration with the exporter's, Prometheus and Alertmanager
// configurations with their own checkers, and the agent's systemd units
// and worker script by running them against a real ZooKeeper.
func TestExamples(t *testing.T) {
	env := &exampleEnv{parent: t}
	seen := map[string]bool{}
	err := filepath.WalkDir("../examples", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel("../examples", path)
		seen[rel] = true
		load, ok := exampleLoaders[rel]
		if !ok {
			t.Errorf("examples/%s is loaded by no test: add it to exampleLoaders", rel)
			return nil
		}
		t.Run(rel, func(t *testing.T) { load(t, env, path) })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for rel := range exampleLoaders {
		if !seen[rel] {
			t.Errorf("exampleLoaders names examples/%s, which does not exist", rel)
		}
	}
}

func loadReceiverExample(t *testing.T, _ *exampleEnv, path string) {
	c, err := config.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Restarts) == 0 || len(c.Notifiers) == 0 {
		t.Errorf("example has %d restart rules and %d notifiers", len(c.Restarts), len(c.Notifiers))
	}
}

// loadTemplateExample loads a receiver configuration that uses the
// template file as its README says; loading executes the templates on
// sample messages. The notifier tests render them on real sinks
// (dingtalk TestExampleTemplate, email TestExampleHTMLTemplateInBrowser).
func loadTemplateExample(notifier string) func(*testing.T, *exampleEnv, string) {
	return func(t *testing.T, _ *exampleEnv, path string) {
		abs, err := filepath.Abs(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg := filepath.Join(t.TempDir(), "receiver.yml")
		doc := fmt.Sprintf("templates: [%q]\nnotifiers:\n  - name: n\n    %s\n", abs, notifier)
		if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := config.LoadFile(cfg); err != nil {
			t.Fatal(err)
		}
	}
}

func loadWatchExample(t *testing.T, _ *exampleEnv, path string) {
	c, err := watchconfig.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Groups) == 0 {
		t.Error("example watches no group")
	}
}

// checkWithTool runs a configuration checker of the Debian package pkg.
func checkWithTool(tool, pkg string, args ...string) func(*testing.T, *exampleEnv, string) {
	return func(t *testing.T, _ *exampleEnv, path string) {
		if _, err := exec.LookPath(tool); err != nil {
			msg := tool + " not installed (apt-get install " + pkg + ")"
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		out, err := exec.Command(tool, append(args, path)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s %s: %v\n%s", tool, strings.Join(args, " "), path, err, out)
		}
	}
}

// exampleEnv is what the agent examples share: one real ZooKeeper and the
// agent binary, made on first use.
type exampleEnv struct {
	parent *testing.T
	once   sync.Once
	ens    *zktest.Ensemble
	bin    string
	conn   *zk.Conn
}

func (e *exampleEnv) setup(t *testing.T) {
	// Skip the subtest itself: the parent cannot skip from here.
	zktest.Require(t)
	e.once.Do(func() {
		e.ens = zktest.Start(e.parent, 1)
		e.bin = build(e.parent, "zkwatch_agent")
		conn, _, err := zk.Connect(e.ens.Addrs(), 4*time.Second, zk.WithLogInfo(false))
		if err != nil {
			e.parent.Fatal(err)
		}
		e.parent.Cleanup(conn.Close)
		e.conn = conn
	})
	if e.conn == nil {
		t.Fatal("no ZooKeeper for the agent examples")
	}
}

// script writes an executable shell script that appends its arguments
// to out, then runs rest.
func script(t *testing.T, name, out, rest string) string {
	p := filepath.Join(t.TempDir(), name)
	body := fmt.Sprintf("#!/bin/sh\necho \"$@\" >> %q\n%s\n", out, rest)
	if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

var execStart = regexp.MustCompile(`(?m)^ExecStart=((?:.*\\\n)*.*)$`)

// unitCommand is the ExecStart argv of a systemd unit with the specifiers
// %i and %H expanded, and the host-specific parts replaced by the test's:
// the installed binary, the ensemble, the listen address and whatever
// else is in replace.
func (e *exampleEnv) unitCommand(t *testing.T, path string, specifiers, replace map[string]string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := execStart.FindStringSubmatch(string(data))
	if m == nil {
		t.Fatalf("%s has no ExecStart", path)
	}
	line := strings.ReplaceAll(m[1], "\\\n", " ")
	if strings.ContainsAny(line, `"'`) {
		t.Fatalf("ExecStart quotes arguments; split it as systemd does: %s", line)
	}
	for k, v := range specifiers {
		line = strings.ReplaceAll(line, k, v)
	}
	replace["/usr/local/bin/zkwatch_agent"] = filepath.Join(e.bin, "zkwatch_agent")
	return strings.Fields(e.localize(t, line, replace))
}

// localize replaces the example's host-specific parts (the ensemble, the
// listen address and replace) and fails when one the test does not know
// is left.
func (e *exampleEnv) localize(t *testing.T, cmdline string, replace map[string]string) string {
	replace["zk1:2181,zk2:2181,zk3:2181"] = e.ens.Servers()
	ports, err := zktest.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	listen := regexp.MustCompile(`--web.listen-address=:\d+`)
	if !listen.MatchString(cmdline) {
		t.Fatalf("no --web.listen-address=:PORT in %s", cmdline)
	}
	cmdline = listen.ReplaceAllString(cmdline, fmt.Sprintf("--web.listen-address=127.0.0.1:%d", ports[0]))
	if digest := "/etc/zkwatch/agent.digest"; strings.Contains(cmdline, digest) {
		file := filepath.Join(t.TempDir(), "agent.digest")
		if err := os.WriteFile(file, []byte("agent:example\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		replace[digest] = file
	}
	for k, v := range replace {
		if !strings.Contains(cmdline, k) {
			t.Fatalf("example no longer contains %q: update the test", k)
		}
		cmdline = strings.ReplaceAll(cmdline, k, v)
	}
	if strings.Contains(cmdline, "/usr/local/bin/") {
		t.Fatalf("unreplaced host path in %s", cmdline)
	}
	return cmdline
}

// run starts argv in its own process group, stopped at the end of the test.
func run(t *testing.T, argv []string, env ...string) {
	cmd := exec.Command(argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if t.Failed() {
			t.Logf("%v output:\n%s", argv, out.String())
		}
	})
}

// waitFile waits until path holds want.
func waitFile(t *testing.T, path, want string) {
	t.Helper()
	if err := zktest.WaitFor(60*time.Second, 50*time.Millisecond, func() error {
		got, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("command did not run: %v", err)
		}
		if string(got) != want {
			return fmt.Errorf("%s holds %q, want %q", path, got, want)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func runRegisterUnit(t *testing.T, e *exampleEnv, path string) {
	e.setup(t)
	health := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer health.Close()
	out := filepath.Join(t.TempDir(), "ran")
	argv := e.unitCommand(t, path, map[string]string{"%i": "myapp", "%H": "host1"}, map[string]string{
		"/usr/local/bin/myapp":          script(t, "myapp", out, "exec sleep 1000"),
		"http://127.0.0.1:8080/healthz": health.URL + "/healthz",
	})
	run(t, argv)
	waitFile(t, out, "--config=/etc/myapp.yml\n")
	if err := zktest.WaitFor(60*time.Second, 50*time.Millisecond, func() error {
		_, st, err := e.conn.Get("/monitor/myapp/host1")
		if err != nil {
			return err
		}
		if st.EphemeralOwner == 0 {
			return fmt.Errorf("member node is not ephemeral")
		}
		return nil
	}); err != nil {
		t.Fatalf("member /monitor/myapp/host1: %v", err)
	}
}

func runLockUnit(t *testing.T, e *exampleEnv, path string) {
	runRecipeUnit(t, e, path, "/usr/local/bin/report-daemon", "/locks/report", "lock-")
}

func runElectionUnit(t *testing.T, e *exampleEnv, path string) {
	runRecipeUnit(t, e, path, "/usr/local/bin/scheduler", "/elections/scheduler", "latch-")
}

// runRecipeUnit runs a lock or election unit's command line: its command
// runs, and the agent's contender node (Curator's layout) is under parent.
func runRecipeUnit(t *testing.T, e *exampleEnv, path, command, parent, marker string) {
	e.setup(t)
	out := filepath.Join(t.TempDir(), "ran")
	argv := e.unitCommand(t, path, nil, map[string]string{
		command: script(t, filepath.Base(command), out, "exec sleep 1000"),
	})
	run(t, argv)
	waitFile(t, out, "\n")
	children, _, err := e.conn.Children(parent)
	if err != nil || len(children) != 1 || !strings.HasPrefix(children[0], "_c_") || !strings.Contains(children[0], "-"+marker) {
		t.Errorf("contenders under %s: %v (%v), want one _c_<uuid>-%s<seq>", parent, children, err, marker)
	}
}

func runWorkerScript(t *testing.T, e *exampleEnv, path string) {
	e.setup(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "ran")
	// The script runs as written (with its shell quoting, which matters for
	// '{{.Task}}'), zkwatch_agent found on PATH.
	text := e.localize(t, string(data), map[string]string{
		"/usr/local/bin/process-file": script(t, "process-file", out, ""),
		"/data/in/":                   dir + "/in/",
	})
	sh := filepath.Join(dir, "worker.sh")
	if err := os.WriteFile(sh, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
	// The task producer shares the agent's identity (the parents of the
	// agent's nodes must not be open).
	if err := e.conn.AddAuth("digest", []byte("agent:example")); err != nil {
		t.Fatal(err)
	}
	acl := append(zk.WorldACL(zk.PermRead), zk.AuthACL(zk.PermAll)...)
	for _, p := range []string{"/jobs", "/jobs/pool", "/jobs/pool/Tasks", "/jobs/pool/Tasks/t1"} {
		if _, err := e.conn.Create(p, nil, 0, acl); err != nil && err != zk.ErrNodeExists {
			t.Fatal(err)
		}
	}
	run(t, []string{"/bin/sh", sh}, "PATH="+e.bin+":"+os.Getenv("PATH"))
	waitFile(t, out, dir+"/in/t1\n")
	if err := zktest.WaitFor(60*time.Second, 50*time.Millisecond, func() error {
		d, _, err := e.conn.Get("/jobs/pool/Tasks/t1")
		if err != nil {
			return err
		}
		if !strings.Contains(string(d), `"state":"done"`) {
			return fmt.Errorf("task t1: %s", d)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestDemoLockJobCycles: the demo's singleton job under zkwatch_agent lock
// ends after its period and runs again, releasing the lock and taking it
// anew (a new contender node), so a demo left running never holds the
// lock past ZooKeeperLockHeldTooLong's threshold. Same arguments as the
// demo, with a 1s period instead of demo.LockJobPeriod.
func TestDemoLockJobCycles(t *testing.T) {
	ens := zktest.Start(t, 1)
	bin := build(t, "zkwatch_agent", "zkwatch-demo")
	ports, err := zktest.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := demo.WriteDigest(dir); err != nil {
		t.Fatal(err)
	}
	args := demo.LockAgentArgs(bin, ens.Servers(), demo.DigestFile(dir), fmt.Sprintf("127.0.0.1:%d", ports[0]), filepath.Join(dir, "pid"), time.Second)
	run(t, append([]string{filepath.Join(bin, "zkwatch_agent")}, args...))
	conn, _, err := zk.Connect(ens.Addrs(), 4*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	holders := map[string]bool{}
	if err := zktest.WaitFor(60*time.Second, 20*time.Millisecond, func() error {
		children, _, err := conn.Children(demo.LockPath)
		if err == nil && len(children) > 1 {
			return zktest.Permanent(fmt.Errorf("%d contenders for one job: %v", len(children), children))
		}
		for _, c := range children {
			holders[c] = true
		}
		if len(holders) < 3 {
			return fmt.Errorf("lock taken %d times so far", len(holders))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
