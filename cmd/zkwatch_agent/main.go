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

// Command zkwatch_agent keeps ZooKeeper in step with the processes it
// supervises: a member node that exists only while the process runs and is
// healthy (register), a command run on exactly one host at a time (lock),
// and task workers that claim tasks exactly once (worker).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/zkwatch/zkwatch/agent"
	"github.com/zkwatch/zkwatch/agent/supervise"
	"github.com/zkwatch/zkwatch/internal/logging"
)

const help = `Keeps ZooKeeper in step with supervised processes.

Conventions shared with zookeeper_exporter:
  register: ephemeral node REGISTER_PATH/NAME (parents created as persistent
            nodes); default data {"host","ip","pid","start_time" (RFC 3339)}.
  lock:     Curator InterProcessMutex layout: ephemeral sequential children
            _c_<uuid>-lock-<seq> under --path (data: client IP); the lowest
            sequence holds, each waiter watches its predecessor.
  worker:   ROOT/Workers/NAME (ephemeral) and ROOT/Tasks/<task>; task data
            empty or {"worker":""} = unclaimed, {"worker":"NAME","state":
            "claimed|running|done",...} = claimed by NAME (plain text NAME is
            read as claimed too). Claims and releases are version-checked
            setData; a claimed, not-done task whose worker is not under
            ROOT/Workers is orphaned and taken over. Done tasks keep
            state "done" (with "exit_code").

Commands run in their own process group and are killed if the agent dies.
SIGTERM/SIGINT are forwarded and end the agent with the command's exit code;
SIGHUP, SIGUSR1 and SIGUSR2 are passed through to the running command.`

// supervision flags shared by register and lock.
type supFlags struct {
	args                   *[]string
	restart                *string
	backoffMin, backoffMax *time.Duration
	stopTimeout            *time.Duration
}

func addSupFlags(c *kingpin.CmdClause, restartDefault string) supFlags {
	return supFlags{
		restart:     c.Flag("restart", "Restart the command when it exits: never, on-failure or always.").Default(restartDefault).Enum("never", "on-failure", "always"),
		backoffMin:  c.Flag("restart.backoff-min", "First restart delay; it doubles on each restart.").Default("1s").Duration(),
		backoffMax:  c.Flag("restart.backoff-max", "Longest restart delay; a command that ran this long restarts after the shortest delay again.").Default("30s").Duration(),
		stopTimeout: c.Flag("stop-timeout", "Time between forwarding SIGTERM/SIGINT to the command and SIGKILL.").Default("10s").Duration(),
		args:        c.Arg("command", "The command and its arguments, after --.").Strings(),
	}
}

func (f supFlags) config() (supervise.Config, error) {
	pol, err := supervise.ParsePolicy(*f.restart)
	if err != nil {
		return supervise.Config{}, err
	}
	if len(*f.args) == 0 {
		return supervise.Config{}, errors.New("no command given: put it after --")
	}
	return supervise.Config{Args: *f.args, Restart: pol, BackoffMin: *f.backoffMin, BackoffMax: *f.backoffMax,
		StopTimeout: *f.stopTimeout, Stdout: os.Stdout, Stderr: os.Stderr}, nil
}

