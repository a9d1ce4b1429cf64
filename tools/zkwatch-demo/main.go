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
// (run), the scripted fault scenario (scenario), and the two small commands
// the demo itself needs (restart-app, used by the receiver's restart hook,
// and app, the supervised demo process).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/alecthomas/kingpin/v2"

	"github.com/zkwatch/zkwatch/internal/demo"
)

func main() {
	app := kingpin.New("zkwatch-demo", "The zkwatch demo: a real ZooKeeper ensemble, zookeeper_exporter, Prometheus, Alertmanager, zkwatch_receiver and a process supervised by zkwatch_agent, all on 127.0.0.1.")
	dir := app.Flag("dir", "State directory of the demo.").Default(".demo").String()
	binDir := app.Flag("bin", "Directory holding the zkwatch binaries.").Default("bin").String()
	repo := app.Flag("repo", "Repository root (for mixin/).").Default(".").String()

	app.Command("run", "Start the stack, print its URLs and wait for Ctrl-C.").Default()
	scenario := app.Command("scenario", "Start the stack, kill the demo process, a follower and the leader, print the timeline, stop.")
	restart := app.Command("restart-app", "Start the demo process again (the receiver's restart command).")
	member := restart.Flag("member", "Member to restart.").Required().String()
	appCmd := app.Command("app", "The demo process: writes its pid and waits.")
	pidFile := appCmd.Flag("pid-file", "Where to write the pid.").Required().String()
	runFor := appCmd.Flag("run-for", "End after this long (0: run until signalled).").Default("0s").Duration()

	cmd := kingpin.MustParse(app.Parse(os.Args[1:]))
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	var err error
	switch cmd {
	case restart.FullCommand():
		err = demo.RestartApp(abs(*dir), *member)
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

func runStack(dir, binDir, repo string, scenario bool) error {
	for _, b := range []string{"zookeeper_exporter", "zkwatch_receiver", "zkwatch_agent", "zkwatch-demo"} {
		if _, err := os.Stat(filepath.Join(binDir, b)); err != nil {
			return fmt.Errorf("%s missing in %s: run make build first", b, binDir)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	s, err := demo.Start(ctx, demo.Options{Dir: dir, BinDir: binDir, Repo: repo, Log: os.Stdout})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("stopping everything the demo started")
		s.Stop()
	}()
	fmt.Printf(`
zkwatch demo is running (state and logs in %s):
  ZooKeeper ensemble     %s
  zookeeper_exporter     %s/metrics
  Prometheus             %s  (alerts: %s/alerts)
  Alertmanager           %s
  zkwatch_receiver       %s  (incidents: %s/api/v1/incidents)
                         %s  (second replica; they coordinate through the ensemble)
  zkwatch_agent          %s/metrics  (supervises the demo process %s/%s)

Try: kill the demo process with  kill -9 $(cat %s/app-child.pid)
     and watch ZooKeeperProcessMemberDown fire, the receiver restart it, and the alert resolve.
`, dir, s.Ens.Servers(), s.Exporter, s.Prom, s.Prom, s.AM, s.Receiver, s.Receiver, s.Receiver2, s.Agent, demo.Group, demo.Member, dir)
	if scenario {
		_, err := s.Scenario(ctx, os.Stdout)
		return err
	}
	fmt.Println("Press Ctrl-C to stop.")
	<-ctx.Done()
	return nil
}
