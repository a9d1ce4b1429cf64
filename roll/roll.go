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

// Package roll restarts the members of a ZooKeeper ensemble one at a time
// with an operator-given command: followers and observers first, the
// leader last, each step only once the quorum guard proves the others keep
// a quorum, the next only once the member serves again and is caught up.
package roll

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/zkwatch/zkwatch/internal/fourlw"
	"github.com/zkwatch/zkwatch/internal/quorum"
	"github.com/zkwatch/zkwatch/receiver/restart"
)

// Outcomes of a step.
const (
	OutcomePlanned   = "planned"
	OutcomeOK        = "ok"
	OutcomeRefused   = "refused"        // the guard or the command template refused it
	OutcomeCmdFailed = "command_failed" // the command failed or timed out
	OutcomeNotBack   = "not_back"       // the member did not serve again in time
)

// Step is the record of one member's restart (or, with DryRun, its plan).
type Step struct {
	Step     int           `json:"step"`
	Member   string        `json:"member"`
	ID       int           `json:"id"`
	Role     string        `json:"role"`
	Action   string        `json:"action"` // restart, or plan with DryRun
	Command  []string      `json:"command"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"-"`
	Outcome  string        `json:"outcome"`
	ZxidLag  int64         `json:"zxid_lag"` // -1 when it could not be told
	Reason   string        `json:"reason,omitempty"`
}

// Options configure a rolling restart.
type Options struct {
	Addrs          []string // every member's client address
	Client         *fourlw.Client
	TLS            *tls.Config // for ruok, as Client's
	Command        *Template
	MemberDeadline time.Duration // how long a member may take to serve again
	CommandTimeout time.Duration
	Poll           time.Duration // how often to ask while waiting, default 100ms
	ProbeTimeout   time.Duration // bound of one observation, default 2s
	DryRun         bool
	Record         func(Step) // called with each step as it ends
	Logger         log.Logger
}

// StopError says at which member a rolling restart stopped and why.
type StopError struct {
	Step    Step
	Pending []string // members not restarted
}

func (e *StopError) Error() string {
	s := e.Step
	msg := fmt.Sprintf("stopped at step %d, member %s (id %d, %s): %s: %s", s.Step, s.Member, s.ID, s.Role, s.Outcome, s.Reason)
	if len(e.Pending) > 0 {
		msg += "; not restarted: " + strings.Join(e.Pending, ", ")
	}
	return msg
}

// ErrDegraded wraps the refusal to start on a degraded ensemble.
var ErrDegraded = errors.New("refusing to start: the ensemble is degraded")

// Run restarts every member once, or with DryRun records the plan. It
// returns nil when every member serves again, else ErrDegraded or a
// *StopError.
func Run(ctx context.Context, o Options) error {
	if o.Poll <= 0 {
		o.Poll = 100 * time.Millisecond
	}
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = 2 * time.Second
	}
	v := o.observe(ctx)
	if err := v.Degraded(); err != nil {
		return fmt.Errorf("%w: %v", ErrDegraded, err)
	}
	if o.DryRun {
		return o.plan(v)
	}
	done := map[string]bool{}
	for n := 1; ; n++ {
		if n > 1 {
			var err error
			if v, err = o.settle(ctx, n); err != nil {
				return err
			}
		}
		i := Next(v, done)
		if i < 0 {
			return nil
		}
		done[v.Members[i].Addr] = true
		st := o.step(ctx, n, v, i)
		o.Record(st)
		if st.Outcome != OutcomeOK {
			return &StopError{Step: st, Pending: pending(o.Addrs, done)}
		}
	}
}

func (o *Options) observe(ctx context.Context) View {
	ctx, cancel := context.WithTimeout(ctx, o.ProbeTimeout)
	defer cancel()
	return Observe(ctx, o.Client, o.TLS, o.Addrs)
}

func (o *Options) plan(v View) error {
	for n, i := range Plan(v) {
		st := o.newStep(n+1, v, i)
		st.Action, st.Outcome, st.ZxidLag = "plan", OutcomePlanned, 0
		argv, err := o.argv(v, i)
		if err != nil {
			st.Outcome, st.Reason = OutcomeRefused, err.Error()
			o.Record(st)
			return &StopError{Step: st}
		}
		st.Command = argv
		o.Record(st)
	}
	return nil
}

