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

// Package deploy tests what users install: the container image, the
// release archives and the Helm chart, each built by its make target and
// run as shipped against a real ZooKeeper.
package deploy

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// binaryNames are the binaries every image and archive carries: those
// .promu.yml lists (the Makefile builds from the same list).
func binaryNames(tb testing.TB) []string {
	tb.Helper()
	data, err := os.ReadFile("../.promu.yml")
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^\s*- name:\s*(\S+)\s*$`).FindAllSubmatch(data, -1) {
		names = append(names, string(m[1]))
	}
	if len(names) == 0 {
		tb.Fatal(".promu.yml lists no binaries")
	}
	return names
}

// requireTool skips the test when a tool is missing, or fails it under
// CI=true, where every packaging tool must be there (make deps installs it).
// Under -short every test of this package skips: they build and run
// binaries.
func requireTool(tb testing.TB, tool string) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("builds and runs binaries: skipped in -short mode")
	}
	if _, err := exec.LookPath(tool); err != nil {
		msg := tool + " not installed (make deps installs it)"
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
}

// runMake runs make with args in the repository and returns its output.
func runMake(tb testing.TB, args ...string) string {
	tb.Helper()
	cmd := exec.Command("make", append([]string{"-s", "--no-print-directory", "-C", ".."}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		tb.Fatalf("make %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	tb.Logf("make %s took %s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return stdout.String()
}

// repoVersion is the VERSION file, as the Makefile stamps it into
// binaries and images.
func repoVersion(tb testing.TB) string {
	tb.Helper()
	v, err := os.ReadFile("../VERSION")
	if err != nil {
		tb.Fatal(err)
	}
	return strings.TrimSpace(string(v))
}

// checkRevision fails unless rev names a commit of the repository. (HEAD
// itself may have moved on since the build: others commit meanwhile.)
func checkRevision(tb testing.TB, rev string) {
	tb.Helper()
	if len(rev) != 40 || exec.Command("git", "cat-file", "-e", rev+"^{commit}").Run() != nil {
		tb.Errorf("revision %q is not a commit of this repository", rev)
	}
}

var versionLine = regexp.MustCompile(`^(\S+), version (\S+) \(branch: \S+, revision: ([0-9a-f]{40})\)`)

// checkVersion runs bin --version and checks that it reports the
// repository's version, a revision of it and a build date, as promu builds
// do; it returns the revision.
func checkVersion(t *testing.T, bin string) string {
	t.Helper()
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version: %v\n%s", bin, err, out)
	}
	name := filepath.Base(bin)
	m := versionLine.FindSubmatch(out)
	if m == nil || string(m[1]) != name || string(m[2]) != repoVersion(t) {
		t.Fatalf("%s --version does not start with %q, version %s (branch: ..., revision: ...):\n%s", name, name, repoVersion(t), out)
	}
	checkRevision(t, string(m[3]))
	for _, re := range []string{`(?m)^\s+build date:\s+\d{8}-\d{2}:\d{2}:\d{2}$`, `(?m)^\s+tags:\s+netgo$`} {
		if !regexp.MustCompile(re).Match(out) {
			t.Errorf("%s --version does not match %s:\n%s", name, re, out)
		}
	}
	return string(m[3])
}

// checkStatic fails unless path is an ELF executable for machine with no
// dynamic loader, so that it runs on an image without a libc.
func checkStatic(t *testing.T, r io.ReaderAt, name string, machine elf.Machine) {
	t.Helper()
	f, err := elf.NewFile(r)
	if err != nil {
		t.Fatalf("%s: not an ELF file: %v", name, err)
	}
	defer f.Close()
	if f.Machine != machine {
		t.Errorf("%s is built for %s, want %s", name, f.Machine, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s is dynamically linked (has an interpreter)", name)
		}
	}
}

// startProcess starts argv in its own process group, killed at the end of
// the test; the returned buffer collects its output.
func startProcess(t *testing.T, attr *syscall.SysProcAttr, argv ...string) (*exec.Cmd, *zktest.SyncBuffer) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	out := &zktest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if attr == nil {
		attr = &syscall.SysProcAttr{}
	}
	attr.Setpgid, attr.Pdeathsig = true, syscall.SIGKILL
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if t.Failed() {
			t.Logf("%s output:\n%s", argv[0], out.String())
		}
	})
	return cmd, out
}

// checkExporterServes runs the exporter binary against a real one-member
// ZooKeeper and waits until /metrics reports the member up.
func checkExporterServes(t *testing.T, bin string, attr *syscall.SysProcAttr) {
	t.Helper()
	ens := zktest.Start(t, 1)
	ports, err := zktest.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	startProcess(t, attr, bin, "--zookeeper.servers="+ens.Servers(), "--web.listen-address="+addr)
	want := fmt.Sprintf(`zookeeper_up{server=%q} 1`, ens.Addrs()[0])
	if err := zktest.WaitFor(60*time.Second, 100*time.Millisecond, func() error {
		body, err := httpGet("http://" + addr + "/metrics")
		if err != nil {
			return err
		}
		if !hasLinePrefix(body, want) {
			return fmt.Errorf("/metrics has no %s", want)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// httpGet returns the body of a 200 answer to GET url.
func httpGet(url string) (string, error) {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(body), nil
}

func hasLinePrefix(text, prefix string) bool {
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			return true
		}
	}
	return false
}
