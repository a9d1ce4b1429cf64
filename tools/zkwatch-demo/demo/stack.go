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

// Package demo starts the whole zkwatch stack on 127.0.0.1 with its state
// under one directory: a real ZooKeeper ensemble, zookeeper_exporter,
// Prometheus, Alertmanager, zkwatch_receiver and a process supervised by
// zkwatch_agent. It runs the demo (make demo) and the end-to-end test.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// Group is the process group the demo process registers in, and Member its
// name.
const (
	Group  = "/monitor/demo"
	Member = "app"
)

// LockJobPeriod is how long one run of the demo's singleton job (under
// zkwatch_agent lock) lasts: well below the mixin's default
// lockHeldThresholdSeconds (1h), and at most two restarts in any hour, below
// agentChildRestartsThreshold.
const LockJobPeriod = 35 * time.Minute

// LockPath is the lock the demo's singleton job holds.
const LockPath = "/demo/locks/singleton"

// LockAgentArgs are the arguments of the demo's zkwatch_agent in lock mode.
// Its singleton job ends after period and runs again: the lock is released
// and taken anew, as with a real periodic job, so a demo left running never
// holds it past ZooKeeperLockHeldTooLong's threshold.
func LockAgentArgs(binDir, servers, digestFile, listen, pidFile string, period time.Duration) []string {
	return []string{"--zookeeper.servers=" + servers, "--zookeeper.session-timeout=4s",
		"--zookeeper.auth.digest-file=" + digestFile, "--zookeeper.acl=world-read",
		"--web.listen-address=" + listen, "lock", "--path=" + LockPath, "--restart=always",
		"--", filepath.Join(binDir, "zkwatch-demo"), "app", "--pid-file", pidFile, "--run-for", period.String()}
}

// Options configure the stack.
type Options struct {
	Dir    string // state directory; everything the stack writes goes here
	BinDir string // zookeeper_exporter, zkwatch_receiver, zkwatch_agent, zkwatch-demo
	Repo   string // repository root (for mixin/)
	Log    io.Writer
	// ExporterViaProxy puts a black-holing proxy between the exporter and
	// ZooKeeper (end-to-end test of "exporter merely disconnected").
	ExporterViaProxy bool
}

// Stack is the running demo.
type Stack struct {
	opts     Options
	Ens      *zktest.Ensemble
	Proxy    *zktest.Proxy
	Sink     *Sink
	Exporter string // base URLs
	Prom     string
	AM       string
	Receiver string
	// Receiver2 is the second receiver replica: both claim their restarts
	// and messages in the demo ensemble, so exactly one of them acts.
	Receiver2 string
	Agent     string
	// LockAgent runs a second command under zkwatch_agent lock mode.
	LockAgent string
	// Pages are the Prometheus and Alertmanager pages the demo links.
	Pages Pages

	seed *zk.Conn
	// exporterServers is what the exporter is pointed at: the members, or
	// the proxy in front of them.
	exporterServers string
	control         *http.Server // member stop|start (control.go)
	mu              sync.Mutex
	procs           map[string]*proc
}

