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
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/procstat"
)

// treeScript starts, below a shell wrapper, a worker that ignores SIGTERM
// in the command's process group, one that left the group (perl's
// setpgrp) and one that left the session (setsid), and writes their pids
// to DIR/inner, DIR/group and DIR/session.
const treeScript = `dir=$0
sh -c 'trap "" TERM; echo $$ > "$0/inner"; while :; do sleep 0.05; done' "$dir" &
perl -e 'setpgrp(0, 0); open(my $f, ">", "$ARGV[0]/group"); print $f "$$\n"; close $f; exec "sleep", "300"' "$dir" &
setsid sh -c 'echo $$ > "$0/session"; exec sleep 300' "$dir" &
wait; echo finished`

// treePids waits for the three pid files of treeScript.
func treePids(t *testing.T, dir string) []int {
	t.Helper()
	var pids []int
	deadline := time.Now().Add(30 * time.Second)
	for _, f := range []string{"inner", "group", "session"} {
		for {
			pid, err := ReadPIDFile(filepath.Join(dir, f))
			if err == nil {
				pids = append(pids, pid)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never started: %v", f, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return pids
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	st, err := procstat.Read(pid)
	return err == nil && st.Live()
}

func assertGone(t *testing.T, pids []int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("process %d (of %v) still runs", pid, pids)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// TestStopStopsWholeTree: Stop returns only once every process the command
// started is gone, including one that ignores SIGTERM behind a shell
// wrapper that does not, and those that left the process group or the
// session. Before the shim, the wrapper died of SIGTERM at once and the
// rest ran on under init.
func TestStopStopsWholeTree(t *testing.T) {
	dir := t.TempDir()
	p, err := Start([]string{"sh", "-c", treeScript, dir}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pids := treePids(t, dir)
	begin := time.Now()
	p.Stop(syscall.SIGTERM, 300*time.Millisecond)
	took := time.Since(begin)
	for _, pid := range pids {
		if alive(pid) {
			out, _ := exec.Command("ps", "-eo", "pid,ppid,pgid,sid,stat,cmd").Output()
			t.Logf("%s", out)
			t.Errorf("process %d still runs after Stop returned", pid)
		}
	}
	if took < 300*time.Millisecond {
		t.Errorf("Stop returned after %s, before the grace ended, although a process ignored SIGTERM", took)
	}
}

// TestLeftoversOfExitedCommandStopped: when the command exits on its own,
// what it left running is stopped before Done closes.
func TestLeftoversOfExitedCommandStopped(t *testing.T) {
	dir := t.TempDir()
	script := `sh -c 'echo $$ > "$0/inner"; exec sleep 300' "$0" & setsid sh -c 'echo $$ > "$0/session"; exec sleep 300' "$0" &
while [ ! -s "$0/inner" ] || [ ! -s "$0/session" ]; do sleep 0.01; done; exit 3`
	p, err := Start([]string{"sh", "-c", script, dir}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if code := waitDone(t, p); code != 3 {
		t.Errorf("exit code %d, want the command's 3", code)
	}
	for _, f := range []string{"inner", "session"} {
		pid, err := ReadPIDFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if alive(pid) {
			t.Errorf("%s process %d outlived the command", f, pid)
		}
	}
}

// supervisorEnv makes the test binary a supervisor that starts treeScript
// and then waits to be killed (see TestSupervisorDeathKillsTree).
const supervisorEnv = "ZKWATCH_TEST_SUPERVISOR_DIR"

func init() {
	if dir := os.Getenv(supervisorEnv); dir != "" && (len(os.Args) < 2 || os.Args[1] != shimFlag) {
		if _, err := Start([]string{"sh", "-c", treeScript, dir}, nil, nil, nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		select {}
	}
}

// TestSupervisorDeathKillsTree: a supervisor killed by SIGKILL, which runs
// no code on its way out, still takes the whole tree of its command with
// it.
func TestSupervisorDeathKillsTree(t *testing.T) {
	dir := t.TempDir()
	sup := exec.Command(os.Args[0], "-test.run=^$")
	sup.Env = append(os.Environ(), supervisorEnv+"="+dir)
	sup.Stderr = os.Stderr
	if err := sup.Start(); err != nil {
		t.Fatal(err)
	}
	pids := treePids(t, dir)
	if err := sup.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = sup.Wait()
	assertGone(t, pids, 10*time.Second)
}
