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
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/zktest"
	"github.com/zkwatch/zkwatch/receiver/payload"
)

// withOpenHA spells out --ha.zookeeper.acl=open for tests of other
// features that run replicas without credentials (the default refuses
// that); flags that choose an ACL or an identity are left alone.
func withOpenHA(flags []string) []string {
	ha := false
	for _, f := range flags {
		switch {
		case strings.HasPrefix(f, "--ha.zookeeper.acl"), strings.HasPrefix(f, "--ha.zookeeper.auth."), strings.HasPrefix(f, "--zookeeper.tls.cert-file"):
			return flags
		case strings.HasPrefix(f, "--ha.zookeeper.servers="):
			ha = true
		}
	}
	if !ha {
		return flags
	}
	return append(append([]string(nil), flags...), "--ha.zookeeper.acl=open")
}

// TestHADefaultACLProtectsClaims is issue 21's second finding on the real
// binary: with only a digest file (the default ACL), an unauthenticated
// ZooKeeper client can neither stop the replicas' restarts (setACL on the
// claims), nor forge an outcome, nor delete a lease or a claim, nor add a
// forged claim, while a restart runs. Before, every node was
// world:anyone cdrwa.
func TestHADefaultACLProtectsClaims(t *testing.T) {
	e := zktest.Start(t, 1)
	dir := t.TempDir()
	digest := filepath.Join(dir, "digest")
	writeFile(t, digest, "rcv:s3cret\n")
	runs := filepath.Join(dir, "runs")
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(t, cfg, fmt.Sprintf(`
restarts:
  - name: member
    match: {alertname: ZooKeeperProcessMemberDown}
    command: ["/bin/sh", "-c", "echo run >> %s; sleep 30"]
    timeout: 40s
`, runs))
	p := launchAt(t, freeAddr(t), cfg, filepath.Join(dir, "data"), "--ha.zookeeper.servers="+e.Servers(),
		"--ha.replica-name=r1", "--ha.zookeeper.session-timeout=4s", "--ha.zookeeper.auth.digest-file="+digest)
	labels := map[string]string{"alertname": "ZooKeeperProcessMemberDown", "member": "m1"}
	startsAt := time.Now()
	if code, err := post(p.url, alertBody(labels, startsAt)); err != nil || code != http.StatusOK {
		t.Fatal(code, err)
	}
	if err := zktest.WaitFor(30*time.Second, 50*time.Millisecond, func() error {
		_, err := os.Stat(runs)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	id := (&payload.Alert{Labels: labels, StartsAt: startsAt, Fingerprint: payload.Fingerprint(labels)}).IncidentID()
	claim := "/zkwatch/receiver/claims/" + id + "/" + url.PathEscape("restart/member") + "-1"
	anon, _, err := zk.Connect(e.Addrs(), 4*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	nodes := []string{"/zkwatch/receiver", "/zkwatch/receiver/claims", "/zkwatch/receiver/claims/" + id, claim, claim + "/lease"}
	for _, n := range nodes {
		_, err := anon.SetACL(n, zk.WorldACL(zk.PermAll), -1)
		wantNoAuth(t, n+" setACL", err)
		_, err = anon.Set(n, []byte(`{"owner":"mallory","outcome":"success"}`), -1)
		wantNoAuth(t, n+" set", err)
		wantNoAuth(t, n+" delete", anon.Delete(n, -1))
		_, err = anon.Create(n+"/forged-1", nil, 0, zk.WorldACL(zk.PermAll))
		wantNoAuth(t, n+"/forged-1 create", err)
	}
	if err := anon.Delete("/zkwatch", -1); !errors.Is(err, zk.ErrNotEmpty) && !errors.Is(err, zk.ErrNoAuth) {
		t.Errorf("unauthenticated delete of /zkwatch: %v", err)
	}
}

func wantNoAuth(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, zk.ErrNoAuth) {
		t.Errorf("unauthenticated %s: %v, want %v", what, err, zk.ErrNoAuth)
	}
}

// TestHARefusesOpenParentAndNoIdentity: a replica refuses to start
// without credentials (unless --ha.zookeeper.acl=open), and under an
// existing parent that anyone may change, naming it.
func TestHARefusesOpenParentAndNoIdentity(t *testing.T) {
	e := zktest.Start(t, 1)
	anon, _, err := zk.Connect(e.Addrs(), 4*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	if _, err := anon.Create("/zkwatch", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	digest := filepath.Join(dir, "digest")
	writeFile(t, digest, "rcv:s3cret\n")
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(t, cfg, "notifiers: []\n")
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{nil, "--ha.zookeeper.acl=auto: no ZooKeeper identity"},
		{[]string{"--ha.zookeeper.auth.digest-file=" + digest}, "/zkwatch grants world:anyone"},
	} {
		args := append([]string{"--config.file=" + cfg, "--storage.path=" + filepath.Join(dir, "data"),
			"--web.listen-address=" + freeAddr(t), "--ha.zookeeper.servers=" + e.Servers()}, c.flags...)
		cmd := exec.Command(binary(t), args...)
		out, _ := cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), c.want) {
			t.Errorf("%v: exit %d, want 1 and %q in\n%s", c.flags, cmd.ProcessState.ExitCode(), c.want, out)
		}
	}
	if ok, _, _ := anon.Exists("/zkwatch/receiver"); ok {
		t.Error("a refused replica created nodes under the open parent")
	}
}
