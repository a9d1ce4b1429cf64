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

package supervise

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

func waitDone(t *testing.T, p *Process) int {
	t.Helper()
	select {
	case <-p.Done():
		return p.ExitCode()
	case <-time.After(30 * time.Second):
		t.Fatal("child did not exit")
		return -1
	}
}

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   int
	}{
		{"exit 0", 0},
		{"exit 3", 3},
		{"kill -TERM $$", 128 + int(syscall.SIGTERM)},
	} {
		p, err := Start([]string{"sh", "-c", tc.script}, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := waitDone(t, p); got != tc.want {
			t.Errorf("%q: exit code %d, want %d", tc.script, got, tc.want)
		}
	}
	if _, err := Start([]string{"/nonexistent/command"}, nil, nil, nil); err == nil {
		t.Error("starting a missing command did not fail")
	}
	if _, err := Start(nil, nil, nil, nil); err == nil {
		t.Error("empty command accepted")
	}
}

func TestStopEscalatesToKill(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, err := Start([]string{"sh", "-c", `trap '' TERM; echo ready; while :; do sleep 0.05; done`}, nil, w, nil)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(r).ReadString('\n'); err != nil { // the trap is set
		t.Fatal(err)
	}
	if code := p.Stop(syscall.SIGTERM, 300*time.Millisecond); code != 128+int(syscall.SIGKILL) {
		t.Fatalf("exit code %d, want %d after SIGKILL", code, 128+int(syscall.SIGKILL))
	}
}

