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

package restart

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// waitPIDFile waits for a file holding a pid.
func waitPIDFile(t *testing.T, file string) int {
	t.Helper()
	var pid int
	if err := zktest.WaitFor(30*time.Second, 10*time.Millisecond, func() error {
		b, err := os.ReadFile(file)
		if err == nil {
			pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return pid
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	if err := zktest.WaitFor(10*time.Second, 10*time.Millisecond, func() error {
		if alive(pid) {
			return fmt.Errorf("process %d still alive", pid)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestRunKillsChildThatLeftGroup: a background child that moved to a
// process group of its own (perl's setpgrp) is killed when the command exits,
// as the rest of its session. Before, only the group was killed.
func TestRunKillsChildThatLeftGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	res := Run(context.Background(), []string{"/bin/sh", "-c", `perl -e 'setpgrp(0, 0); open(my $f, ">", $ARGV[0]); print $f "$$\n"; close $f; exec "sleep", "300"' "$0" >/dev/null 2>&1 &
while [ ! -s "$0" ]; do sleep 0.01; done`, pidFile}, nil, dir, 10*time.Second, 4096)
	if res.Err != nil {
		t.Fatalf("result %+v", res)
	}
	waitGone(t, waitPIDFile(t, pidFile))
}

// runnerEnv makes the test binary a receiver stand-in that runs a restart
// command and waits to be killed (see TestRunDiesWithReceiver).
const runnerEnv = "ZKWATCH_TEST_RESTART_RUNNER"

func init() {
	if file := os.Getenv(runnerEnv); file != "" {
		Run(context.Background(), []string{"/bin/sh", "-c", `echo $$ > "$0"; exec sleep 300`, file}, nil, "", time.Hour, 4096)
		os.Exit(0)
	}
}

// TestRunDiesWithReceiver: a restart command does not outlive a receiver
// killed by SIGKILL (Pdeathsig).
func TestRunDiesWithReceiver(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	rcv := exec.Command(os.Args[0], "-test.run=^$")
	rcv.Env = append(os.Environ(), runnerEnv+"="+pidFile)
	if err := rcv.Start(); err != nil {
		t.Fatal(err)
	}
	pid := waitPIDFile(t, pidFile)
	if err := rcv.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = rcv.Wait()
	waitGone(t, pid)
}
