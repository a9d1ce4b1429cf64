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

// Package supervise starts and supervises a child command (restart policy,
// backoff, signal forwarding, exit code), watches processes it did not
// start, and runs health checks. It knows nothing about ZooKeeper.
package supervise

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// Policy says when a child that exited is started again.
type Policy int

const (
	// Never restarts the child: the agent ends with it.
	Never Policy = iota
	// OnFailure restarts the child when it exits with a non-zero code or
	// is killed by a signal.
	OnFailure
	// Always restarts the child whatever its exit code.
	Always
)

// ParsePolicy parses never, on-failure or always.
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "never", "":
		return Never, nil
	case "on-failure":
		return OnFailure, nil
	case "always":
		return Always, nil
	}
	return Never, fmt.Errorf("unknown restart policy %q (want never, on-failure or always)", s)
}

func (p Policy) String() string {
	return [...]string{"never", "on-failure", "always"}[p]
}

func (p Policy) restart(code int) bool {
	return p == Always || (p == OnFailure && code != 0)
}

// Process is a started child. It runs in a process group of its own under
// a shim (see RunShimIfAsked) in a session of its own; stopping it signals
// the whole tree below the shim, and the tree dies with the supervisor, so
// that no command or anything it started outlives the agent that
// registered it (or holds its lock, or claimed its task).
type Process struct {
	Pid     int // the command's pid, also its process group ID
	Started time.Time
	shim    *exec.Cmd
	life    *os.File // closing it makes the shim kill the tree
	done    chan struct{}
	code    int
}

// Start starts args[0] with args[1:]; stdout and stderr may be nil.
func Start(args []string, env []string, stdout, stderr io.Writer) (*Process, error) {
	return start(args, env, stdout, stderr, 0)
}

// start is Start where leftovers of a command that exited get grace after
// SIGTERM before SIGKILL.
func start(args []string, env []string, stdout, stderr io.Writer, grace time.Duration) (*Process, error) {
	if len(args) == 0 || args[0] == "" {
		return nil, errors.New("no command given")
	}
	shim, life, pid, err := startShim(args, env, stdout, stderr, grace)
	if err != nil {
		return nil, err
	}
	p := &Process{Pid: pid, Started: time.Now(), shim: shim, life: life, done: make(chan struct{})}
	go func() {
		_ = waitCmd(shim)
		p.code = exitCode(shim.ProcessState)
		life.Close()
		close(p.done)
	}()
	return p, nil
}

// exitCode maps a death by signal N to 128+N, as shells do.
func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return 1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// Done is closed when the child and everything it started have exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitCode is valid once Done is closed.
func (p *Process) ExitCode() int { return p.code }

// Signal sends sig to the child: SIGTERM and SIGINT go to its whole tree,
// other signals to the command alone.
func (p *Process) Signal(sig os.Signal) error { return p.shim.Process.Signal(sig) }

// shimExitWait bounds the wait for the shim after it was told to kill the
// tree; then what is left of its session is killed from here.
const shimExitWait = 2 * time.Second

// Stop sends sig to the child's whole tree, and SIGKILL to it when it has
// not gone after grace. It returns once the tree is gone, with the exit
// code.
func (p *Process) Stop(sig os.Signal, grace time.Duration) int {
	if sig == syscall.SIGKILL {
		p.Kill() // the shim must live to kill the tree
		return p.code
	}
	_ = p.Signal(sig)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		p.Kill()
	}
	return p.code
}

// Kill kills the child's whole tree at once and waits until it is gone.
func (p *Process) Kill() {
	p.life.Close()
	t := time.NewTimer(shimExitWait)
	defer t.Stop()
	select {
	case <-p.done:
		return
	case <-t.C:
	}
	// The shim did not finish (it was killed itself): kill its session.
	for {
		members := sessionMembers(p.shim.Process.Pid)
		if len(members) == 0 {
			break
		}
		for _, pid := range members {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		select {
		case <-p.done:
			return
		case <-time.After(shimPoll):
		}
	}
	<-p.done
}

// Config configures a Supervisor.
type Config struct {
	Args           []string
	Env            []string
	Restart        Policy
	BackoffMin     time.Duration // first restart delay (default 1s)
	BackoffMax     time.Duration // cap of the doubling delay (default 30s); a child that ran this long resets it
	StopTimeout    time.Duration // SIGKILL after forwarding a stop signal (default 10s)
	Stdout, Stderr io.Writer
	Logger         log.Logger

	// Gate, when set, is called before every start and blocks until the
	// child may run (lock mode: until the lock is held). lost is closed
	// when that permission ends, which stops the child; release is called
	// after the child exited.
	Gate func(ctx context.Context) (lost <-chan struct{}, release func(), err error)
	// LostGrace, when set, bounds StopTimeout when permission is lost: it
	// returns the time left before the child must be gone (lock mode: before
	// the server may expire the session and hand the lock on).
	LostGrace func(stopTimeout time.Duration) time.Duration

	OnStart   func(p *Process) // the child runs
	OnExit    func(code int)   // the child exited
	OnRestart func()           // about to start the child again
}

// Supervisor runs a child under a restart policy.
type Supervisor struct {
	cfg  Config
	sigs chan os.Signal

	mu  sync.Mutex
	cur *Process // the running child, if any
}

// Stops reports whether sig ends supervision (SIGTERM, SIGINT) rather than
// being passed through to the child (SIGHUP, SIGUSR1, ...).
func Stops(sig os.Signal) bool { return sig == syscall.SIGTERM || sig == syscall.SIGINT }

// New checks cfg and fills in defaults.
func New(cfg Config) (*Supervisor, error) {
	if len(cfg.Args) == 0 {
		return nil, errors.New("no command given: put it after --")
	}
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = time.Second
	}
	if cfg.BackoffMax < cfg.BackoffMin {
		cfg.BackoffMax = max(30*time.Second, cfg.BackoffMin)
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = log.NewNopLogger()
	}
	return &Supervisor{cfg: cfg, sigs: make(chan os.Signal, 4)}, nil
}

