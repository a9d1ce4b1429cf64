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
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

func TestParseTargets(t *testing.T) {
	good := map[string][]string{
		"127.0.0.1:2181":              {"127.0.0.1:2181"},
		"zk1:2181, zk2:2181,zk1:2181": {"zk1:2181", "zk2:2181"},
		"[::1]:2181":                  {"[::1]:2181"},
		"zk-1.example.org:2181":       {"zk-1.example.org:2181"},
	}
	for in, want := range good {
		got, err := parseTargets(in, 16)
		if err != nil || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("parseTargets(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "zk1", "zk1:0", "zk1:99999", "http://zk1:2181", "zk1:2181/x", "user@zk1:2181",
		"zk1:abc", "$(touch x):2181", "zk1 :2181", strings.Repeat("a:1,", 17)} {
		if _, err := parseTargets(in, 16); err == nil {
			t.Errorf("parseTargets(%q) accepted", in)
		}
	}
}

// buildExporter compiles the binary once per test run.
func buildExporter(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "zookeeper_exporter")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

type exporter struct {
	url    string
	cmd    *exec.Cmd
	stderr *bytes.Buffer
}

func startExporter(t *testing.T, bin string, args ...string) *exporter {
	t.Helper()
	ports, err := zktest.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	cmd := exec.Command(bin, append([]string{"--web.listen-address=" + addr}, args...)...)
	e := &exporter{url: "http://" + addr, cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = e.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("exporter log:\n%s", e.stderr)
		}
	})
	if err := zktest.WaitFor(20*time.Second, 20*time.Millisecond, func() error {
		resp, err := http.Get(e.url + "/-/healthy")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return e
}

func get(t *testing.T, url string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestExporterBinary(t *testing.T) {
	zktest.Require(t)
	bin := buildExporter(t)
	ens := zktest.Start(t, 3)
	// Every /metrics probes: the test pauses a member and expects the
	// next scrape to show it.
	exp := startExporter(t, bin, "--zookeeper.servers="+ens.Servers(), "--zookeeper.timeout=1s", "--zookeeper.probe-reuse=0")

	code, body := get(t, exp.url+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	for _, want := range []string{
		"zookeeper_ensemble_leaders 1", "zookeeper_ensemble_members_up 3", "zookeeper_ensemble_has_quorum 1",
		`zookeeper_scrape_collector_success{collector="ensemble"} 1`, "zookeeper_exporter_build_info{",
		"go_goroutines", "process_open_fds", `zookeeper_up{server="` + ens.Addrs()[0] + `"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// /probe of a single member and of the whole ensemble.
	code, body = get(t, exp.url+"/probe?target="+ens.Addrs()[1])
	if code != 200 || !strings.Contains(body, "zookeeper_ensemble_members 1") || strings.Contains(body, "go_goroutines") {
		t.Errorf("/probe one member: %d\n%s", code, body)
	}
	code, body = get(t, exp.url+"/probe?target="+ens.Servers())
	if code != 200 || !strings.Contains(body, "zookeeper_ensemble_leaders 1") {
		t.Errorf("/probe ensemble: %d", code)
	}
	for _, bad := range []string{"", "nohost", "http://x:1", "a:1%2Fb", "x:70000"} {
		code, body = get(t, exp.url+"/probe?target="+bad)
		if code != 400 || len(strings.TrimSpace(body)) == 0 {
			t.Errorf("/probe?target=%s: %d %q, want 400 with a reason", bad, code, body)
		}
	}

	// A paused member and Prometheus's scrape timeout: the scrape answers
	// within the announced timeout.
	ens.Pause(0)
	defer ens.Resume(0)
	begin := time.Now()
	code, body = get(t, exp.url+"/metrics", "X-Prometheus-Scrape-Timeout-Seconds", "0.75")
	took := time.Since(begin)
	if code != 200 || !strings.Contains(body, `zookeeper_up{server="`+ens.Addrs()[0]+`"} 0`) {
		t.Errorf("scrape with paused member: %d", code)
	}
	if took > 1500*time.Millisecond {
		t.Errorf("scrape took %s with a 0.75s scrape timeout", took)
	}

	code, body = get(t, exp.url+"/")
	if code != 200 || !strings.Contains(body, "ZooKeeper Exporter") {
		t.Errorf("landing page: %d", code)
	}
}

func TestExporterBasicAuth(t *testing.T) {
	bin := buildExporter(t)
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	cfg := filepath.Join(t.TempDir(), "web.yml")
	os.WriteFile(cfg, []byte("basic_auth_users:\n  prom: "+string(hash)+"\n"), 0o600)
	exp := startExporter(t, bin, "--zookeeper.servers=127.0.0.1:1", "--web.config.file="+cfg)
	code, _ := get(t, exp.url+"/metrics")
	if code != http.StatusUnauthorized {
		t.Errorf("no credentials: %d, want 401", code)
	}
	req, _ := http.NewRequest(http.MethodGet, exp.url+"/metrics", nil)
	req.SetBasicAuth("prom", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The member is unreachable: still a 200 with up 0, not an error page.
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `zookeeper_up{server="127.0.0.1:1"} 0`) {
		t.Errorf("with credentials: %d", resp.StatusCode)
	}
}

func TestExporterBadFlags(t *testing.T) {
	bin := buildExporter(t)
	for _, args := range [][]string{
		{"--zookeeper.servers=not-a-host-port"},
		{"--zookeeper.transport=telnet"},
		{"--zookeeper.timeout=0s"},
		{"--probe.max-ensembles=0"},
		{"--zookeeper.servers=a:1,b:2", "--zookeeper.admin.servers=a:8080"},
		{"--zookeeper.tls.ca-file=/nonexistent/ca.pem"},
		{"--zookeeper.tls.cert-file=/nonexistent/cert.pem"},
		{"--no-such-flag"},
		// Removed in issue 23: it saved nothing at a 15 s interval.
		{"--zookeeper.warm-connections=5s"},
	} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err == nil {
			t.Errorf("%v: exited 0", args)
			continue
		}
		if len(out) == 0 || strings.Contains(string(out), "panic") {
			t.Errorf("%v: no clear error: %s", args, out)
		}
	}
}

// TestExporterTLS runs the binary with the --zookeeper.tls.* flags against
// a real TLS ensemble (ssl.clientAuth=need): /metrics and /probe over the
// secure ports, and the same through a client certificate the members
// refuse (expired): every member down with reason tls.
func TestExporterTLS(t *testing.T) {
	zktest.Require(t)
	bin := buildExporter(t)
	ens := zktest.Start(t, 3, func(o *zktest.Options) { o.TLS = &zktest.TLSOptions{} })
	c := ens.Certs
	addrs := ens.SecureAddrs()
	servers := strings.Join(addrs, ",")
	// Every probe opens its TLS connections (nine handshakes with the
	// JVMs at the first scrape): on a busy machine they take seconds.
	exp := startExporter(t, bin, "--zookeeper.servers="+servers, "--zookeeper.timeout=10s",
		"--zookeeper.tls.ca-file="+c.CAFile, "--zookeeper.tls.cert-file="+c.ClientCert, "--zookeeper.tls.key-file="+c.ClientKey)
	code, body := get(t, exp.url+"/metrics")
	for _, want := range []string{"zookeeper_ensemble_members_up 3", "zookeeper_ensemble_has_quorum 1", `zookeeper_up{server="` + addrs[0] + `"} 1`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics over TLS: %d, lacks %q\n%s", code, want, body)
		}
	}
	code, body = get(t, exp.url+"/probe?target="+addrs[2])
	if code != 200 || !strings.Contains(body, "zookeeper_ensemble_members_up 1") {
		t.Errorf("/probe over TLS: %d\n%s", code, body)
	}

	cert, key, err := c.Issue("expired", time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	refused := startExporter(t, bin, "--zookeeper.servers="+servers, "--zookeeper.timeout=1s",
		"--zookeeper.tls.ca-file="+c.CAFile, "--zookeeper.tls.cert-file="+cert, "--zookeeper.tls.key-file="+key)
	begin := time.Now()
	code, body = get(t, refused.url+"/probe?target="+servers)
	if took := time.Since(begin); took > 1500*time.Millisecond {
		t.Errorf("/probe with a refused certificate took %s, timeout 1s", took)
	}
	for _, a := range addrs {
		want := fmt.Sprintf("zookeeper_probe_errors_total{reason=%q,server=%q} 1", "tls", a)
		if code != 200 || !strings.Contains(body, want) || !strings.Contains(body, `zookeeper_up{server="`+a+`"} 0`) {
			t.Errorf("/probe with an expired client certificate: %d, lacks %s or up 0", code, want)
		}
	}
}

// TestExporterGracefulShutdown sends SIGTERM: the server shuts down and
// the process exits 0 (it used to os.Exit from a signal goroutine).
func TestExporterGracefulShutdown(t *testing.T) {
	bin := buildExporter(t)
	exp := startExporter(t, bin, "--zookeeper.servers=127.0.0.1:1")
	if err := exp.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- exp.cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
		if !strings.Contains(exp.stderr.String(), "Shutting down") {
			t.Errorf("no shutdown logged:\n%s", exp.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("still running 20s after SIGTERM")
	}
}

// TestExporterGomaxprocs checks that the exporter runs on one CPU by
// default, as node_exporter does, and on as many as --runtime.gomaxprocs
// asks for.
func TestExporterGomaxprocs(t *testing.T) {
	bin := buildExporter(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "1"},
		{[]string{"--runtime.gomaxprocs=3"}, "3"},
	} {
		e := startExporter(t, bin, append([]string{"--zookeeper.servers=127.0.0.1:1"}, tc.args...)...)
		_, body := get(t, e.url+"/metrics")
		if line := "go_sched_gomaxprocs_threads " + tc.want + "\n"; !strings.Contains(body, line) {
			t.Errorf("%v: want %q in /metrics", tc.args, line)
		}
	}
}
