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
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zkwatch/zkwatch/internal/procstat"
)

// Every command runs under a shim: the supervising binary itself, started
// again in a session of its own with shimFlag as its first argument. The
// shim is a child subreaper, so every descendant of the command (including
// those that left its process group or session) stays below it; it holds
// the read end of a pipe whose write end only the supervisor holds. When
// that pipe closes (the supervisor closed it, exited or was SIGKILLed) the
// shim kills the command's whole tree and exits once the tree is gone. A
// supervisor that dies by SIGKILL therefore takes its commands with it,
// which Pdeathsig alone cannot do for the command's children.
const (
	shimFlag = "--zkwatch-supervise-shim"
	// shimGraceEnv carries the grace leftovers get after the command exits.
	shimGraceEnv = "ZKWATCH_SUPERVISE_SHIM_GRACE"
	lifeFD       = 3 // read end of the supervisor's pipe
	statusFD     = 4 // "pid N" or "err MESSAGE", then closed
)

// RunShimIfAsked runs the shim and exits when the process was started as
// one. Every binary (and test binary) that starts commands through this
// package must call it first thing in main (TestMain).
func RunShimIfAsked() {
	if len(os.Args) > 2 && os.Args[1] == shimFlag && os.Args[2] == "--" {
		os.Exit(runShim(os.Args[3:]))
	}
}

// shimPoll is how often the shim looks for what is left of the tree.
const shimPoll = 10 * time.Millisecond

func runShim(args []string) int {
	// Pdeathsig of the command is tied to the thread that forks it.
	runtime.LockOSThread()
	syscall.CloseOnExec(lifeFD)
	syscall.CloseOnExec(statusFD)
	life, status := os.NewFile(lifeFD, "life"), os.NewFile(statusFD, "status")
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGQUIT)
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, syscall.SIGCHLD)
	cmd, err := shimStart(args)
	if err != nil {
		fmt.Fprintf(status, "err %v\n", err)
		return 127
	}
	fmt.Fprintf(status, "pid %d\n", cmd.Process.Pid)
	status.Close()
	exited := make(chan struct{})
	go func() { _ = waitCmd(cmd); close(exited) }()
	lifeGone := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, life); close(lifeGone) }()
	pid := cmd.Process.Pid
	stopping := false
	for done := false; !done; {
		select {
		case sig := <-sigs:
			if Stops(sig) {
				stopping = true
				signalTree(pid, sig.(syscall.Signal))
			} else {
				_ = cmd.Process.Signal(sig)
			}
		case <-lifeGone:
			killTree(pid)
			<-exited
			return exitCode(cmd.ProcessState)
		case <-chld:
			ReapOrphans() // descendants adopted by the shim that exited
		case <-exited:
			done = true
		}
	}
	stopLeftovers(pid, stopping, lifeGone, sigs)
	return exitCode(cmd.ProcessState)
}

// shimStart makes the shim a child subreaper and starts the command in a
// process group of its own, with SIGKILL if the shim dies.
func shimStart(args []string) (*exec.Cmd, error) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("child subreaper: %w", err)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, shimGraceEnv+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd, startCmd(cmd)
}

// stopLeftovers returns once nothing is left below the shim. When the
// command exited on its own, what it left behind gets SIGTERM, then SIGKILL
// after the grace the supervisor gave; when it is being stopped, the
// supervisor's deadline holds: SIGKILL once it closes the pipe.
func stopLeftovers(pgid int, stopping bool, lifeGone <-chan struct{}, sigs <-chan os.Signal) {
	var deadline <-chan time.Time
	if !stopping {
		grace, _ := time.ParseDuration(os.Getenv(shimGraceEnv))
		signalTree(pgid, syscall.SIGTERM)
		t := time.NewTimer(grace)
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(shimPoll)
	defer tick.Stop()
	for len(descendants(os.Getpid())) > 0 {
		ReapOrphans()
		select {
		case <-lifeGone:
			killTree(pgid)
		case <-deadline:
			killTree(pgid)
		case <-sigs:
		case <-tick.C:
		}
	}
}

// signalTree sends sig to the command's process group and to every
// process below the shim (descendants that left the group included).
func signalTree(pgid int, sig syscall.Signal) {
	_ = syscall.Kill(-pgid, sig)
	for _, pid := range descendants(os.Getpid()) {
		_ = syscall.Kill(pid, sig)
	}
}

// killTree SIGKILLs the tree until nothing of it is left (a process may
// fork while it is being killed) and reaps the orphans.
func killTree(pgid int) {
	for {
		signalTree(pgid, syscall.SIGKILL)
		ReapOrphans()
		if len(descendants(os.Getpid())) == 0 {
			return
		}
		time.Sleep(shimPoll)
	}
}

// descendants returns the live processes below root, from /proc.
func descendants(root int) []int {
	kids := map[int][]int{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		st, err := procstat.ReadFile(f)
		if err != nil || !st.Live() {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		kids[st.PPID] = append(kids[st.PPID], pid)
	}
	var out []int
	for queue := kids[root]; len(queue) > 0; queue = queue[1:] {
		out = append(out, queue[0])
		queue = append(queue, kids[queue[0]]...)
	}
	return out
}

// sessionMembers returns the live processes of session sid.
func sessionMembers(sid int) []int {
	var out []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		if st, err := procstat.ReadFile(f); err == nil && st.Live() && st.Session == sid {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			out = append(out, pid)
		}
	}
	return out
}

// startShim starts args under a shim and returns the shim, the write end
// of its life pipe and the command's pid.
func startShim(args, env []string, stdout, stderr io.Writer, grace time.Duration) (*exec.Cmd, *os.File, int, error) {
	// The running binary itself, even if an upgrade replaced its file.
	const self = "/proc/self/exe"
	name, err := os.Executable()
	if err != nil {
		name = "supervisor"
	}
	lifeR, lifeW, err := os.Pipe()
	if err != nil {
		return nil, nil, 0, err
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		lifeR.Close()
		lifeW.Close()
		return nil, nil, 0, err
	}
	defer statusR.Close()
	cmd := exec.Command(self, append([]string{shimFlag, "--"}, args...)...)
	cmd.Args[0] = filepath.Base(name) + "-shim"
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Env = append(append(os.Environ(), env...), shimGraceEnv+"="+grace.String())
	cmd.ExtraFiles = []*os.File{lifeR, statusW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = startCmd(cmd)
	lifeR.Close()
	statusW.Close()
	if err != nil {
		lifeW.Close()
		return nil, nil, 0, err
	}
	line, _ := bufio.NewReader(statusR).ReadString('\n')
	line = strings.TrimSpace(line)
	if pid, err := strconv.Atoi(strings.TrimPrefix(line, "pid ")); err == nil && strings.HasPrefix(line, "pid ") {
		return cmd, lifeW, pid, nil
	}
	lifeW.Close()
	_ = waitCmd(cmd)
	if msg, ok := strings.CutPrefix(line, "err "); ok {
		return nil, nil, 0, fmt.Errorf("%s", msg)
	}
	return nil, nil, 0, fmt.Errorf("the supervising shim did not start the command (exit %d): the binary must call supervise.RunShimIfAsked first", cmd.ProcessState.ExitCode())
}
