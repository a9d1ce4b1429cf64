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
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/procstat"
)

func sleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// TestProcStartTime: a process is named by pid and start time, so a pid
// that now belongs to a later process (here: the same pid with another
// start time, as after pid reuse) is not alive and is not waited for.
func TestProcStartTime(t *testing.T) {
	cmd := sleeper(t)
	p, err := Identify(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Alive() {
		t.Fatal("running process not alive")
	}
	if d := time.Since(p.Started()); d < -2*time.Second || d > 5*time.Second {
		t.Errorf("start time %s is %s away from now", p.Started(), d)
	}
	earlier := Proc{Pid: p.Pid, start: p.start - 1}
	if earlier.Alive() {
		t.Fatal("a process with the same pid but another start time taken as alive")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := earlier.Wait(ctx); err != nil {
		t.Fatalf("Wait on a reused pid did not return at once: %v", err)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if p.Alive() {
		t.Fatal("reaped process alive")
	}
	if _, err := Identify(cmd.Process.Pid); err == nil {
		t.Fatal("exited process identified")
	}
}

// TestPIDFileProcess: a pid file whose pid belongs to a process started
// after the file was written is stale.
func TestPIDFileProcess(t *testing.T) {
	cmd := sleeper(t)
	file := filepath.Join(t.TempDir(), "app.pid")
	if err := os.WriteFile(file, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := PIDFileProcess(file)
	if err != nil || p.Pid != cmd.Process.Pid {
		t.Fatalf("fresh pid file: %+v, %v", p, err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(file, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := PIDFileProcess(file); err == nil || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("pid file written before its process started: %v", err)
	}
	if err := os.WriteFile(file, []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := PIDFileProcess(file); err == nil {
		t.Fatal("pid 0 accepted")
	}
}

func TestReadStat(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "stat")
	// A command name with spaces and parentheses, as a process may choose.
	line := "4242 (a) b (c) S 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100"
	if err := os.WriteFile(f, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := procstat.ReadFile(f)
	if err != nil || st.State != 'S' || st.PPID != 17 || st.PGRP != 4242 || st.Start != 987654 {
		t.Fatalf("readStat = %+v, %v", st, err)
	}
	if err := os.WriteFile(f, []byte("4242 (x) S 1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := procstat.ReadFile(f); err == nil {
		t.Fatal("short stat accepted")
	}
}
