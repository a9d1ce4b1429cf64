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
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zkwatch/zkwatch/internal/procstat"
)

// Proc names one process: its pid and its start time, so that a pid the
// kernel has given to a later process is not taken for it.
type Proc struct {
	Pid   int
	start uint64 // clock ticks after boot
}

// Identify returns the live (not zombie) process with this pid.
func Identify(pid int) (Proc, error) {
	if pid <= 0 {
		return Proc{}, fmt.Errorf("not a process id: %d", pid)
	}
	st, err := procstat.Read(pid)
	if err != nil {
		return Proc{}, fmt.Errorf("process %d not found", pid)
	}
	if !st.Live() {
		return Proc{}, fmt.Errorf("process %d has exited", pid)
	}
	return Proc{Pid: pid, start: st.Start}, nil
}

// Alive reports whether the process still runs: same pid, same start time,
// not a zombie.
func (p Proc) Alive() bool {
	q, err := Identify(p.Pid)
	return err == nil && q.start == p.start
}

// Started is when the process started.
func (p Proc) Started() time.Time {
	// The boot time is only known to the second: good enough for the
	// member data, and for telling a process from one started much later.
	return bootTime().Add(time.Duration(p.start) * time.Second / clockTicks)
}

// clockTicks is USER_HZ, the unit of /proc's times; 100 on every Linux
// architecture Go supports.
const clockTicks = 100

func bootTime() time.Time {
	b, err := os.ReadFile("/proc/stat")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "btime "); ok {
				if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
					return time.Unix(s, 0)
				}
			}
		}
	}
	return time.Unix(0, 0)
}

// Alive reports whether pid names a live process (not a zombie).
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	_, err := Identify(pid)
	return err == nil
}

// PIDFileProcess reads a pid file and returns its process, unless the pid
// is not running or belongs to a process started after the file was last
// written: then the pid was given to another process after the one that
// wrote the file had exited.
func PIDFileProcess(path string) (Proc, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Proc{}, err
	}
	pid, err := ReadPIDFile(path)
	if err != nil {
		return Proc{}, err
	}
	p, err := Identify(pid)
	if err != nil {
		return Proc{}, err
	}
	// Two seconds of slack cover the boot time's one-second resolution.
	if started := p.Started(); started.After(fi.ModTime().Add(2 * time.Second)) {
		return Proc{}, fmt.Errorf("pid file %s is stale: process %d started at %s, after the file was written at %s",
			path, pid, started.Format(time.RFC3339), fi.ModTime().Format(time.RFC3339))
	}
	return p, nil
}

// WaitExit returns when pid has exited or ctx ends (see Proc.Wait).
func WaitExit(ctx context.Context, pid int) error {
	p, err := Identify(pid)
	if err != nil {
		return nil
	}
	return p.Wait(ctx)
}

// Wait returns when the process has exited or ctx ends. It uses a pidfd
// where the kernel has them, so the exit is seen at once, and polls
// otherwise; a pid taken by a later process counts as exited.
func (p Proc) Wait(ctx context.Context) error {
	fd, err := unix.PidfdOpen(p.Pid, 0)
	if err == nil && !p.Alive() {
		unix.Close(fd) // the pidfd may name a later process
		return nil
	}
	if err == nil {
		defer unix.Close(fd)
		for ctx.Err() == nil {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, err := unix.Poll(fds, 100)
			if err != nil && !errors.Is(err, unix.EINTR) {
				break // fall back to polling
			}
			if n > 0 {
				return nil
			}
		}
	}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for p.Alive() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return ctx.Err()
}

// ReadPIDFile reads a decimal pid from path.
func ReadPIDFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s: not a process id: %q", path, strings.TrimSpace(string(b)))
	}
	return pid, nil
}
