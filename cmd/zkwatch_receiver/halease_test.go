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
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/procstat"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

// stamps reads a file of `date +%s%N` lines.
func stamps(file string) []time.Time {
	data, _ := os.ReadFile(file)
	var out []time.Time
	for _, f := range strings.Fields(string(data)) {
		if ns, err := strconv.ParseInt(f, 10, 64); err == nil {
			out = append(out, time.Unix(0, ns))
		}
	}
	return out
}

// TestHATakeoverWaitsForOwnersCommand is the lease rule on the real
// binaries: replica A runs a restart and is cut off from ZooKeeper by a
// black-holing proxy; replica B takes the claim over once A's session
// expired and runs the next attempt. A's command must be gone before B's
// starts. Before, A's command ran on to its timeout while B's ran too.
func TestHATakeoverWaitsForOwnersCommand(t *testing.T) {
	e := zktest.Start(t, 1)
	proxy, err := zktest.NewProxy(e.Addrs()...)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	dir := t.TempDir()
	digest := filepath.Join(dir, "digest")
	writeFile(t, digest, "rcv:s3cret\n")
	replica := func(name, servers, script string) *proc {
		cfg := filepath.Join(dir, name+".yml")
		writeFile(t, cfg, fmt.Sprintf(`
restarts:
  - name: member
    match: {alertname: ZooKeeperProcessMemberDown}
    command: ["/bin/sh", "-c", %q, %q]
    timeout: 60s
    backoff: 100ms
    cooldown: 0s
    max_attempts: 5
`, script, filepath.Join(dir, name)))
		return launchAt(t, freeAddr(t), cfg, filepath.Join(dir, "data-"+name), "--ha.zookeeper.servers="+servers,
			"--ha.replica-name="+name, "--ha.zookeeper.session-timeout=4s", "--ha.zookeeper.auth.digest-file="+digest)
	}
	a := replica("a", strings.Join(proxy.Addrs(), ","), `echo $$ > "$0.pid"; while :; do date +%s%N >> "$0.log"; sleep 0.02; done`)
	b := replica("b", e.Servers(), `date +%s%N >> "$0.start"`)
	body := alertBody(map[string]string{"alertname": "ZooKeeperProcessMemberDown", "member": "m1"}, time.Now())
	if code, err := post(a.url, body); err != nil || code != http.StatusOK {
		t.Fatal(code, err)
	}
	if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error {
		if len(stamps(filepath.Join(dir, "a.log"))) == 0 {
			return fmt.Errorf("A's command has not started")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if code, err := post(b.url, body); err != nil || code != http.StatusOK {
		t.Fatal(code, err)
	}
	cut := time.Now()
	proxy.Blackhole()
	var bStart time.Time
	if err := zktest.WaitFor(60*time.Second, 20*time.Millisecond, func() error {
		s := stamps(filepath.Join(dir, "b.start"))
		if len(s) == 0 {
			return fmt.Errorf("B has not run the restart")
		}
		bStart = s[0]
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	pidData, err := os.ReadFile(filepath.Join(dir, "a.pid"))
	if err != nil {
		t.Fatal(err)
	}
	aPID, err := strconv.Atoi(strings.TrimSpace(string(pidData)))
	if err != nil {
		t.Fatal(err)
	}
	if st, err := procstat.Read(aPID); err == nil && st.Live() {
		t.Fatalf("two restarts at once: A's command (pid %d) still runs after B's started", aPID)
	}
	aStamps := stamps(filepath.Join(dir, "a.log"))
	last := aStamps[len(aStamps)-1]
	t.Logf("after the cut: A's command wrote its last line at %s, B's command started at %s",
		last.Sub(cut).Round(time.Millisecond), bStart.Sub(cut).Round(time.Millisecond))
	if !last.Before(bStart) {
		t.Fatalf("two restarts at once: A's command ran %s after B's started", last.Sub(bStart).Round(time.Millisecond))
	}
}