func (o *Options) newStep(n int, v View, i int) Step {
	m := v.Members[i]
	return Step{Step: n, Member: m.Addr, ID: m.ID, Role: v.Role(i), Action: "restart", Started: time.Now(), ZxidLag: -1}
}

func (o *Options) argv(v View, i int) ([]string, error) {
	m, err := NewMember(v.Members[i].Addr, v.Members[i].ID)
	if err != nil {
		return nil, err
	}
	return o.Command.Render(m)
}

// settle waits, before step n, until the ensemble is whole again: a leader
// change or a member restarted by someone else is waited out, within the
// member deadline.
func (o *Options) settle(ctx context.Context, n int) (View, error) {
	deadline := time.Now().Add(o.MemberDeadline)
	for {
		v := o.observe(ctx)
		err := v.Degraded()
		if err == nil {
			return v, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return v, fmt.Errorf("stopped before step %d: the ensemble did not become whole within %s: %v", n, o.MemberDeadline, err)
		}
		if !sleep(ctx, o.Poll) {
			return v, ctx.Err()
		}
	}
}

// step restarts member i of v: guard, command, wait until it serves.
func (o *Options) step(ctx context.Context, n int, v View, i int) Step {
	st := o.newStep(n, v, i)
	fail := func(outcome string, err error) Step {
		st.Outcome, st.Reason, st.Duration = outcome, err.Error(), time.Since(st.Started)
		return st
	}
	if err := quorum.Check(v.Voters(), st.Member, true, v.Answers(i)); err != nil {
		return fail(OutcomeRefused, fmt.Errorf("quorum guard: %v", err))
	}
	argv, err := o.argv(v, i)
	if err != nil {
		return fail(OutcomeRefused, err)
	}
	st.Command = argv
	level.Info(o.Logger).Log("msg", "Restarting member", "step", n, "member", st.Member, "id", st.ID, "role", st.Role)
	res := restart.Run(ctx, argv, os.Environ(), "", o.CommandTimeout, 4096)
	if res.Err != nil {
		return fail(OutcomeCmdFailed, commandError(argv, res))
	}
	lag, err := o.waitServing(ctx, st.Member)
	st.ZxidLag = lag
	if err != nil {
		return fail(OutcomeNotBack, fmt.Errorf("did not serve again within %s after its command: %v", o.MemberDeadline, err))
	}
	st.Outcome, st.Duration = OutcomeOK, time.Since(st.Started)
	return st
}

// waitServing polls until the member at addr serves and is caught up; it
// returns the last zxid lag seen (-1 when none could be told).
func (o *Options) waitServing(ctx context.Context, addr string) (int64, error) {
	deadline := time.Now().Add(o.MemberDeadline)
	lag := int64(-1)
	for {
		v := o.observe(ctx)
		i := index(o.Addrs, addr)
		if l, ok := v.Lag(i); ok {
			lag = int64(l)
		}
		err := v.Serves(i)
		if err == nil {
			return lag, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return lag, err
		}
		if !sleep(ctx, o.Poll) {
			return lag, ctx.Err()
		}
	}
}

// commandError says how the command failed, with what it printed.
func commandError(argv []string, res restart.Result) error {
	msg := fmt.Sprintf("command %q: %v", argv, res.Err)
	if !res.TimedOut && res.ExitCode >= 0 {
		msg = fmt.Sprintf("command %q exited %d", argv, res.ExitCode)
	}
	if out := strings.TrimSpace(res.Output); out != "" {
		msg += ": " + out
	}
	return errors.New(msg)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func index(addrs []string, addr string) int {
	for i, a := range addrs {
		if a == addr {
			return i
		}
	}
	return -1
}

func pending(addrs []string, done map[string]bool) []string {
	var out []string
	for _, a := range addrs {
		if !done[a] {
			out = append(out, a)
		}
	}
	return out
}
