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
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/procstat"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

// partitioned is the session timeout of the agent a test cuts off: the
// longest the test servers grant (20 ticks of 200 ms), so that the quarter
// of it left between the agent's SIGKILL and the server's expiry holds on
// a busy machine.
const partitioned = "--zookeeper.session-timeout=4s"

// wrapperScript is a lock command in a shell wrapper, as in issue 21: the
// wrapper starts a worker (which ignores SIGTERM) and waits for it; the
// worker writes its pid to DIR/NAME.inner and a time stamp per line to
// DIR/NAME.log every 20 ms.
const wrapperScript = `sh -c 'trap "" TERM; echo $$ > "$0/$1.inner"; while :; do date +%s%N >> "$0/$1.log"; sleep 0.02; done' "$0" "$1"; echo finished`

// startScript records when B's command started, then idles.
const startScript = `date +%s%N > "$0/$1.start"; exec sleep 1000`

// waitPID waits for a pid file.
func waitPID(t *testing.T, file string) int {
	t.Helper()
	var pid int
	if err := zktest.WaitFor(waitLong, 10*time.Millisecond, func() (err error) {
		pid, err = readPID(file)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return pid
}

// running reports whether pid is a live process (not a zombie).
func running(pid int) bool {
	st, err := procstat.Read(pid)
	return err == nil && st.Live()
}

// stampsAfter counts the lines of a time-stamp log written after at.
func stampsAfter(t *testing.T, file string, at time.Time) int {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Fields(string(data)) {
		if ns, err := strconv.ParseInt(line, 10, 64); err == nil && time.Unix(0, ns).After(at) {
			n++
		}
	}
	return n
}

// readStamp waits for a file holding one `date +%s%N` time stamp.
func readStamp(t *testing.T, file string) time.Time {
	t.Helper()
	var at time.Time
	if err := zktest.WaitFor(60*time.Second, 10*time.Millisecond, func() error {
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		ns, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
		at = time.Unix(0, ns)
		return err
	}); err != nil {
		t.Fatal("never started: ", err)
	}
	return at
}

// lockPair starts agent A (through servers) holding the lock with the
// wrapper command, and agent B waiting for the same lock, and returns A
// and the pid of A's inner worker.
func lockPair(t *testing.T, ens *zktest.Ensemble, servers, dir string, stopTimeout time.Duration) (*agentProc, int) {
	t.Helper()
	a := startAgent(t, servers, partitioned, "lock", "--path=/locks/wrapped", "--stop-timeout="+stopTimeout.String(), "--", "sh", "-c", wrapperScript, dir, "a")
	inner := waitPID(t, filepath.Join(dir, "a.inner"))
	startAgent(t, ens.Servers(), "lock", "--path=/locks/wrapped", "--", "sh", "-c", startScript, dir, "b")
	obs := observer(t, ens.Servers())
	if err := zktest.WaitFor(waitLong, 10*time.Millisecond, func() error {
		c, _, err := obs.Children("/locks/wrapped")
		if err == nil && len(c) != 2 {
			err = fmt.Errorf("%d contenders", len(c))
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return a, inner
}

// checkStoppedBefore fails unless A's inner worker is gone and wrote
// nothing after B's command started.
func checkStoppedBefore(t *testing.T, dir string, inner int, bStarted, cut time.Time) {
	t.Helper()
	if running(inner) {
		t.Fatalf("A's inner worker %d still runs %s after B took the lock", inner, time.Since(bStarted).Round(time.Millisecond))
	}
	if n := stampsAfter(t, filepath.Join(dir, "a.log"), bStarted); n > 0 {
		t.Fatalf("split brain: A's inner worker wrote %d lines after B took the lock", n)
	}
	t.Logf("B's command started %s after the cut; A's worker wrote its last line before", bStarted.Sub(cut).Round(time.Millisecond))
}

// TestLockWrapperFencedUnderPartition is issue 21's first finding: agent
// A, partitioned from ZooKeeper by a black-holing proxy, must stop the
// worker inside its shell wrapper (which ignores SIGTERM) before B's
// command starts. Before, only the wrapper was signalled: the worker
// wrote lines after B took the lock and ran on under init.
func TestLockWrapperFencedUnderPartition(t *testing.T) {
	ens := zktest.Start(t, 1)
	proxy, err := zktest.NewProxy(ens.Addrs()...)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	dir := t.TempDir()
	_, inner := lockPair(t, ens, strings.Join(proxy.Addrs(), ","), dir, 30*time.Second)
	cut := time.Now()
	proxy.Blackhole()
	bStarted := readStamp(t, filepath.Join(dir, "b.start"))
	checkStoppedBefore(t, dir, inner, bStarted, cut)
}

// TestLockWrapperStopsWithAgent: SIGTERM and SIGKILL of agent A stop its
// wrapped worker (SIGKILL after --stop-timeout, as it ignores SIGTERM)
// before B's command starts; the worker never outlives A.
func TestLockWrapperStopsWithAgent(t *testing.T) {
	ens := zktest.Start(t, 1)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			a, inner := lockPair(t, ens, ens.Servers(), dir, time.Second)
			cut := time.Now()
			a.signal(sig)
			a.exitCode(t)
			if running(inner) {
				t.Fatalf("A's inner worker %d outlived agent A (%s)", inner, sig)
			}
			checkStoppedBefore(t, dir, inner, readStamp(t, filepath.Join(dir, "b.start")), cut)
		})
	}
}

// TestRegisterCommandTreeStopsWithAgent: after SIGTERM to the agent, a
// background process the command started (`sleep 300 &`) is gone by the
// time the agent has exited; before, it survived under init while the
// member node was gone, which invites a second copy.
func TestRegisterCommandTreeStopsWithAgent(t *testing.T) {
	ens := zktest.Start(t, 1)
	dir := t.TempDir()
	a := startAgent(t, ens.Servers(), "--register=/monitor/tree", "--member=m1", "--",
		"sh", "-c", `sleep 300 & echo $! > "$0/bg.pid"; wait`, dir)
	bg := waitPID(t, filepath.Join(dir, "bg.pid"))
	a.signal(syscall.SIGTERM)
	a.exitCode(t)
	if running(bg) {
		t.Fatalf("the command's background process %d outlived the agent", bg)
	}
}

// TestWorkerWrapperFencedUnderPartition: the same for worker mode. Worker
// A runs the task's wrapped command and is cut off; worker B takes the
// orphaned task over. A's inner worker must be gone, and silent, before
// B's command starts.
func TestWorkerWrapperFencedUnderPartition(t *testing.T) {
	ens := zktest.Start(t, 1)
	proxy, err := zktest.NewProxy(ens.Addrs()...)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	obs := observer(t, ens.Servers())
	for _, p := range []string{"/jobs", "/jobs/split", "/jobs/split/Tasks", "/jobs/split/Tasks/t1"} {
		if _, err := obs.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	worker := func(name, servers string) {
		startAgent(t, servers, partitioned, "worker", "--root=/jobs/split", "--member="+name, "--stop-timeout=30s", "--",
			"sh", "-c", wrapperScript, dir, "{{.Worker}}")
	}
	worker("a", strings.Join(proxy.Addrs(), ","))
	inner := waitPID(t, filepath.Join(dir, "a.inner"))
	worker("b", ens.Servers())
	if err := zktest.WaitFor(waitLong, 10*time.Millisecond, func() error {
		ws, _, err := obs.Children("/jobs/split/Workers")
		if err == nil && len(ws) != 2 {
			err = fmt.Errorf("workers %v", ws)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	proxy.Blackhole()
	var bStarted time.Time
	if err := zktest.WaitFor(60*time.Second, 10*time.Millisecond, func() error {
		data, err := os.ReadFile(filepath.Join(dir, "b.log"))
		if err != nil {
			return err
		}
		f := strings.Fields(string(data))
		if len(f) == 0 {
			return fmt.Errorf("B has not run the task")
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		bStarted = time.Unix(0, ns)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	checkStoppedBefore(t, dir, inner, bStarted, cut)
}
