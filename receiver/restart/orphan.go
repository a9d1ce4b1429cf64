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
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/zkwatch/zkwatch/internal/procstat"
)

// ProcStart returns pid's start time in clock ticks since boot: with the
// pid it identifies a process, since a pid can be reused but not at the
// same instant.
func ProcStart(pid int) (uint64, error) {
	st, err := procstat.Read(pid)
	return st.Start, err
}

// members returns the live processes of process group or session id
// (zombies, which an unreaped orphan may stay as, do not count). A restart
// command leads both; a child that left the group stays in the session.
func members(id int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := procstat.Read(pid); err == nil && (st.PGRP == id || st.Session == id) && st.Live() {
			out = append(out, pid)
		}
	}
	return out
}

// groupAlive tells whether any process of the command's group or session
// pgid is alive.
func groupAlive(pgid int) bool {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		return syscall.Kill(-pgid, 0) == nil
	}
	return len(members(pgid)) > 0
}

// killSession SIGKILLs the process group and the session that sid leads.
// While any member lives, the kernel does not hand sid out as a pid again.
func killSession(sid int) {
	_ = syscall.Kill(-sid, syscall.SIGKILL)
	for _, pid := range members(sid) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// Orphan describes what KillOrphan found of a restart command's process
// group recorded before the receiver died.
type Orphan int

const (
	// OrphanGone: nothing of the group was left.
	OrphanGone Orphan = iota
	// OrphanKilled: the group was still running and has been killed.
	OrphanKilled
	// OrphanReused: the pid now names another process; nothing was done.
	OrphanReused
)

// KillOrphan kills the process group pgid, recorded with its leader's
// start time procStart, if it still runs, and waits up to wait for it to
// be gone. While any member of the group lives the kernel does not reuse
// pgid as a pid, so a live group is ours unless its leader is a different
// process (a different start time) that took the pid after our group died.
func KillOrphan(ctx context.Context, pgid int, procStart uint64, wait time.Duration) (Orphan, error) {
	if pgid <= 1 {
		return OrphanGone, nil
	}
	if !groupAlive(pgid) {
		return OrphanGone, nil
	}
	if st, err := procstat.Read(pgid); err == nil && st.Start != procStart {
		return OrphanReused, nil
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return OrphanKilled, fmt.Errorf("killing process group %d: %w", pgid, err)
	}
	killSession(pgid)
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for groupAlive(pgid) {
		select {
		case <-ctx.Done():
			return OrphanKilled, fmt.Errorf("process group %d still alive after SIGKILL", pgid)
		case <-t.C:
		}
	}
	return OrphanKilled, nil
}
