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

// Command zkwatch-demo runs the zkwatch demo: the whole stack on 127.0.0.1
// (run), the scripted fault scenario (scenario), stopping, starting and
// restarting one ZooKeeper member of a running demo (member), and the two
// small commands the demo itself needs (restart-app, used by the receiver's
// restart hook, and app, the supervised demo process).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/alecthomas/kingpin/v2"

	"github.com/zkwatch/zkwatch/tools/zkwatch-demo/demo"
)

func main() {
	app := kingpin.New("zkwatch-demo", "The zkwatch demo: a real ZooKeeper ensemble, zookeeper_exporter, Prometheus, Alertmanager, zkwatch_receiver and a process supervised by zkwatch_agent, all on 127.0.0.1.")
	dir := app.Flag("dir", "State directory of the demo.").Default(".demo").String()
	binDir := app.Flag("bin", "Directory holding the zkwatch binaries.").Default("bin").String()
	repo := app.Flag("repo", "Repository root (for mixin/).").Default(".").String()

	app.Command("run", "Start the stack, print its URLs and wait for Ctrl-C.").Default()
	scenario := app.Command("scenario", "Start the stack, kill the demo process, a follower and the leader, roll the ensemble, open a maintenance window on the demo process, print the timelines and the split-brain check, stop.")
	member := app.Command("member", "Stop, start or restart one ZooKeeper member of the demo running in --dir.")
	memberAction := member.Arg("action", "stop (SIGKILL), start, or restart (SIGKILL, start, return once it answers).").Required().Enum("stop", "start", "restart")
	memberID := member.Arg("id", "Member number, as the demo prints it (1-3).").Required().String()
	restart := app.Command("restart-app", "Start the demo process again (the receiver's restart command).")
	restartMember := restart.Flag("member", "Member to restart.").Required().String()
	appCmd := app.Command("app", "The demo process: writes its pid and waits.")
	pidFile := appCmd.Flag("pid-file", "Where to write the pid.").Required().String()
	runFor := appCmd.Flag("run-for", "End after this long (0: run until signalled).").Default("0s").Duration()

	cmd := kingpin.MustParse(app.Parse(os.Args[1:]))
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	var err error
	switch cmd {
	case member.FullCommand():
		var out string
		if out, err = demo.MemberCommand(context.Background(), abs(*dir), *memberAction, *memberID); err == nil {
			fmt.Println(out)
		}
	case restart.FullCommand():
		err = demo.RestartApp(abs(*dir), *restartMember)
	case appCmd.FullCommand():
		err = demo.RunApp(*pidFile, *runFor)
	default:
		err = runStack(abs(*dir), abs(*binDir), abs(*repo), cmd == scenario.FullCommand())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "zkwatch-demo:", err)
		os.Exit(1)
	}
}

// stopSignals end the demo. SIGHUP: the terminal went away. SIGPIPE: stdout
// is a pipe whose reader is gone (`make demo | tee log` and Ctrl-C kills
// tee too); asking for it also turns Go's default, dying on the next write
// to stdout before anything is stopped, into an EPIPE error.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE}

func runStack(dir, binDir, repo string, scenario bool) error {
	for _, b := range []string{"zookeeper_exporter", "zkwatch_receiver", "zkwatch_agent", "zkwatch_roll", "zkwatch-demo"} {
		if _, err := os.Stat(filepath.Join(binDir, b)); err != nil {
			return fmt.Errorf("%s missing in %s: run make build first", b, binDir)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	// Caught until runStack returns: a second Ctrl-C does not cut the
	// stopping short.
	ctx, cancel := signal.NotifyContext(context.Background(), stopSignals...)
	defer cancel()
	go func() {
		<-ctx.Done()
		fmt.Println("stopping everything the demo started")
	}()
	fmt.Printf("starting the zkwatch demo in %s (each step prints a line when it starts and one when it ends)\n", dir)
	s, err := demo.Start(ctx, demo.Options{Dir: dir, BinDir: binDir, Repo: repo, Log: os.Stdout})
	if err != nil {
		if ctx.Err() != nil { // asked to stop; Start stopped what it started
			fmt.Println("start-up interrupted; everything the demo started is stopped")
			return nil
		}
		return err
	}
	defer func() {
		s.Stop()
		fmt.Println("everything the demo started is stopped")
	}()
	s.PrintSummary(os.Stdout)
	if scenario {
		_, err := s.Scenario(ctx, os.Stdout)
		return err
	}
	fmt.Println("\nPress Ctrl-C to stop.")
	<-ctx.Done()
	return nil
}
