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
	"testing"
	"time"

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
	var bStarted time.Time
	if err := zktest.WaitFor(60*time.Second, 10*time.Millisecond, func() error {
		data, err := os.ReadFile(startB)
		if err != nil {
			return err
		}
		ns, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
		if err != nil {
			return err
		}
		bStarted = time.Unix(0, ns)
		return nil
	}); err != nil {
		t.Fatal("B never took the lock: ", err)
	}
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
