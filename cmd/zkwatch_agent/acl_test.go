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
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// TestDefaultACLRefusesWithoutIdentity: without credentials and without
// an explicit --zookeeper.acl the agent refuses to start and says how to
// fix it. Before, it created every node world:anyone cdrwa.
func TestDefaultACLRefusesWithoutIdentity(t *testing.T) {
	cmd := exec.Command(agentBin, "--zookeeper.servers=127.0.0.1:1", "--register=/m", "--member=x", "--", "true")
	out, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "digest credentials") || !strings.Contains(string(out), "mode open") {
		t.Errorf("exit %d, want 2 and how to fix it in\n%s", cmd.ProcessState.ExitCode(), out)
	}
}

// TestDefaultACLProtectsEveryNode: with only a digest file (the default
// ACL), an unauthenticated client can neither delete nor change any node
// of a register, a lock and a worker agent, nor forge a node beside them.
func TestDefaultACLProtectsEveryNode(t *testing.T) {
	ens := zktest.Start(t, 1)
	dir := t.TempDir()
	digest := filepath.Join(dir, "digest")
	if err := os.WriteFile(digest, []byte("agent:s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	id := "--zookeeper.auth.digest-file=" + digest
	startAgent(t, ens.Servers(), id, "--register=/monitor/web", "--member=m1", "--", "sleep", "100")
	startAgent(t, ens.Servers(), id, "lock", "--path=/locks/job", "--", "sleep", "100")
	startAgent(t, ens.Servers(), id, "worker", "--root=/jobs", "--member=w1", "--", "true", "{{.Task}}")
	owner := observer(t, ens.Servers())
	if err := owner.AddAuth("digest", []byte("agent:s3cret")); err != nil {
		t.Fatal(err)
	}
	var nodes []string
	if err := zktest.WaitFor(waitLong, 20*time.Millisecond, func() error {
		locks, _, err := owner.Children("/locks/job")
		if err != nil || len(locks) != 1 {
			return fmt.Errorf("lock contenders %v: %v", locks, err)
		}
		nodes = []string{"/monitor/web/m1", "/locks/job/" + locks[0], "/jobs/Workers/w1"}
		for _, n := range append(nodes, "/jobs/Tasks") {
			if _, _, err := owner.Get(n); err != nil {
				return fmt.Errorf("%s: %w", n, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	anon := observer(t, ens.Servers())
	nodes = append(nodes, "/monitor", "/monitor/web", "/locks", "/locks/job", "/jobs", "/jobs/Tasks", "/jobs/Workers")
	for _, n := range nodes {
		// ZooKeeper's root is open: a node right under it is protected
		// from deletion by its children, which only the agent may remove.
		if err := anon.Delete(n, -1); strings.Count(n, "/") > 1 || !errors.Is(err, zk.ErrNotEmpty) {
			checkNoAuth(t, n+" delete", err)
		}
		_, err := anon.Set(n, []byte("forged"), -1)
		checkNoAuth(t, n+" set", err)
		_, err = anon.SetACL(n, zk.WorldACL(zk.PermAll), -1)
		checkNoAuth(t, n+" setACL", err)
		_, err = anon.Create(n+"/forged", nil, 0, zk.WorldACL(zk.PermAll))
		checkNoAuth(t, n+"/forged create", err)
	}
}

func checkNoAuth(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, zk.ErrNoAuth) {
		t.Errorf("unauthenticated %s: %v, want %v", what, err, zk.ErrNoAuth)
	}
}

// TestOpenParentRefused: an existing parent that lets anyone change it is
// refused at start with its path named, since anyone could delete the
// agent's nodes under it (lock and election mode); --zookeeper.acl=open
// accepts it.
func TestOpenParentRefused(t *testing.T) {
	ens := zktest.Start(t, 1)
	anon := observer(t, ens.Servers())
	if _, err := anon.Create("/shared", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	digest := filepath.Join(dir, "digest")
	if err := os.WriteFile(digest, []byte("agent:s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"lock", "election"} {
		a := startAgent(t, ens.Servers(), "--zookeeper.auth.digest-file="+digest, mode, "--path=/shared/job", "--", "sleep", "100")
		if code := a.exitCode(t); code != 2 || !strings.Contains(a.log.String(), "/shared grants world:anyone") {
			t.Errorf("%s: exit %d, want 2 and /shared named in\n%s", mode, code, a.log.String())
		}
		if ok, _, _ := anon.Exists("/shared/job"); ok {
			t.Errorf("the %s agent created /shared/job under the open parent", mode)
		}
	}
	startAgent(t, ens.Servers(), "--zookeeper.acl=open", "lock", "--path=/shared/job", "--", "sleep", "100")
	if err := zktest.WaitFor(waitLong, 20*time.Millisecond, func() error {
		c, _, err := anon.Children("/shared/job")
		if err == nil && len(c) != 1 {
			err = fmt.Errorf("contenders %v", c)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestWorkerRefusesOpenTask: under the default ACL a worker does not
// claim a task node that anyone may change (its claim could be forged or
// undone); a task created with the agents' identity next to it runs.
func TestWorkerRefusesOpenTask(t *testing.T) {
	ens := zktest.Start(t, 1)
	owner := observer(t, ens.Servers())
	if err := owner.AddAuth("digest", []byte("agent:s3cret")); err != nil {
		t.Fatal(err)
	}
	creator := zk.AuthACL(zk.PermAll)
	for _, p := range []string{"/jobs", "/jobs/Tasks", "/jobs/Tasks/safe"} {
		if _, err := owner.Create(p, nil, 0, creator); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := owner.Create("/jobs/Tasks/open", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	digest := filepath.Join(dir, "digest")
	if err := os.WriteFile(digest, []byte("agent:s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, ens.Servers(), "--zookeeper.auth.digest-file="+digest, "worker", "--root=/jobs", "--member=w1", "--", "true", "{{.Task}}")
	if err := zktest.WaitFor(waitLong, 20*time.Millisecond, func() error {
		data, _, err := owner.Get("/jobs/Tasks/safe")
		if err == nil && parseTask(data).State != "done" {
			err = fmt.Errorf("safe is %q", data)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if data, _, err := owner.Get("/jobs/Tasks/open"); err != nil || len(data) != 0 {
		t.Errorf("open task: %q (%v), want it left unclaimed", data, err)
	}
	if !strings.Contains(a.log.String(), "its ACL lets unauthenticated clients change it") {
		t.Error("no log line about the refused task")
	}
}