func TestParsePolicy(t *testing.T) {
	for in, want := range map[string]Policy{"never": Never, "on-failure": OnFailure, "always": Always} {
		if got, err := ParsePolicy(in); err != nil || got != want || got.String() != in {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	if _, err := ParsePolicy("sometimes"); err == nil {
		t.Error("bad policy accepted")
	}
}

func TestSupervisorSignalDuringBackoff(t *testing.T) {
	var mu sync.Mutex
	starts := 0
	var s *Supervisor
	s, err := New(Config{Args: []string{"sh", "-c", "exit 2"}, Restart: Always, BackoffMin: time.Hour, BackoffMax: time.Hour,
		OnStart: func(*Process) { mu.Lock(); starts++; mu.Unlock() },
		OnExit:  func(int) { s.Signal(syscall.SIGTERM) }})
	if err != nil {
		t.Fatal(err)
	}
	code, err := s.Run(context.Background())
	if err != nil || code != 2 || starts != 1 {
		t.Fatalf("code %d err %v starts %d; want 2, nil, 1", code, err, starts)
	}
}

func TestGate(t *testing.T) {
	// The permission is lost while the child runs: the child is stopped.
	lost := make(chan struct{})
	released := make(chan struct{})
	s, err := New(Config{Args: []string{"sleep", "100"}, StopTimeout: 5 * time.Second,
		Gate: func(context.Context) (<-chan struct{}, func(), error) {
			return lost, func() { close(released) }, nil
		},
		OnStart: func(*Process) { close(lost) }})
	if err != nil {
		t.Fatal(err)
	}
	code, err := s.Run(context.Background())
	if err != nil || code != 128+int(syscall.SIGTERM) {
		t.Fatalf("code %d err %v, want %d", code, err, 128+int(syscall.SIGTERM))
	}
	select {
	case <-released:
	default:
		t.Fatal("release not called")
	}

	// A signal while waiting at the gate ends the run without a start.
	s, err = New(Config{Args: []string{"true"},
		Gate: func(ctx context.Context) (<-chan struct{}, func(), error) {
			<-ctx.Done()
			return nil, nil, ctx.Err()
		},
		OnStart: func(*Process) { t.Error("child started without passing the gate") }})
	if err != nil {
		t.Fatal(err)
	}
	s.Signal(syscall.SIGINT)
	if code, err := s.Run(context.Background()); err != nil || code != 128+int(syscall.SIGINT) {
		t.Fatalf("code %d err %v, want %d", code, err, 128+int(syscall.SIGINT))
	}
}

func TestHealthTransitions(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	tcp, err := TCPCheck(l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	ok, err := ExecCheck("true")
	if err != nil {
		t.Fatal(err)
	}
	h := Health{Checks: []Check{tcp, ok}, Interval: 20 * time.Millisecond, Timeout: 10 * time.Second, Failures: 2}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reports := make(chan bool, 16)
	go h.Run(ctx, func(healthy bool, _ error) { reports <- healthy })
	next := func() bool {
		select {
		case r := <-reports:
			return r
		case <-time.After(30 * time.Second):
			t.Fatal("no health report")
			return false
		}
	}
	if !next() {
		t.Fatal("first report unhealthy with a listening port")
	}
	l.Close()
	if next() {
		t.Fatal("second report healthy after the port closed")
	}

	if _, err := ExecCheck("   "); err == nil {
		t.Error("empty exec check accepted")
	}
	if _, err := TCPCheck("nohostport"); err == nil {
		t.Error("bad TCP address accepted")
	}
	if _, err := HTTPCheck("ftp://x"); err == nil {
		t.Error("non-HTTP URL accepted")
	}
	fail, _ := ExecCheck("false")
	if err := fail.Fn(context.Background()); err == nil {
		t.Error("exec check of false passed")
	}
}

func TestWatchPID(t *testing.T) {
	cmd := exec.Command("sleep", "100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if !Alive(pid) {
		t.Fatal("running process not alive")
	}
	done := make(chan error, 1)
	go func() { done <- WaitExit(context.Background(), pid) }()
	cmd.Process.Kill()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("WaitExit did not notice the exit")
	}
	// Not yet reaped: a zombie is not alive.
	if Alive(pid) {
		t.Error("zombie reported alive")
	}
	_ = cmd.Wait()
	if Alive(pid) {
		t.Error("reaped process reported alive")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := WaitExit(ctx, os.Getpid()); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitExit on ourselves with a cancelled context: %v", err)
	}

	dir := t.TempDir()
	for content, ok := range map[string]bool{"123\n": true, "abc": false, "-4": false, "": false} {
		f := filepath.Join(dir, "pid")
		os.WriteFile(f, []byte(content), 0o644)
		if _, err := ReadPIDFile(f); (err == nil) != ok {
			t.Errorf("pid file %q: err %v", content, err)
		}
	}
	if _, err := ReadPIDFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing pid file accepted")
	}
}

func TestBackoffDoubles(t *testing.T) {
	const minB, maxB = 50 * time.Millisecond, 400 * time.Millisecond
	var starts, exits []time.Time
	var s *Supervisor
	s, err := New(Config{Args: []string{"sh", "-c", "exit 1"}, Restart: OnFailure,
		BackoffMin: minB, BackoffMax: maxB,
		OnStart: func(p *Process) {
			starts = append(starts, p.Started)
			if len(starts) == 5 {
				s.Signal(syscall.SIGTERM)
			}
		},
		OnExit: func(int) { exits = append(exits, time.Now()) }})
	if err != nil {
		t.Fatal(err)
	}
	// The fifth child exits 1 or dies of the forwarded SIGTERM first.
	if code, err := s.Run(context.Background()); err != nil || (code != 1 && code != 128+int(syscall.SIGTERM)) || len(starts) != 5 {
		t.Fatalf("code %d err %v starts %d", code, err, len(starts))
	}
	// Each restart waits the doubling delay after the exit (50, 100, 200,
	// 400 ms), back to the minimum after a child that ran BackoffMax or
	// longer (a loaded machine can make even `exit 1` take that long).
	backoff := minB
	for i := 0; i+1 < len(starts); i++ {
		if exits[i].Sub(starts[i]) >= maxB {
			backoff = minB
		}
		if gap := starts[i+1].Sub(exits[i]); gap < backoff {
			t.Errorf("restart %d %s after the exit, want >= %s", i+1, gap, backoff)
		}
		backoff = min(2*backoff, maxB)
	}
}
