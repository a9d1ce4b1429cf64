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
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// The systemd units and the Kubernetes sidecar are examples too: each is
// checked with systemd-analyze (units) and then run as written against a
// real ZooKeeper. The agent's units, run by examples_test.go, are
// verified by systemd-analyze first.
func init() {
	exampleLoaders["systemd/zookeeper_exporter.service"] = hardenedUnit(runExporterUnit)
	exampleLoaders["systemd/zkwatch_receiver.service"] = hardenedUnit(runReceiverUnit)
	exampleLoaders["kubernetes/agent-sidecar.yaml"] = runAgentSidecar
	for _, u := range []string{"agent/zkwatch-agent-register@.service", "agent/zkwatch-agent-lock.service"} {
		run := exampleLoaders[u]
		exampleLoaders[u] = func(t *testing.T, e *exampleEnv, path string) {
			verifyUnit(t, path)
			run(t, e, path)
		}
	}
}

// maxExposure is the highest `systemd-analyze security` exposure a zkwatch
// service unit may have (0 is fully locked down, 10 fully exposed; a unit
// without any hardening scores 9.6).
const maxExposure = 2.0

// hardenedUnit checks a unit with systemd-analyze verify and security
// before run runs it.
func hardenedUnit(run func(*testing.T, *exampleEnv, string)) func(*testing.T, *exampleEnv, string) {
	return func(t *testing.T, e *exampleEnv, path string) {
		unit := verifyUnit(t, path)
		out, err := exec.Command("systemd-analyze", "security", "--offline=yes",
			"--threshold="+strconv.FormatFloat(maxExposure*10, 'f', 0, 64), unit).CombinedOutput()
		m := regexp.MustCompile(`Overall exposure level for \S+: (\d+\.\d+)`).FindSubmatch(out)
		if err != nil || m == nil {
			t.Fatalf("systemd-analyze security %s: %v (exposure above %.1f?)\n%s", filepath.Base(path), err, maxExposure, out)
		}
		t.Logf("%s: systemd-analyze security exposure %s", filepath.Base(path), m[1])
		run(t, e, path)
	}
}

// verifyUnit runs systemd-analyze verify on a copy of the unit whose
// /usr/local/bin binaries point at ones that exist (verify checks that
// ExecStart is executable), failing on any complaint, warnings included.
// It returns the copy's path. A template unit is verified as an instance.
func verifyUnit(t *testing.T, path string) string {
	t.Helper()
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		msg := "systemd-analyze not installed (apt-get install systemd; make deps installs it)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// Any executable stands in for the binary: verify only checks that
	// ExecStart can be executed.
	unit := regexp.MustCompile(`/usr/local/bin/(zookeeper_exporter|zkwatch_receiver|zkwatch_agent)\b`).
		ReplaceAllString(string(data), self)
	name := strings.Replace(filepath.Base(path), "@.", "@example.", 1)
	copyPath := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(copyPath, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", "--man=no", copyPath).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify %s: %v\n%s", filepath.Base(path), err, out)
	}
	return copyPath
}

// unitArgv is the ExecStart argv of a unit, localized as the agent's
// examples are, plus the local listen address.
func (e *exampleEnv) unitArgv(t *testing.T, path string, replace map[string]string) ([]string, string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := execStart.FindStringSubmatch(string(data))
	if m == nil {
		t.Fatalf("%s has no ExecStart", path)
	}
	line := e.localize(t, strings.ReplaceAll(m[1], "\\\n", " "), replace)
	addr := regexp.MustCompile(`--web.listen-address=(\S+)`).FindStringSubmatch(line)
	return strings.Fields(line), addr[1]
}

func runExporterUnit(t *testing.T, e *exampleEnv, path string) {
	e.setup(t)
	bin := build(t, "zookeeper_exporter")
	argv, addr := e.unitArgv(t, path, map[string]string{
		"/usr/local/bin/zookeeper_exporter": filepath.Join(bin, "zookeeper_exporter"),
	})
	run(t, argv)
	want := fmt.Sprintf("zookeeper_up{server=%q} 1", e.ens.Addrs()[0])
	waitBody(t, "http://"+addr+"/metrics", "", want)
}

