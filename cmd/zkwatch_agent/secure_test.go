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
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/agent/supervise"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

// TestACLProtectsMember runs the agent with digest auth, a chroot and the
// world-read ACL: an unauthenticated client can read the member node but
// can neither delete nor overwrite it, nor forge a sibling member, while a
// client with the agent's credentials can.
func TestACLProtectsMember(t *testing.T) {
	ens := zktest.Start(t, 1)
	dir := t.TempDir()
	digest := filepath.Join(dir, "digest")
	if err := os.WriteFile(digest, []byte("# agent identity\nagent:s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, ens.Servers(), "--zookeeper.auth.digest-file="+digest, "--zookeeper.chroot=/app",
		"--zookeeper.acl=world-read", "--register=/monitor/svc", "--member=node1", "--", "sleep", "100")
	const member = "/app/monitor/svc/node1"
	anon := observer(t, ens.Servers())
	if err := zktest.WaitFor(waitLong, 10*time.Millisecond, func() error {
		_, st, err := anon.Get(member)
		if err == nil && st.EphemeralOwner == 0 {
			err = fmt.Errorf("%s is not ephemeral", member)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	acl, _, err := anon.GetACL(member)
	if err != nil {
		t.Fatal(err)
	}
	// The server shows the digest's hash only to its owner ("agent:x").
	if len(acl) != 2 || acl[0] != zk.WorldACL(zk.PermRead)[0] ||
		acl[1].Scheme != "digest" || !strings.HasPrefix(acl[1].ID, "agent:") || acl[1].Perms != zk.PermAll {
		t.Errorf("member ACL %v, want world:anyone read and digest agent all", acl)
	}
	if err := anon.Delete(member, -1); !errors.Is(err, zk.ErrNoAuth) {
		t.Errorf("unauthenticated delete: %v, want %v", err, zk.ErrNoAuth)
	}
	if _, err := anon.Set(member, []byte("forged"), -1); !errors.Is(err, zk.ErrNoAuth) {
		t.Errorf("unauthenticated overwrite: %v, want %v", err, zk.ErrNoAuth)
	}
	if _, err := anon.Create("/app/monitor/svc/forged", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); !errors.Is(err, zk.ErrNoAuth) {
		t.Errorf("unauthenticated forged member: %v, want %v", err, zk.ErrNoAuth)
	}
	// The same operations with the agent's identity succeed: the ACL, not
	// something else, refused them.
	owner := observer(t, ens.Servers())
	if err := owner.AddAuth("digest", []byte("agent:s3cret")); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Set(member, []byte(`{"ok":true}`), -1); err != nil {
		t.Errorf("authenticated overwrite: %v", err)
	}
	a.signal(syscall.SIGTERM)
	a.exitCode(t)
	if ok, _, err := anon.Exists(member); err != nil || ok {
		t.Errorf("member left after exit: %v %v", ok, err)
	}
}

// TestSecureFlagErrors: the auth, chroot and TLS flags fail cleanly, before
// any connection.
func TestSecureFlagErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("no-colon\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--zookeeper.acl=creator"}, "needs an authenticated identity"},
		{[]string{"--zookeeper.auth.digest-file=" + filepath.Join(dir, "missing")}, "--zookeeper.auth.digest-file"},
		{[]string{"--zookeeper.auth.digest-file=" + bad}, "user:password"},
		{[]string{"--zookeeper.chroot=app/"}, "chroot"},
		{[]string{"--zookeeper.tls.ca-file=" + filepath.Join(dir, "missing.pem")}, "CA file"},
	} {
		args := append([]string{"--zookeeper.servers=127.0.0.1:1"}, c.args...)
		cmd := exec.Command(agentBin, append(args, "--register=/m", "--member=x", "--", "true")...)
		out, _ := cmd.CombinedOutput()
		if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), c.want) {
			t.Errorf("%v: exit %v, want 2 and %q in\n%s", c.args, cmd.ProcessState, c.want, out)
		}
	}
}

// TestSubreaper: a command that daemonizes (its child's parent exits) keeps
// the grandchild under the agent's shim for that command (a child
// subreaper, itself the agent's child), which reaps it when it exits.
func TestSubreaper(t *testing.T) {
	ens := zktest.Start(t, 1)
	dir := t.TempDir()
	orphanFile := filepath.Join(dir, "orphan.pid")
	release := filepath.Join(dir, "release")
	// The inner shell starts the "daemon" and exits at once, orphaning it.
	// It lets go of the agent's output, as daemons do.
	daemon := fmt.Sprintf(`sh -c 'while [ ! -e %q ]; do sleep 0.02; done' >/dev/null 2>&1 & echo $! > %q`, release, orphanFile)
	a := startAgent(t, ens.Servers(), "--register=/monitor/reap", "--member=x", "--", "sh", "-c", `sh -c "$0"; exec sleep 100`, daemon)
	t.Cleanup(func() { _ = os.WriteFile(release, nil, 0o644) }) // ends the orphan whatever happens
	var orphan int
	if err := zktest.WaitFor(waitLong, 10*time.Millisecond, func() error {
		var err error
		orphan, err = supervise.ReadPIDFile(orphanFile)
		if err != nil {
			return err
		}
		ppid, state, err := parentOf(orphan)
		if err != nil {
			return err
		}
		if shimParent, _, err := parentOf(ppid); err != nil || shimParent != a.cmd.Process.Pid {
			return fmt.Errorf("orphan %d has parent %d (%c), want the shim, a child of the agent %d", orphan, ppid, state, a.cmd.Process.Pid)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Reaped: gone from /proc, not left as a zombie of the agent.
	if err := zktest.WaitFor(waitLong, 10*time.Millisecond, func() error {
		if _, state, err := parentOf(orphan); err == nil {
			return fmt.Errorf("orphan %d still there (state %c)", orphan, state)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	a.signal(syscall.SIGTERM)
	a.exitCode(t)
}

// parentOf reads a process's parent pid and state from /proc.
func parentOf(pid int) (int, byte, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ppid, err := strconv.Atoi(f[1])
	return ppid, f[0][0], err
}
