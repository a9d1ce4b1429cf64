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
// a command run only by the leader of an election (election), and task
// workers that claim tasks exactly once (worker).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/zkwatch/zkwatch/agent"
	"github.com/zkwatch/zkwatch/agent/supervise"
	"github.com/zkwatch/zkwatch/internal/logging"
	"github.com/zkwatch/zkwatch/internal/zksession"
	"github.com/zkwatch/zkwatch/internal/zktls"
)

const help = `Keeps ZooKeeper in step with supervised processes.

Conventions shared with zookeeper_exporter:
  register: ephemeral node REGISTER_PATH/NAME (parents created as persistent
            nodes); default data {"host","ip","pid","start_time" (RFC 3339)}.
  lock:     Curator InterProcessMutex layout: ephemeral sequential children
            _c_<uuid>-lock-<seq> under --path (data: client IP); the lowest
            sequence holds, each waiter watches its predecessor.
  election: Curator LeaderLatch layout: ephemeral sequential children
            _c_<uuid>-latch-<seq> under --path (data: client IP); the
            lowest sequence leads, as in lock mode.
  worker:   ROOT/Workers/NAME (ephemeral) and ROOT/Tasks/<task>; task data
            empty or {"worker":""} = unclaimed, {"worker":"NAME","state":
            "claimed|running|done",...} = claimed by NAME (plain text NAME is
            read as claimed too). Claims and releases are version-checked
            setData; a claimed, not-done task whose worker is not under
            ROOT/Workers is orphaned and taken over. Done tasks keep
            state "done" (with "exit_code").

Commands run in a process group of their own under a shim (this binary);
stopping one stops everything it started (SIGTERM, then SIGKILL), and all
of it dies with the agent, even when the agent is killed by SIGKILL.
SIGTERM/SIGINT are forwarded and end the agent with the command's exit code;
SIGHUP, SIGUSR1 and SIGUSR2 are passed through to the running command.`

// supervision flags shared by register, lock and election.
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
	supervise.RunShimIfAsked() // this binary is also the shim of its commands
	os.Exit(run())
}

// flags are the agent's command line.
type flags struct {
	servers, digestFile, chroot, acl *string
	sessionTimeout, idleTimeout      *time.Duration
	tls                              *zktls.Config
	toolkit                          *web.FlagConfig
	log                              *promslog.Config
	register                         registerFlags
	lock, election                   recipeFlags
	worker                           workerFlags
}

type registerFlags struct {
	cmd                            *kingpin.CmdClause
	path, member, data, pidFile    *string
	sup                            supFlags
	watchPID, healthFails          *int
	healthHTTP, healthTCP, healthX *[]string
	healthEvery, healthTO          *time.Duration
}

// recipeFlags are the flags of lock and election mode.
type recipeFlags struct {
	cmd  *kingpin.CmdClause
	path *string
	sup  supFlags
}

func addRecipeCmd(app *kingpin.Application, name, help, pathHelp string) recipeFlags {
	c := app.Command(name, help)
	return recipeFlags{cmd: c, path: c.Flag("path", pathHelp).Required().String(), sup: addSupFlags(c, "never")}
}

// runRecipe is agent.RunLock or agent.RunElection.
type runRecipe func(context.Context, *agent.Session, agent.LockConfig, *agent.Metrics, log.Logger) (int, error)

// runner checks the flags of lock or election mode and returns its runner.
func (r recipeFlags) runner(servers string, sigs <-chan os.Signal, m *agent.Metrics, logger log.Logger, run runRecipe) (runner, error) {
	sc, err := r.sup.config()
	if err == nil {
		err = zksession.ValidatePath(*r.path)
	}
	if err != nil {
		return nil, err
	}
	cfg := agent.LockConfig{Path: *r.path, Data: []byte(agent.LocalIP(servers)), Supervise: sc, Signals: sigs}
	return func(ctx context.Context, s *agent.Session) (int, error) { return run(ctx, s, cfg, m, logger) }, nil
}

type workerFlags struct {
	cmd          *kingpin.CmdClause
	root, member *string
	max, conc    *int
	stop, resync *time.Duration
	allow        *string
	args         *[]string
}

