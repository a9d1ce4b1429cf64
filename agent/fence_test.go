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

package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/agent/supervise"
	"github.com/zkwatch/zkwatch/internal/zksession"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

// startLock runs lock mode on s in the background until the test ends.
func startLock(t *testing.T, s *Session, path string, sc supervise.Config) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = RunLock(ctx, s, LockConfig{Path: path, Supervise: sc}, NewMetrics(nil), testLogger(t))
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// TestLockFencesOnNegotiatedTimeout is the split-brain regression: agent A
// asks for a 60 s session on a server that caps sessions at 4 s
// (tickTime=200), holds the lock, and is cut off by a black-holing proxy
// while agent B waits for the same lock. A's command ignores SIGTERM, so
// only the SIGKILL that follows it can end it. A's command must be gone
// before B's command starts, i.e. before the server expired A's session.
func TestLockFencesOnNegotiatedTimeout(t *testing.T) {
	ens := zktest.Start(t, 1)
	proxy, err := zktest.NewProxy(ens.Addrs()...)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	dir := t.TempDir()
	pidA, startB := filepath.Join(dir, "a.pid"), filepath.Join(dir, "b.start")

	a := dialTimeout(t, strings.Join(proxy.Addrs(), ","), 60*time.Second)
	startLock(t, a, "/locks/split", supervise.Config{
		Args:        []string{"sh", "-c", `trap '' TERM; echo $$ > "$0"; while :; do sleep 0.05; done`, pidA},
		StopTimeout: 30 * time.Second})
	var pid int
	if err := zktest.WaitFor(waitLong, 10*time.Millisecond, func() error {
		pid, err = supervise.ReadPIDFile(pidA)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	exitedA := make(chan time.Time, 1)
	go func() { _ = supervise.WaitExit(context.Background(), pid); exitedA <- time.Now() }()

	b := dialTimeout(t, ens.Servers(), testTimeout)
	startLock(t, b, "/locks/split", supervise.Config{
		Args: []string{"sh", "-c", `date +%s%N > "$0"; exec sleep 1000`, startB}, StopTimeout: 5 * time.Second})
	obs := observer(t, ens.Servers())
	if err := zktest.WaitFor(waitLong, 10*time.Millisecond, func() error {
		c, _, err := obs.Children("/locks/split")
		if err == nil && len(c) != 2 {
			err = fmt.Errorf("%d contenders", len(c))
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}

	cut := time.Now()
	proxy.Blackhole()
	bStarted := readStartFile(t, startB)
	var aExited time.Time
	select {
	case aExited = <-exitedA:
	case <-time.After(60 * time.Second):
		t.Fatalf("A's command still runs %s after B took the lock", time.Since(bStarted).Round(time.Millisecond))
	}
	t.Logf("after the cut: A's command stopped at %s, B's command started at %s",
		aExited.Sub(cut).Round(time.Millisecond), bStarted.Sub(cut).Round(time.Millisecond))
	if !aExited.Before(bStarted) {
		t.Fatalf("split brain: A's command ran until %s after B's started", aExited.Sub(bStarted).Round(time.Millisecond))
	}
}

// dialTimeout opens a session asking for timeout and closes it at the end.
func dialTimeout(t *testing.T, servers string, timeout time.Duration) *Session {
	t.Helper()
	s, err := Dial(SessionOptions{Options: zksession.Options{Servers: Servers(servers), SessionTimeout: timeout, Logger: testLogger(t)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestWorkerFencesOnNegotiatedTimeout is the split-brain regression of
// worker mode: worker A (60 s asked, 4 s granted, behind the proxy) runs
// the task when its link is black-holed; worker B takes the orphaned task
// over. A's command, which ignores SIGTERM, must be gone before B's starts.
func TestWorkerFencesOnNegotiatedTimeout(t *testing.T) {
	ens := zktest.Start(t, 1)
	proxy, err := zktest.NewProxy(ens.Addrs()...)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	obs := observer(t, ens.Servers())
	const root = "/jobs/split"
	if err := createParents(obs, root+"/Tasks/t1", zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if _, err := obs.Create(root+"/Tasks/t1", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := `trap '' TERM; echo $$ > "$0/$1.pid"; date +%s%N > "$0/$1.start"; while :; do sleep 0.05; done`
	startWorker := func(name, servers string, timeout, stop time.Duration) {
		sigs := make(chan os.Signal, 1)
		done := make(chan struct{})
		s := dialTimeout(t, servers, timeout)
		w, err := NewWorker(s, WorkerConfig{Servers: servers, Root: root, Member: name, Signals: sigs, StopTimeout: stop,
			Args: []string{"sh", "-c", script, dir, "{{.Worker}}"}}, NewMetrics(nil), testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		go func() { defer close(done); _, _ = w.Run(context.Background()) }()
		t.Cleanup(func() { sigs <- syscall.SIGTERM; <-done })
	}
	startWorker("a", strings.Join(proxy.Addrs(), ","), 60*time.Second, 30*time.Second)
	var pid int
	if err := zktest.WaitFor(waitLong, 10*time.Millisecond, func() error {
		pid, err = supervise.ReadPIDFile(filepath.Join(dir, "a.pid"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	exitedA := make(chan time.Time, 1)
	go func() { _ = supervise.WaitExit(context.Background(), pid); exitedA <- time.Now() }()
	startWorker("b", ens.Servers(), testTimeout, 2*time.Second)
	if err := zktest.WaitFor(waitLong, 10*time.Millisecond, func() error {
		ws, _, err := obs.Children(root + "/Workers")
		if err == nil && len(ws) != 2 {
			err = fmt.Errorf("workers %v", ws)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	proxy.Blackhole()
	bStarted := readStartFile(t, filepath.Join(dir, "b.start"))
	var aExited time.Time
	select {
	case aExited = <-exitedA:
	case <-time.After(60 * time.Second):
		t.Fatalf("A's task still runs %s after B started it", time.Since(bStarted).Round(time.Millisecond))
	}
	t.Logf("after the cut: A's task stopped at %s, B's started at %s",
		aExited.Sub(cut).Round(time.Millisecond), bStarted.Sub(cut).Round(time.Millisecond))
	if !aExited.Before(bStarted) {
		t.Fatalf("split brain: A's task ran until %s after B's started", aExited.Sub(bStarted).Round(time.Millisecond))
	}
}

// readStartFile waits for a file holding `date +%s%N` and returns the time.
func readStartFile(t *testing.T, file string) time.Time {
	t.Helper()
	var at time.Time
	if err := zktest.WaitFor(60*time.Second, 10*time.Millisecond, func() error {
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		ns, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
		if err != nil {
			return err
		}
		at = time.Unix(0, ns)
		return nil
	}); err != nil {
		t.Fatal("never started: ", err)
	}
	return at
}