// Signal forwards sig to the child. SIGTERM and SIGINT also end
// supervision: the child is not restarted after it exits. Safe to call from
// any goroutine.
func (s *Supervisor) Signal(sig os.Signal) {
	if !Stops(sig) {
		s.mu.Lock()
		p := s.cur
		s.mu.Unlock()
		if p != nil {
			level.Info(s.cfg.Logger).Log("msg", "passing signal to child", "signal", sig, "pid", p.Pid)
			_ = p.Signal(sig)
		}
		return
	}
	select {
	case s.sigs <- sig:
	default:
	}
}

// Run starts the child and restarts it per policy until it should not be
// restarted, a signal was forwarded, or ctx ended (which forwards SIGTERM).
// It returns the last exit code; an error means the command could not be
// started (code 127).
func (s *Supervisor) Run(ctx context.Context) (int, error) {
	backoff := s.cfg.BackoffMin
	for {
		lost, release, code, err := s.gate(ctx)
		if err != nil || release == nil {
			return code, err
		}
		p, err := start(s.cfg.Args, s.cfg.Env, s.cfg.Stdout, s.cfg.Stderr, s.cfg.StopTimeout)
		if err != nil {
			release()
			return 127, fmt.Errorf("start %s: %w", s.cfg.Args[0], err)
		}
		s.mu.Lock()
		s.cur = p
		s.mu.Unlock()
		level.Info(s.cfg.Logger).Log("msg", "child started", "pid", p.Pid, "cmd", s.cfg.Args[0])
		if s.cfg.OnStart != nil {
			s.cfg.OnStart(p)
		}
		stopping := false
		select {
		case <-p.Done():
		case sig := <-s.sigs:
			stopping = true
			level.Info(s.cfg.Logger).Log("msg", "forwarding signal to child", "signal", sig, "pid", p.Pid)
			p.Stop(sig, s.cfg.StopTimeout)
		case <-ctx.Done():
			stopping = true
			p.Stop(syscall.SIGTERM, s.cfg.StopTimeout)
		case <-lost:
			grace := s.cfg.StopTimeout
			if s.cfg.LostGrace != nil {
				grace = s.cfg.LostGrace(grace)
			}
			level.Warn(s.cfg.Logger).Log("msg", "permission to run lost, stopping child", "pid", p.Pid, "kill_after", grace)
			p.Stop(syscall.SIGTERM, grace)
		}
		release()
		s.mu.Lock()
		s.cur = nil
		s.mu.Unlock()
		code = p.ExitCode()
		level.Info(s.cfg.Logger).Log("msg", "child exited", "pid", p.Pid, "code", code)
		if s.cfg.OnExit != nil {
			s.cfg.OnExit(code)
		}
		if stopping || !s.cfg.Restart.restart(code) {
			return code, nil
		}
		if code == 0 && lostWhileRunning(lost) {
			code = 1 // stopped by us, not finished: a failure for the policy
		}
		if time.Since(p.Started) >= s.cfg.BackoffMax {
			backoff = s.cfg.BackoffMin
		}
		level.Info(s.cfg.Logger).Log("msg", "restarting child", "policy", s.cfg.Restart, "in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-s.sigs:
			t.Stop()
			return code, nil
		case <-ctx.Done():
			t.Stop()
			return code, nil
		}
		backoff = min(2*backoff, s.cfg.BackoffMax)
		if s.cfg.OnRestart != nil {
			s.cfg.OnRestart()
		}
	}
}

func lostWhileRunning(lost <-chan struct{}) bool {
	select {
	case <-lost:
		return true
	default:
		return false
	}
}

// gate waits for cfg.Gate, if any. A nil release with a nil error means a
// signal or ctx ended the wait: the returned code is the agent's.
func (s *Supervisor) gate(ctx context.Context) (<-chan struct{}, func(), int, error) {
	if s.cfg.Gate == nil {
		return nil, func() {}, 0, nil
	}
	type result struct {
		lost    <-chan struct{}
		release func()
		err     error
	}
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res := make(chan result, 1)
	go func() {
		lost, release, err := s.cfg.Gate(gctx)
		res <- result{lost, release, err}
	}()
	code, done := 0, ctx.Done()
	for {
		select {
		case r := <-res:
			if r.err != nil && gctx.Err() != nil {
				return nil, nil, code, nil
			}
			if r.err != nil {
				return nil, nil, 1, r.err
			}
			if gctx.Err() != nil {
				r.release()
				return nil, nil, code, nil
			}
			return r.lost, r.release, 0, nil
		case sig := <-s.sigs:
			level.Info(s.cfg.Logger).Log("msg", "stopping while waiting to run", "signal", sig)
			if n, ok := sig.(syscall.Signal); ok {
				code = 128 + int(n)
			}
			cancel()
		case <-done:
			done = nil
			cancel()
		}
	}
}