func addFlags(app *kingpin.Application) *flags {
	f := &flags{
		servers:        app.Flag("zookeeper.servers", "Comma-separated host:port list of the ensemble's members; dns+NAME:PORT (A/AAAA) and dnssrv+NAME (SRV) entries are looked up at start and at each reconnection.").Default("localhost:2181").String(),
		sessionTimeout: app.Flag("zookeeper.session-timeout", "Requested ZooKeeper session timeout; the server caps it (2..20 ticks by default) and the agent fences on the timeout it grants.").Default("10s").Duration(),
		digestFile:     app.Flag("zookeeper.auth.digest-file", "File holding user:password for ZooKeeper digest authentication (as --watch.auth.digest-file of the exporter).").Default("").String(),
		chroot:         app.Flag("zookeeper.chroot", "Chroot prepended to every path the agent uses, e.g. /myapp.").Default("").String(),
		acl:            app.Flag("zookeeper.acl", "ACL of the nodes the agent creates: auto (creator with credentials, else refuse to start), open (world:anyone all: any client may delete or forge them), creator (only the agent's identity) or world-read (anyone reads, the identity does all). The identity is the digest of --zookeeper.auth.digest-file or the TLS client certificate.").Default(zksession.ACLAuto).Enum(zksession.ACLModes...),
		tls:            zktls.AddFlags(app),
		toolkit:        kingpinflag.AddFlags(app, ":9144"),
		idleTimeout:    app.Flag("web.idle-timeout", "Close a keep-alive connection idle for this long, so idle clients cannot hold connections forever.").Default("5m").Duration(),
		log:            logging.AddFlags(app),
	}
	r := &f.register
	r.cmd = app.Command("register", "Run COMMAND and keep the ephemeral member node REGISTER_PATH/NAME while it runs (and is healthy).").Default()
	r.path = r.cmd.Flag("register", "Parent path of the member node, e.g. /monitor/app.").Default("").String()
	r.member = r.cmd.Flag("member", "Member name (node name under --register); default the host name.").Default("").String()
	r.data = r.cmd.Flag("data", "Node data (JSON); default {host, ip, pid, start_time}.").String()
	r.sup = addSupFlags(r.cmd, "never")
	r.watchPID = r.cmd.Flag("watch-pid", "Register a process the agent did not start; the agent ends when it exits.").Int()
	r.pidFile = r.cmd.Flag("pid-file", "Register the process whose pid is in this file, following restarts.").String()
	r.healthHTTP = r.cmd.Flag("health.http", "Healthy when GET URL answers 2xx/3xx.").Strings()
	r.healthTCP = r.cmd.Flag("health.tcp", "Healthy when host:port accepts a TCP connection.").Strings()
	r.healthX = r.cmd.Flag("health.exec", "Healthy when this command (split on spaces, no shell) exits 0.").Strings()
	r.healthEvery = r.cmd.Flag("health.interval", "Time between health check rounds.").Default("5s").Duration()
	r.healthTO = r.cmd.Flag("health.timeout", "Timeout of one health check.").Default("2s").Duration()
	r.healthFails = r.cmd.Flag("health.failures", "Consecutive failed rounds before a healthy process counts as unhealthy.").Default("1").Int()

	f.lock = addRecipeCmd(app, "lock", "Run COMMAND only while holding the lock at --path (Curator InterProcessMutex layout).",
		"Lock path, e.g. /locks/NAME.")
	f.election = addRecipeCmd(app, "election", "Run COMMAND only while leading the election at --path (Curator LeaderLatch layout).",
		"Election path, e.g. /elections/NAME.")

	w := &f.worker
	w.cmd = app.Command("worker", "Register ROOT/Workers/NAME, claim tasks under ROOT/Tasks and run COMMAND for each ({{.Task}}, {{.Path}} and {{.Worker}} in its arguments are replaced).")
	w.root = w.cmd.Flag("root", "Root of the task pool, e.g. /jobs/pool.").Required().String()
	w.member = w.cmd.Flag("member", "Worker name (node name under ROOT/Workers); default the host name.").Default("").String()
	w.max = w.cmd.Flag("max-tasks", "Cap on tasks held at once (claimed or running); a worker never holds more than its fair share (pending tasks / live workers, rounded up); 0 means no further cap.").Default("0").Int()
	w.conc = w.cmd.Flag("concurrency", "Tasks run at the same time.").Default("1").Int()
	w.stop = w.cmd.Flag("stop-timeout", "Time between forwarding SIGTERM/SIGINT to running tasks and SIGKILL.").Default("10s").Duration()
	w.resync = w.cmd.Flag("resync", "Period of the full rescan of tasks (changes of tasks and workers are also watched).").Default("1s").Duration()
	w.allow = w.cmd.Flag("task-allow", "Regular expression (anchored) a task name must match to be claimed and put in the command's arguments; other tasks are left alone and logged. The default refuses names that start with '-' or hold shell metacharacters or spaces.").Default(agent.DefaultTaskAllow).String()
	w.args = w.cmd.Arg("command", "The command and its arguments, after --.").Strings()
	return f
}