func runReceiverUnit(t *testing.T, e *exampleEnv, path string) {
	e.setup(t)
	bin := build(t, "zkwatch_receiver")
	dir := t.TempDir()
	token := filepath.Join(dir, "receiver.token")
	cfg := filepath.Join(dir, "receiver.yml")
	if err := os.WriteFile(token, []byte("s3cret-token-0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("global:\n  bearer_token_file: "+token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	digest := filepath.Join(dir, "zookeeper.digest")
	if err := os.WriteFile(digest, []byte("receiver:s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	argv, addr := e.unitArgv(t, path, map[string]string{
		"/usr/local/bin/zkwatch_receiver": filepath.Join(bin, "zkwatch_receiver"),
		"%d/zookeeper.digest":             digest,
		"/etc/zkwatch/receiver.yml":       cfg,
		"/var/lib/zkwatch-receiver":       filepath.Join(dir, "state"),
		"%H":                              "receiver-1",
	})
	run(t, argv)
	waitBody(t, "http://"+addr+"/api/v1/incidents", "Bearer s3cret-token-0123456789abcdef", "")
	resp, err := http.Get("http://" + addr + "/api/v1/incidents")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("incidents without the token: %s, want 401", resp.Status)
	}
}

// runAgentSidecar runs the sidecar's agent container as written (its
// command and arguments, with the pod's name, the ensemble, the pid file
// and the health URL made local) and waits for the member node. It also
// checks that the container runs as non-root on a read-only root.
func runAgentSidecar(t *testing.T, e *exampleEnv, path string) {
	e.setup(t)
	var dep map[string]any
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &dep); err != nil {
		t.Fatal(err)
	}
	agent := sidecarContainer(t, dep)
	sc, _ := agent["securityContext"].(map[string]any)
	if sc["runAsNonRoot"] != true || sc["readOnlyRootFilesystem"] != true || sc["allowPrivilegeEscalation"] != false {
		t.Errorf("agent sidecar securityContext %v: want non-root, read-only root, no privilege escalation", sc)
	}
	app := exec.Command("sleep", "1000")
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Process.Kill(); _ = app.Wait() })
	pidFile := filepath.Join(t.TempDir(), "shop.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(app.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	health := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer health.Close()
	var words []string
	for _, a := range append(agent["command"].([]any), agent["args"].([]any)...) {
		words = append(words, a.(string))
	}
	line := strings.Join(words, " ")
	line = regexp.MustCompile(`--zookeeper.servers=\S+`).ReplaceAllString(line, "--zookeeper.servers=zk1:2181,zk2:2181,zk3:2181")
	line = strings.ReplaceAll(line, "/bin/zkwatch_agent", "/usr/local/bin/zkwatch_agent")
	line = e.localize(t, line, map[string]string{
		"/usr/local/bin/zkwatch_agent":  filepath.Join(e.bin, "zkwatch_agent"),
		"$(POD_NAME)":                   "shop-0",
		"/run/shop/shop.pid":            pidFile,
		"http://127.0.0.1:8080/healthz": health.URL + "/healthz",
	})
	run(t, strings.Fields(line))
	if err := zktest.WaitFor(60*time.Second, 50*time.Millisecond, func() error {
		_, st, err := e.conn.Get("/monitor/shop/shop-0")
		if err != nil {
			return err
		}
		if st.EphemeralOwner == 0 {
			return fmt.Errorf("member node is not ephemeral")
		}
		return nil
	}); err != nil {
		t.Fatalf("member /monitor/shop/shop-0: %v", err)
	}
}

// sidecarContainer returns the Deployment's zkwatch-agent container,
// after checking that the pod shares its process namespace.
func sidecarContainer(t *testing.T, dep map[string]any) map[string]any {
	t.Helper()
	spec, _ := dep["spec"].(map[string]any)
	tmpl, _ := spec["template"].(map[string]any)
	pod, _ := tmpl["spec"].(map[string]any)
	if pod["shareProcessNamespace"] != true {
		t.Error("the sidecar's pod does not share its process namespace: the agent cannot see the pid")
	}
	containers, _ := pod["containers"].([]any)
	for _, c := range containers {
		if m, _ := c.(map[string]any); m["name"] == "zkwatch-agent" {
			return m
		}
	}
	t.Fatal("no zkwatch-agent container")
	return nil
}

// waitBody polls url (with an Authorization header when auth is set)
// until it answers 200 with a line starting with want.
func waitBody(t *testing.T, url, auth, want string) {
	t.Helper()
	if err := zktest.WaitFor(60*time.Second, 100*time.Millisecond, func() error {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		if want != "" && !regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(want)).Match(body) {
			return fmt.Errorf("GET %s: no line starting with %s", url, want)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
