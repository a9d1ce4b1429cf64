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
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"golang.org/x/sys/unix"

	"github.com/zkwatch/zkwatch/internal/procstat"
)

// Children the agent started itself are waited for by os/exec; the reaper
// must leave their exit status alone. startMu is held for reading while a
// child is started and registered, and for writing while the reaper scans,
// so a child never exits unregistered under the reaper's eyes.
var (
	startMu sync.RWMutex
	ownMu   sync.Mutex
	own     = map[int]bool{}
)

// startCmd starts cmd and keeps its pid away from the reaper.
func startCmd(cmd *exec.Cmd) error {
	startMu.RLock()
	defer startMu.RUnlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	ownMu.Lock()
	own[cmd.Process.Pid] = true
	ownMu.Unlock()
	return nil
}

// waitCmd waits for a child started by startCmd.
func waitCmd(cmd *exec.Cmd) error {
	err := cmd.Wait()
	ownMu.Lock()
	delete(own, cmd.Process.Pid)
	ownMu.Unlock()
	return err
}

// BecomeSubreaper makes the agent the parent of every orphan in its
// commands' process trees (PR_SET_CHILD_SUBREAPER), so that a daemonizing
// command stays under the agent, and reaps those orphans when they exit.
// Call stop to end the reaping.
func BecomeSubreaper(logger log.Logger) (stop func(), err error) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, err
	}
	chld := make(chan os.Signal, 16)
	signal.Notify(chld, syscall.SIGCHLD)
	done := make(chan struct{})
	go func() {
		// SIGCHLDs coalesce; a slow tick catches any that were missed.
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-chld:
			case <-t.C:
			}
			for _, pid := range ReapOrphans() {
				level.Debug(logger).Log("msg", "reaped adopted orphan", "pid", pid)
			}
		}
	}()
	return func() { signal.Stop(chld); close(done) }, nil
}

// ReapOrphans reaps every exited child of this process that it did not
// start itself (adopted as a subreaper) and returns their pids.
func ReapOrphans() []int {
	startMu.Lock()
	defer startMu.Unlock()
	self := os.Getpid()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var reaped []int
	for _, f := range stats {
		st, err := procstat.ReadFile(f)
		if err != nil || st.PPID != self || st.State != 'Z' {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		ownMu.Lock()
		mine := own[pid]
		ownMu.Unlock()
		if mine {
			continue
		}
		var ws unix.WaitStatus
		if got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil); err == nil && got == pid {
			reaped = append(reaped, pid)
		}
	}
	return reaped
}