// runner runs one mode on a session and returns the agent's exit code.
type runner func(context.Context, *agent.Session) (int, error)

// parentDirs are the directories a mode creates nodes in.
func (f *flags) parentDirs(cmd string) []string {
	switch cmd {
	case f.register.cmd.FullCommand():
		return []string{*f.register.path}
	case f.lock.cmd.FullCommand():
		return []string{*f.lock.path}
	case f.election.cmd.FullCommand():
		return []string{*f.election.path}
	}
	return []string{*f.worker.root + "/Tasks", *f.worker.root + "/Workers"}
}

// mode checks the chosen mode's flags, before anything connects.
func (f *flags) mode(cmd string, sigs <-chan os.Signal, m *agent.Metrics, logger log.Logger) (runner, error) {
	switch cmd {
	case f.register.cmd.FullCommand():
		r := f.register
		cfg, err := registerConfig(*r.path, *r.member, *r.data, r.sup, *r.watchPID, *r.pidFile,
			*r.healthHTTP, *r.healthTCP, *r.healthX, *r.healthEvery, *r.healthTO, *r.healthFails)
		if err != nil {
			return nil, err
		}
		cfg.Servers, cfg.Signals = *f.servers, sigs
		return func(ctx context.Context, s *agent.Session) (int, error) {
			return agent.RunRegister(ctx, s, cfg, m, logger)
		}, nil
	case f.lock.cmd.FullCommand():
		return f.lock.runner(*f.servers, sigs, m, logger, agent.RunLock)
	case f.election.cmd.FullCommand():
		return f.election.runner(*f.servers, sigs, m, logger, agent.RunElection)
	}
	w := f.worker
	member := *w.member
	if member == "" {
		member, _ = os.Hostname()
	}
	cfg := agent.WorkerConfig{Servers: *f.servers, Root: *w.root, Member: member, MaxTasks: *w.max, Concurrency: *w.conc,
		Args: *w.args, StopTimeout: *w.stop, Resync: *w.resync, Signals: sigs, TaskAllow: *w.allow}
	if *w.conc < 1 {
		return nil, errors.New("--concurrency must be at least 1")
	}
	// Validate before connecting; the session is filled in by the runner.
	if _, err := agent.NewWorker(nil, cfg, m, logger); err != nil {
		return nil, err
	}
	return func(ctx context.Context, s *agent.Session) (int, error) {
		w, err := agent.NewWorker(s, cfg, m, logger)
		if err != nil {
			return 2, err
		}
		return w.Run(ctx)
	}, nil
}

// session builds the session options from the flags.
func (f *flags) session(m *agent.Metrics, logger log.Logger) (agent.SessionOptions, error) {
	opts := agent.SessionOptions{
		Options: zksession.Options{Servers: agent.Servers(*f.servers), SessionTimeout: *f.sessionTimeout, Chroot: *f.chroot,
			Logger: log.With(logger, "component", "session")},
		ACLMode: *f.acl,
		Expired: m.SessionExpirations,
	}
	if *f.digestFile != "" {
		digest, err := zksession.ReadDigestFile(*f.digestFile)
		if err != nil {
			return opts, fmt.Errorf("--zookeeper.auth.digest-file: %w", err)
		}
		opts.Digest = digest
	}
	tc, err := f.tls.TLSConfig()
	if err != nil {
		return opts, err
	}
	opts.TLS = tc
	if err := opts.Validate(); err != nil {
		return opts, err
	}
	if _, err := zksession.ACL(opts.ACLMode, opts.Authenticated()); err != nil {
		return opts, fmt.Errorf("--zookeeper.acl=%s: %w", opts.ACLMode, err)
	}
	return opts, nil
}