func main() {
	app := kingpin.New("zkwatch_agent", help)
	var (
		servers        = app.Flag("zookeeper.servers", "Comma-separated host:port list of the ensemble's members.").Default("localhost:2181").String()
		sessionTimeout = app.Flag("zookeeper.session-timeout", "ZooKeeper session timeout (the server caps it, 4s..40s by default).").Default("10s").Duration()
		toolkitFlags   = kingpinflag.AddFlags(app, ":9144")
		logConfig      = logging.AddFlags(app)

		regCmd      = app.Command("register", "Run COMMAND and keep the ephemeral member node REGISTER_PATH/NAME while it runs (and is healthy).").Default()
		regPath     = regCmd.Flag("register", "Parent path of the member node, e.g. /monitor/app.").Default("").String()
		regMember   = regCmd.Flag("member", "Member name (node name under --register); default the host name.").Default("").String()
		regData     = regCmd.Flag("data", "Node data (JSON); default {host, ip, pid, start_time}.").String()
		regSup      = addSupFlags(regCmd, "never")
		watchPID    = regCmd.Flag("watch-pid", "Register a process the agent did not start; the agent ends when it exits.").Int()
		pidFile     = regCmd.Flag("pid-file", "Register the process whose pid is in this file, following restarts.").String()
		healthHTTP  = regCmd.Flag("health.http", "Healthy when GET URL answers 2xx/3xx.").Strings()
		healthTCP   = regCmd.Flag("health.tcp", "Healthy when host:port accepts a TCP connection.").Strings()
		healthExec  = regCmd.Flag("health.exec", "Healthy when this command (split on spaces, no shell) exits 0.").Strings()
		healthEvery = regCmd.Flag("health.interval", "Time between health check rounds.").Default("5s").Duration()
		healthTO    = regCmd.Flag("health.timeout", "Timeout of one health check.").Default("2s").Duration()
		healthFails = regCmd.Flag("health.failures", "Consecutive failed rounds before a healthy process counts as unhealthy.").Default("1").Int()

		lockCmd  = app.Command("lock", "Run COMMAND only while holding the lock at --path (Curator InterProcessMutex layout).")
		lockPath = lockCmd.Flag("path", "Lock path, e.g. /locks/NAME.").Required().String()
		lockSup  = addSupFlags(lockCmd, "never")

		workCmd    = app.Command("worker", "Register ROOT/Workers/NAME, claim tasks under ROOT/Tasks and run COMMAND for each ({{.Task}}, {{.Path}} and {{.Worker}} in its arguments are replaced).")
		workRoot   = workCmd.Flag("root", "Root of the task pool, e.g. /jobs/pool.").Required().String()
		workMember = workCmd.Flag("member", "Worker name (node name under ROOT/Workers); default the host name.").Default("").String()
		workMax    = workCmd.Flag("max-tasks", "Cap on tasks held at once (claimed or running); a worker never holds more than its fair share (pending tasks / live workers, rounded up); 0 means no further cap.").Default("0").Int()
		workConc   = workCmd.Flag("concurrency", "Tasks run at the same time.").Default("1").Int()
		workStop   = workCmd.Flag("stop-timeout", "Time between forwarding SIGTERM/SIGINT to running tasks and SIGKILL.").Default("10s").Duration()
		workResync = workCmd.Flag("resync", "Period of the full rescan of tasks (changes of tasks and workers are also watched).").Default("1s").Duration()
		workArgs   = workCmd.Arg("command", "The command and its arguments, after --.").Strings()
	)
	app.Version(version.Print("zkwatch_agent"))
	app.UsageWriter(os.Stdout)
	app.HelpFlag.Short('h')
	cmd, err := app.Parse(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "zkwatch_agent:", err)
		os.Exit(2)
	}
	logger, slogger := logging.New(logConfig)
	level.Info(logger).Log("msg", "Starting zkwatch_agent", "mode", cmd, "version", version.Info())

	sigs := make(chan os.Signal, 4)
	// SIGTERM/SIGINT stop the command and the agent; the others are passed
	// through to the running command(s).
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2)

	reg := prometheus.NewRegistry()
	reg.MustRegister(versioncollector.NewCollector("zkwatch_agent"), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m, err := agent.NewModeMetrics(reg, cmd)
	if err != nil {
		fail(logger, err)
	}

	// run builds the mode's runner; flag errors exit 2 before connecting.
	var run func(context.Context, *agent.Session) (int, error)
	switch cmd {
	case regCmd.FullCommand():
		cfg, err := registerConfig(*regPath, *regMember, *regData, regSup, *watchPID, *pidFile,
			*healthHTTP, *healthTCP, *healthExec, *healthEvery, *healthTO, *healthFails)
		if err != nil {
			fail(logger, err)
		}
		cfg.Servers, cfg.Signals = *servers, sigs
		run = func(ctx context.Context, s *agent.Session) (int, error) {
			return agent.RunRegister(ctx, s, cfg, m, logger)
		}
	case lockCmd.FullCommand():
		sc, err := lockSup.config()
		if err == nil {
			err = agent.ValidatePath(*lockPath)
		}
		if err != nil {
			fail(logger, err)
		}
		cfg := agent.LockConfig{Path: *lockPath, Data: []byte(agent.LocalIP(*servers)), Supervise: sc, Signals: sigs}
		run = func(ctx context.Context, s *agent.Session) (int, error) { return agent.RunLock(ctx, s, cfg, m, logger) }

	case workCmd.FullCommand():
		member := *workMember
		if member == "" {
			member, _ = os.Hostname()
		}
		cfg := agent.WorkerConfig{Servers: *servers, Root: *workRoot, Member: member, MaxTasks: *workMax, Concurrency: *workConc,
			Args: *workArgs, StopTimeout: *workStop, Resync: *workResync, Signals: sigs}
		if *workConc < 1 {
			fail(logger, errors.New("--concurrency must be at least 1"))
		}
		// Validate before connecting; the session is filled in below.
		if _, err := agent.NewWorker(nil, cfg, m, logger); err != nil {
			fail(logger, err)
		}
		run = func(ctx context.Context, s *agent.Session) (int, error) {
			w, err := agent.NewWorker(s, cfg, m, logger)
			if err != nil {
				return 2, err
			}
			return w.Run(ctx)
		}
	}

	serve(reg, toolkitFlags, logger, slogger)
	s, err := agent.Dial(*servers, *sessionTimeout, logger, m.SessionExpirations)
	if err != nil {
		fail(logger, err)
	}
	code, err := run(context.Background(), s)
	s.Close()
	if err != nil {
		level.Error(logger).Log("msg", "zkwatch_agent failed", "err", err)
		if code == 0 {
			code = 1
		}
	}
	level.Info(logger).Log("msg", "exiting", "code", code)
	os.Exit(code)
}

