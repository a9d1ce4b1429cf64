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

// Package restart runs restart commands safely: argv lists without a
// shell, label values vetted by allow regexes, a timeout that kills the
// whole process group, bounded output; and the ZooKeeper quorum guard.
package restart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/payload"
)

// ErrRefused wraps allow-check failures.
var ErrRefused = errors.New("refused")

// Argv checks the alert's labels against the rule's allow regexes and
// renders the command over the vetted values only. Each template renders
// to exactly one argument.
func Argv(rule *config.Restart, a *payload.Alert) ([]string, error) {
	if c := envCollisions(a.Labels); len(c) > 0 {
		return nil, fmt.Errorf("%w: labels %s share the variable ZKWATCH_LABEL_%s (names differing only in case or punctuation): "+
			"which value the command would see is not defined", ErrRefused, strings.Join(c, ", "), EnvName(c[0]))
	}
	d, err := rule.VettedData(a.Labels)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	argv := make([]string, len(rule.Command))
	argv[0] = rule.Command[0]
	for i := 1; i < len(argv); i++ {
		var b bytes.Buffer
		if err := rule.Argv()[i].Execute(&b, d); err != nil {
			return nil, fmt.Errorf("%w: command[%d]: %v", ErrRefused, i, err)
		}
		if strings.IndexByte(b.String(), 0) >= 0 {
			return nil, fmt.Errorf("%w: command[%d] contains a NUL byte", ErrRefused, i)
		}
		argv[i] = b.String()
	}
	return argv, nil
}

// envCollisions returns, sorted, the label names that map to the same
// ZKWATCH_LABEL_ variable as another label (member and MEMBER, a-b and
// a_b); nil when there are none.
func envCollisions(labels map[string]string) []string {
	byEnv := map[string][]string{}
	for k := range labels {
		byEnv[EnvName(k)] = append(byEnv[EnvName(k)], k)
	}
	var out []string
	for _, names := range byEnv {
		if len(names) > 1 {
			out = append(out, names...)
		}
	}
	slices.Sort(out)
	return out
}

// Env is the parent environment (without inherited ZKWATCH_ variables)
// plus the alert as ZKWATCH_* variables. Labels whose variable another
// label shares are left out (Argv refuses such alerts).
func Env(a *payload.Alert, incidentID string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ZKWATCH_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"ZKWATCH_ALERTNAME="+a.Labels["alertname"],
		"ZKWATCH_STATUS="+a.Status,
		"ZKWATCH_FINGERPRINT="+a.Fingerprint,
		"ZKWATCH_STARTS_AT="+a.StartsAt.UTC().Format(time.RFC3339Nano),
		"ZKWATCH_INCIDENT_ID="+incidentID,
	)
	shared := envCollisions(a.Labels)
	for k, v := range a.Labels {
		if !slices.Contains(shared, k) {
			env = append(env, "ZKWATCH_LABEL_"+EnvName(k)+"="+strings.ReplaceAll(v, "\x00", ""))
		}
	}
	return env
}

// EnvName upper-cases a label name and maps non-alphanumerics to '_'.
func EnvName(label string) string {
	b := []byte(strings.ToUpper(label))
	for i, c := range b {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// Result is the outcome of one command run.
type Result struct {
	ExitCode int
	Duration time.Duration
	Output   string
	TimedOut bool
	Err      error // nil only for exit code 0
}

// Run executes argv directly in its own session and process group, with
// SIGKILL for its leader if the receiver dies. On timeout, cancellation
// or exit, the whole session is killed (background children, those that
// left the process group too). Output keeps at most maxOutput
// bytes of combined stdout and stderr.
func Run(ctx context.Context, argv, env []string, dir string, timeout time.Duration, maxOutput int) Result {
	return RunWatched(ctx, argv, env, dir, timeout, maxOutput, nil)
}

// RunWatched is Run that calls started, when not nil, with the process
// group id as soon as the command has started, before waiting for it.
func RunWatched(ctx context.Context, argv, env []string, dir string, timeout time.Duration, maxOutput int, started func(pgid int)) Result {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// Pdeathsig fires when the thread that started the command exits.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { killSession(cmd.Process.Pid); return nil }
	// Children that keep the output pipe open must not hold us forever.
	cmd.WaitDelay = 2 * time.Second
	out := &boundedBuffer{max: maxOutput}
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	err := cmd.Start()
	if err == nil {
		if started != nil {
			started(cmd.Process.Pid)
		}
		err = cmd.Wait()
	}
	res := Result{Duration: time.Since(start), Output: out.String(), ExitCode: -1}
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
		// Leftover background children of a successful command go too.
		killSession(cmd.ProcessState.Pid())
	}
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		res.TimedOut = true
		res.Err = fmt.Errorf("timed out after %s; its session killed", timeout)
	case err != nil:
		res.Err = err
	}
	return res
}

type boundedBuffer struct {
	max     int
	b       bytes.Buffer
	dropped int
}

func (w *boundedBuffer) Write(p []byte) (int, error) {
	room := w.max - w.b.Len()
	if room > len(p) {
		room = len(p)
	}
	if room > 0 {
		w.b.Write(p[:room])
	}
	w.dropped += len(p) - max(room, 0)
	return len(p), nil
}

func (w *boundedBuffer) String() string {
	if w.dropped > 0 {
		return fmt.Sprintf("%s\n... (%d more bytes dropped)", w.b.String(), w.dropped)
	}
	return w.b.String()
}