func run() int {
	app := kingpin.New("zkwatch_agent", help)
	f := addFlags(app)
	app.Version(version.Print("zkwatch_agent"))
	app.UsageWriter(os.Stdout)
	app.HelpFlag.Short('h')
	cmd, err := app.Parse(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "zkwatch_agent:", err)
		return 2
	}
	logger, slogger := logging.New(f.log)
	level.Info(logger).Log("msg", "Starting zkwatch_agent", "mode", cmd, "version", version.Info())

	sigs := make(chan os.Signal, 4)
	// SIGTERM/SIGINT stop the command and the agent; the others are passed
	// through to the running command(s).
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2)

	reg := prometheus.NewRegistry()
	reg.MustRegister(versioncollector.NewCollector("zkwatch_agent"), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m, err := agent.NewModeMetrics(reg, cmd)
	var mode runner
	if err == nil {
		mode, err = f.mode(cmd, sigs, m, logger)
	}
	var opts agent.SessionOptions
	if err == nil {
		opts, err = f.session(m, logger)
	}
	if err != nil {
		level.Error(logger).Log("msg", "invalid arguments", "err", err)
		return 2
	}
	if stop, err := supervise.BecomeSubreaper(logger); err != nil {
		level.Warn(logger).Log("msg", "cannot become a child subreaper: orphans of the command go to init", "err", err)
	} else {
		defer stop()
	}

	srv := serve(reg, f.toolkit, *f.idleTimeout, logger, slogger)
	defer shutdown(srv, logger)
	s, err := agent.Dial(opts)
	if err != nil {
		level.Error(logger).Log("msg", "invalid arguments", "err", err)
		return 2
	}
	if ok, err := s.Verify(opts.SessionTimeout, f.parentDirs(cmd)...); err != nil {
		level.Error(logger).Log("msg", "refusing to run under an unprotected parent node", "err", err)
		s.Close()
		return 2
	} else if !ok {
		level.Warn(logger).Log("msg", "no ZooKeeper session yet: parent nodes are checked before the first node is created")
	}
	code, err := mode(context.Background(), s)
	s.Close()
	if err != nil {
		level.Error(logger).Log("msg", "zkwatch_agent failed", "err", err)
		if code == 0 {
			code = 1
		}
	}
	level.Info(logger).Log("msg", "exiting", "code", code)
	return code
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
	if member == "." || member == ".." || member == "" || strings.Contains(member, "/") {
		return cfg, fmt.Errorf("invalid --member %q", member)
	}
	cfg.Path = path + "/" + member
	if path == "/" {
		cfg.Path = "/" + member
	}
	if err := zksession.ValidatePath(cfg.Path); err != nil {
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

// serve starts the metrics and health endpoints on their own mux in the
// background. A failing web server is logged, not fatal: supervision
// matters more.
func serve(reg *prometheus.Registry, flags *web.FlagConfig, idle time.Duration, logger log.Logger, slogger *slog.Logger) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "OK") })
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name: "zkwatch agent", Description: "Supervised ZooKeeper registration, locks, elections and task workers", Version: version.Info(),
		Links: []web.LandingLinks{{Address: "/metrics", Text: "Metrics"}, {Address: "/-/healthy", Text: "Health"}},
	})
	if err == nil {
		mux.Handle("/", landing)
	}
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: idle}
	go func() {
		if err := web.ListenAndServe(server, flags, slogger); err != nil && !errors.Is(err, http.ErrServerClosed) {
			level.Error(logger).Log("msg", "web server failed", "err", err)
		}
	}()
	return server
}

// shutdown stops the web server once the mode has ended (after SIGTERM,
// the command's exit, or a fatal error).
func shutdown(srv *http.Server, logger log.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		level.Warn(logger).Log("msg", "web server shutdown", "err", err)
	}
}