func fail(logger log.Logger, err error) {
	level.Error(logger).Log("msg", "invalid arguments", "err", err)
	os.Exit(2)
}

func registerConfig(path, member, data string, sf supFlags, watchPID int, pidFile string,
	hHTTP, hTCP, hExec []string, every, timeout time.Duration, fails int) (agent.RegisterConfig, error) {
	var cfg agent.RegisterConfig
	if path == "" {
		return cfg, errors.New("--register=PATH is required")
	}
	if member == "" {
		h, err := os.Hostname()
		if err != nil {
			return cfg, fmt.Errorf("no --member and no host name: %w", err)
		}
		member = h
	}
	if member == "." || member == ".." || member == "" || containsSlash(member) {
		return cfg, fmt.Errorf("invalid --member %q", member)
	}
	cfg.Path = path + "/" + member
	if path == "/" {
		cfg.Path = "/" + member
	}
	if err := agent.ValidatePath(cfg.Path); err != nil {
		return cfg, err
	}
	if data != "" {
		cfg.Data = []byte(data)
	}
	cfg.WatchPID, cfg.PIDFile = watchPID, pidFile
	if watchPID == 0 && pidFile == "" {
		sc, err := sf.config()
		if err != nil {
			return cfg, err
		}
		cfg.Supervise = &sc
	} else if len(*sf.args) > 0 {
		return cfg, errors.New("give either a command or --watch-pid/--pid-file, not both")
	}
	var checks []supervise.Check
	add := func(list []string, mk func(string) (supervise.Check, error)) error {
		for _, a := range list {
			c, err := mk(a)
			if err != nil {
				return err
			}
			checks = append(checks, c)
		}
		return nil
	}
	for _, e := range []error{add(hHTTP, supervise.HTTPCheck), add(hTCP, supervise.TCPCheck), add(hExec, supervise.ExecCheck)} {
		if e != nil {
			return cfg, e
		}
	}
	if len(checks) > 0 {
		if every <= 0 || timeout <= 0 || fails < 1 {
			return cfg, errors.New("--health.interval and --health.timeout must be positive and --health.failures at least 1")
		}
		cfg.Health = &supervise.Health{Checks: checks, Interval: every, Timeout: timeout, Failures: fails}
	}
	return cfg, nil
}

func containsSlash(s string) bool {
	for _, c := range s {
		if c == '/' {
			return true
		}
	}
	return false
}

// serve starts the metrics and health endpoints in the background.
// A failing web server is logged, not fatal: supervision matters more.
func serve(reg *prometheus.Registry, flags *web.FlagConfig, logger log.Logger, slogger *slog.Logger) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "OK") })
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name: "zkwatch agent", Description: "Supervised ZooKeeper registration, locks and task workers", Version: version.Info(),
		Links: []web.LandingLinks{{Address: "/metrics", Text: "Metrics"}, {Address: "/-/healthy", Text: "Health"}},
	})
	if err == nil {
		mux.Handle("/", landing)
	}
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := web.ListenAndServe(server, flags, slogger); err != nil {
			level.Error(logger).Log("msg", "web server failed", "err", err)
		}
	}()
}
