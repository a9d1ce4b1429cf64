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

package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// appConfig is what restart-app needs to start the demo process again; the
// stack writes it next to the demo's state.
type appConfig struct {
	BinDir    string `json:"bin_dir"`
	Servers   string `json:"servers"`
	AgentAddr string `json:"agent_addr"`
}

// stoppingFile marks a demo that is stopping: restart-app starts nothing.
const stoppingFile = "stopping"

// StartApp starts the demo process under zkwatch_agent, as a child of the
// stack that dies with it (Pdeathsig) in a process group of its own.
func StartApp(dir, binDir, servers, agentAddr string) error {
	cfg := appConfig{BinDir: binDir, Servers: servers, AgentAddr: agentAddr}
	data, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, "app.json"), data, 0o644); err != nil {
		return err
	}
	return startAgent(dir, cfg, &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL})
}

// startAgent starts zkwatch_agent with the demo process and records its
// pid, which is also its process group's (StopApp kills the group).
func startAgent(dir string, cfg appConfig, attr *syscall.SysProcAttr) error {
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "logs", "agent.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(cfg.BinDir, "zkwatch_agent"),
		"--zookeeper.servers="+cfg.Servers, "--zookeeper.session-timeout=4s", "--web.listen-address="+cfg.AgentAddr,
		"--zookeeper.auth.digest-file="+DigestFile(dir), "--zookeeper.acl=world-read",
		"register", "--register="+Group, "--member="+Member, "--restart=never",
		"--", filepath.Join(cfg.BinDir, "zkwatch-demo"), "app", "--pid-file", filepath.Join(dir, "app-child.pid"))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start zkwatch_agent: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "agent.pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }() // reap it while this process lives
	return nil
}

// alive reports whether pid runs (a zombie does not count).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	st, err := zktest.ProcState(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && st != 'Z' // gone between kill(2) and the read: not alive
}

// RestartApp is the receiver's restart command: it records the restart and
// starts the demo process again, detached in its own session so that it
// outlives this command (the receiver's restart hook waits for its command
// to exit). Once the demo is stopping it starts nothing, and stops what it
// started if the demo began stopping meanwhile.
func RestartApp(dir, member string) error {
	if member != Member {
		return fmt.Errorf("unknown member %q", member)
	}
	stopping := func() bool { _, err := os.Stat(filepath.Join(dir, stoppingFile)); return err == nil }
	if stopping() {
		return errors.New("the demo is stopping: not restarting")
	}
	data, err := os.ReadFile(filepath.Join(dir, "app.json"))
	if err != nil {
		return err
	}
	var cfg appConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, "restarts.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "%s restart %s alert=%s incident=%s\n", time.Now().UTC().Format(time.RFC3339Nano), member,
		os.Getenv("ZKWATCH_ALERTNAME"), os.Getenv("ZKWATCH_INCIDENT_ID"))
	f.Close()
	// The agent that supervised the old process may still be shutting down
	// and holding the metrics port; wait for it.
	if pid, err := readPid(filepath.Join(dir, "agent.pid")); err == nil {
		deadline := time.Now().Add(10 * time.Second)
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if err := startAgent(dir, cfg, &syscall.SysProcAttr{Setsid: true}); err != nil {
		return err
	}
	if stopping() {
		StopApp(dir)
		return errors.New("the demo is stopping: restart undone")
	}
	return nil
}

// Restarts returns the lines restart-app wrote.
func Restarts(dir string) []string {
	data, _ := os.ReadFile(filepath.Join(dir, "restarts.log"))
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// KillApp kills the demo process (not its agent) with SIGKILL, as a crash.
func KillApp(dir string) error {
	pid, err := readPid(filepath.Join(dir, "app-child.pid"))
	if err != nil {
		return err
	}
	return syscall.Kill(pid, syscall.SIGKILL)
}

// StopApp stops the demo process and its agent.
func StopApp(dir string) {
	if pid, err := readPid(filepath.Join(dir, "agent.pid")); err == nil {
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		deadline := time.Now().Add(3 * time.Second)
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// RunApp is the demo process itself: it writes its pid and waits for a
// signal, or ends by itself after runFor when that is positive (a job).
func RunApp(pidFile string, runFor time.Duration) error {
	if pidFile == "" {
		return errors.New("--pid-file is required")
	}
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	var done <-chan time.Time
	if runFor > 0 {
		done = time.After(runFor)
	}
	select {
	case <-sig:
	case <-done:
	}
	return nil
}

func readPid(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}