// proc is a process the stack spawned; done closes once it is reaped.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// Start brings the stack up and waits until Prometheus sees every target
// up, writing a progress line to Options.Log as each step starts and ends.
// On error, and when ctx ends first, everything started is stopped.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	s := &Stack{opts: opts, procs: map[string]*proc{}}
	defer func() {
		if err != nil {
			s.Stop() // s, not the nil result: stop what was started
		}
	}()
	for _, d := range []string{"logs", "zk", "prometheus", "alertmanager", "receiver", "exporter"} {
		if err := os.MkdirAll(filepath.Join(opts.Dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	ports, err := zktest.FreePorts(8)
	if err != nil {
		return nil, err
	}
	url := func(i int) string { return fmt.Sprintf("http://127.0.0.1:%d", ports[i]) }
	s.Exporter, s.Prom, s.AM, s.Receiver, s.Agent = url(0), url(1), url(2), url(3), url(4)
	amCluster := ports[5]
	s.LockAgent = url(6)
	s.Receiver2 = url(7)

	steps := append([]step{
		{"a 3-member ZooKeeper ensemble", s.startEnsemble},
		{"the demo's znodes (tasks, lock, election, queue, configuration)", s.seedEnsemble},
		{"the configuration files (mixin rules rendered with jsonnet)", func() error { return s.writeConfigs(amCluster) }},
	}, s.serviceSteps(ctx, amCluster)...)
	steps = append(steps,
		step{"Prometheus scraping every target and seeing " + Group + "/" + Member, func() error { return s.waitScraped(ctx) }},
		step{"the web pages of Prometheus and Alertmanager", func() error { return s.findPages(ctx) }})
	for i, st := range steps {
		if err := s.runStep(ctx, fmt.Sprintf("[%2d/%d]", i+1, len(steps)), st); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// step is one stage of Start.
type step struct {
	name string
	run  func() error
}

// runStep runs a step between a start and a done line, unless ctx ended.
func (s *Stack) runStep(ctx context.Context, tag string, st step) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted before %s: %w", st.name, err)
	}
	began := time.Now()
	s.logf("%s start  %s", tag, st.name)
	if err := st.run(); err != nil {
		s.logf("%s FAILED %s after %.1fs: %v", tag, st.name, time.Since(began).Seconds(), err)
		return err
	}
	s.logf("%s done   %s (%.1fs)", tag, st.name, time.Since(began).Seconds())
	return nil
}

// startEnsemble starts the ensemble and the control socket through which
// `zkwatch-demo member stop|start` reaches it.
func (s *Stack) startEnsemble() (err error) {
	if s.Ens, err = zktest.Launch(zktest.Options{Size: 3, Dir: s.path("zk")}); err != nil {
		return err
	}
	return s.serveControl()
}

// seedEnsemble seeds the ensemble, starts the sink and, when asked, puts
// the black-holing proxy between the ensemble and the exporter.
func (s *Stack) seedEnsemble() (err error) {
	if err := WriteDigest(s.opts.Dir); err != nil {
		return err
	}
	if s.seed, err = seed(s.Ens.Addrs()); err != nil {
		return err
	}
	if s.Sink, err = NewSink(); err != nil {
		return err
	}
	s.exporterServers = s.Ens.Servers()
	if s.opts.ExporterViaProxy {
		if s.Proxy, err = zktest.NewProxy(s.Ens.Addrs()...); err != nil {
			return err
		}
		s.exporterServers = strings.Join(s.Proxy.Addrs(), ",")
	}
	return nil
}

// serviceSteps start the exporter, the receivers, Alertmanager, Prometheus
// and the two agents, each step ending when its process answers.
func (s *Stack) serviceSteps(ctx context.Context, amCluster int) []step {
	bin := func(name string) string { return filepath.Join(s.opts.BinDir, name) }
	service := func(title, name, ready string, start func() error) step {
		return step{title, func() error {
			if err := start(); err != nil {
				return err
			}
			if err := waitHTTP(ctx, ready, 60*time.Second); err != nil {
				return fmt.Errorf("%s did not come up: %w (see %s)", name, err, s.path("logs/"+name+".log"))
			}
			return nil
		}}
	}
	steps := []step{service("zookeeper_exporter", "exporter", s.Exporter+"/-/healthy", func() error {
		return s.spawn("exporter", bin("zookeeper_exporter"), "--web.listen-address="+hostPort(s.Exporter),
			"--zookeeper.servers="+s.exporterServers, "--zookeeper.timeout=700ms", "--watch.group="+Group,
			"--watch.config.file="+s.path("exporter/watch.yml"), "--watch.session-timeout=4s", "--log.level=info")
	})}
	for i, u := range []string{s.Receiver, s.Receiver2} {
		name := []string{"receiver", "receiver-2"}[i]
		steps = append(steps, service(fmt.Sprintf("zkwatch_receiver replica %d", i+1), name, u+"/-/ready", func() error {
			return s.spawn(name, bin("zkwatch_receiver"), "--web.listen-address="+hostPort(u),
				"--config.file="+s.path("receiver/receiver.yml"), "--storage.path="+s.path("receiver/data-"+name),
				"--ha.zookeeper.servers="+s.Ens.Servers(), "--ha.replica-name="+name, "--ha.zookeeper.session-timeout=4s",
				"--ha.zookeeper.auth.digest-file="+DigestFile(s.opts.Dir))
		}))
	}
	return append(steps,
		service("Alertmanager", "alertmanager", s.AM+"/-/ready", func() error {
			return s.spawn("alertmanager", "prometheus-alertmanager", "--config.file="+s.path("alertmanager/alertmanager.yml"),
				"--storage.path="+s.path("alertmanager/data"), "--web.listen-address="+hostPort(s.AM),
				"--cluster.listen-address=", fmt.Sprintf("--cluster.advertise-address=127.0.0.1:%d", amCluster))
		}),
		service("Prometheus", "prometheus", s.Prom+"/-/ready", func() error {
			return s.spawn("prometheus", "prometheus", "--config.file="+s.path("prometheus/prometheus.yml"),
				"--storage.tsdb.path="+s.path("prometheus/data"), "--web.listen-address="+hostPort(s.Prom),
				"--web.enable-lifecycle")
		}),
		service("the demo process under zkwatch_agent, registered as "+Group+"/"+Member, "agent", s.Agent+"/-/healthy", func() error {
			return StartApp(s.opts.Dir, s.opts.BinDir, s.Ens.Servers(), hostPort(s.Agent))
		}),
		service("the singleton job under zkwatch_agent lock "+LockPath, "lock-agent", s.LockAgent+"/-/healthy", func() error {
			return s.spawn("lock-agent", bin("zkwatch_agent"),
				LockAgentArgs(s.opts.BinDir, s.Ens.Servers(), DigestFile(s.opts.Dir), hostPort(s.LockAgent), s.path("lock-child.pid"), LockJobPeriod)...)
		}))
}

// waitScraped waits until Prometheus scrapes every target and sees the
// demo member.
func (s *Stack) waitScraped(ctx context.Context) error {
	return zktest.WaitFor(60*time.Second, 200*time.Millisecond, func() error {
		if err := ctx.Err(); err != nil {
			return zktest.Permanent(err)
		}
		v, err := s.Query(ctx, `count(up == 1)`)
		if err != nil {
			return err
		}
		if len(v) == 0 || v[0].Value < 3 {
			return fmt.Errorf("targets up: %v", v)
		}
		v, err = s.Query(ctx, fmt.Sprintf(`zookeeper_group_member_up{group=%q,member=%q} == 1`, Group, Member))
		if err != nil || len(v) == 0 {
			return fmt.Errorf("demo member not seen yet (%v)", err)
		}
		return nil
	})
}

// Dir is the stack's state directory.
func (s *Stack) Dir() string { return s.opts.Dir }

func (s *Stack) path(p string) string { return filepath.Join(s.opts.Dir, p) }

func (s *Stack) logf(format string, args ...any) {
	if s.opts.Log != nil {
		fmt.Fprintf(s.opts.Log, "%s  %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
	}
}

// spawn starts a long-running process with its log under logs/.
func (s *Stack) spawn(name, bin string, args ...string) error {
	logf, err := os.OpenFile(s.path("logs/"+name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(p.done) }()
	s.mu.Lock()
	s.procs[name] = p
	s.mu.Unlock()
	return nil
}

// Stop stops everything the stack started, including demo processes the
// receiver restarted. It first marks the demo as stopping, so that a
// restart the receiver runs meanwhile starts nothing (RestartApp), and
// stops the demo process last, once no receiver can start it again. It is
// safe to call more than once.
func (s *Stack) Stop() {
	_ = os.WriteFile(s.path(stoppingFile), nil, 0o644)
	if s.control != nil {
		_ = s.control.Close()
		_ = os.Remove(s.path(controlSocket))
	}
	s.mu.Lock()
	for _, p := range s.procs {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	}
	procs := s.procs
	s.procs = map[string]*proc{}
	s.mu.Unlock()
	grace := time.After(5 * time.Second)
	for _, p := range procs {
		select {
		case <-p.done:
		case <-grace:
		}
		// The group too: whatever the process started and left behind.
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
	StopApp(s.opts.Dir)
	if s.Proxy != nil {
		s.Proxy.Close()
	}
	if s.Ens != nil {
		s.Ens.Stop()
	}
	if s.Sink != nil {
		s.Sink.Close()
	}
	if s.seed != nil {
		s.seed.Close()
		s.seed = nil
	}
}

func hostPort(url string) string { return strings.TrimPrefix(url, "http://") }

func waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	return zktest.WaitFor(timeout, 100*time.Millisecond, func() error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return zktest.Permanent(errors.Join(ctx.Err(), err))
			}
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
		}
		return nil
	})
}
