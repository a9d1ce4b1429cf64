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
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// TestStalePIDFileNotRegistered: a pid file written before its pid's
// process started names a process that has exited; the pid now belongs to
// another one, which must not be registered. Once the file names a live
// process again (written after it started), that one is.
func TestStalePIDFileNotRegistered(t *testing.T) {
	ens := zktest.Start(t, 1)
	obs := observer(t, ens.Servers())
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "app.pid")
	sleep := func() *exec.Cmd {
		cmd := exec.Command("sleep", "100")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	// The stand-in for a reused pid: a process younger than the file.
	reused := sleep()
	if err := os.WriteFile(pidFile, []byte(fmt.Sprintln(reused.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(pidFile, old, old); err != nil {
		t.Fatal(err)
	}
	stale := make(chan struct{})
	var once sync.Once
	logger := log.LoggerFunc(func(kv ...interface{}) error {
		if strings.Contains(fmt.Sprint(kv...), "is stale") {
			once.Do(func() { close(stale) })
		}
		return nil
	})
	s := dial(t, ens.Servers(), NewMetrics(nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	const path = "/monitor/app/stale"
	go func() {
		defer close(done)
		_, _ = RunRegister(ctx, s, RegisterConfig{Servers: ens.Servers(), Path: path, PIDFile: pidFile}, NewMetrics(nil), logger)
	}()
	defer func() { cancel(); <-done }()
	select {
	case <-stale:
	case <-time.After(waitLong):
		t.Fatal("the stale pid file was not recognised")
	}
	if err := absent(obs, path); err != nil {
		t.Fatalf("registered the process of a stale pid file: %v", err)
	}
	fresh := sleep()
	if err := os.WriteFile(pidFile, []byte(fmt.Sprintln(fresh.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := zktest.WaitFor(waitLong, 10*time.Millisecond, func() error {
		data, _, err := obs.Get(path)
		if err != nil {
			return err
		}
		var md MemberData
		if err := json.Unmarshal(data, &md); err != nil {
			return err
		}
		if md.PID != fresh.Process.Pid {
			return fmt.Errorf("pid %d registered, want %d", md.PID, fresh.Process.Pid)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
