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

package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/zkwatch/zkwatch/agent/supervise"
	"github.com/zkwatch/zkwatch/internal/discovery"
	"github.com/zkwatch/zkwatch/internal/zksession"
)

// MemberData is the default content of a member node.
type MemberData struct {
	Host      string `json:"host"`
	IP        string `json:"ip"`
	PID       int    `json:"pid"`
	StartTime string `json:"start_time"`
}

// DefaultData renders MemberData for a process.
func DefaultData(servers string, pid int, started time.Time) []byte {
	host, _ := os.Hostname()
	b, _ := json.Marshal(MemberData{Host: host, IP: LocalIP(servers), PID: pid, StartTime: started.UTC().Format(time.RFC3339)})
	return b
}

// LocalIP is the local address this host uses to reach the first server
// (a UDP "connection" sends nothing), or the loopback address. For
// dns+NAME:PORT it is NAME's; a dnssrv+ entry gives the loopback address.
func LocalIP(servers string) string {
	first := strings.TrimSpace(strings.Split(servers, ",")[0])
	first = strings.TrimPrefix(first, discovery.PrefixA)
	if c, err := net.Dial("udp", first); err == nil {
		defer c.Close()
		if a, ok := c.LocalAddr().(*net.UDPAddr); ok {
			return a.IP.String()
		}
	}
	return "127.0.0.1"
}

// RegisterConfig configures register mode.
type RegisterConfig struct {
	Servers string // for the default data's ip
	Path    string // the member node, REGISTER_PATH/NAME
	Data    []byte // node content; nil means DefaultData

	// Exactly one of Supervise, WatchPID and PIDFile.
	Supervise *supervise.Config
	WatchPID  int
	PIDFile   string

	Health  *supervise.Health // nil: no checks, registered while running
	Signals <-chan os.Signal  // SIGTERM/SIGINT to forward or to stop on
}

// registrar turns process and health events into the wanted node state.
type registrar struct {
	cfg    RegisterConfig
	node   *Node
	logger log.Logger

	mu           sync.Mutex
	cancelHealth context.CancelFunc
	healthDone   chan struct{}
}

func (r *registrar) data(pid int, started time.Time) []byte {
	if r.cfg.Data != nil {
		return r.cfg.Data
	}
	return DefaultData(r.cfg.Servers, pid, started)
}

// up is called when the process runs: register now, or once healthy.
func (r *registrar) up(pid int, started time.Time) {
	data := r.data(pid, started)
	if r.cfg.Health == nil {
		r.node.Set(true, data)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	r.mu.Lock()
	r.cancelHealth, r.healthDone = cancel, done
	r.mu.Unlock()
	go func() {
		defer close(done)
		r.cfg.Health.Run(ctx, func(healthy bool, err error) {
			if ctx.Err() != nil {
				return
			}
			if healthy {
				level.Info(r.logger).Log("msg", "process healthy", "pid", pid)
			} else {
				level.Warn(r.logger).Log("msg", "process unhealthy", "pid", pid, "err", err)
			}
			r.node.Set(healthy, data)
		})
	}()
}

// down is called when the process exited: unregister at once.
func (r *registrar) down() {
	r.mu.Lock()
	cancel, done := r.cancelHealth, r.healthDone
	r.cancelHealth, r.healthDone = nil, nil
	r.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	r.node.Set(false, nil)
}

// RunRegister runs register mode until the process is gone for good or a
// signal arrives, keeps the member node in step with it, and returns the
// exit code the agent should end with.
func RunRegister(ctx context.Context, s *Session, cfg RegisterConfig, m *Metrics, logger log.Logger) (int, error) {
	if err := zksession.ValidatePath(cfg.Path); err != nil {
		return 2, err
	}
	if cfg.Data != nil && !json.Valid(cfg.Data) {
		return 2, errors.New("--data is not valid JSON")
	}
	modes := 0
	for _, set := range []bool{cfg.Supervise != nil, cfg.WatchPID != 0, cfg.PIDFile != ""} {
		if set {
			modes++
		}
	}
	if modes != 1 {
		return 2, errors.New("give exactly one of a command (after --), --watch-pid or --pid-file")
	}
	if logger == nil {
		logger = log.NewNopLogger()
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	r := &registrar{cfg: cfg, node: NewNode(s, s.Path(cfg.Path), m, logger), logger: logger}
	nodeCtx, stopNode := context.WithCancel(context.Background())
	nodeDone := make(chan struct{})
	go func() { defer close(nodeDone); r.node.Run(nodeCtx) }()
	defer func() {
		r.down()
		stopNode()
		select {
		case <-nodeDone:
		case <-time.After(s.Timeout()):
			level.Warn(logger).Log("msg", "could not delete the member node in time; closing the session removes it")
		}
	}()

	if cfg.Supervise == nil {
		return r.watch(ctx, s)
	}
	sc := *cfg.Supervise
	sc.Logger = logger
	onStart, onExit, onRestart := sc.OnStart, sc.OnExit, sc.OnRestart
	sc.OnStart = func(p *supervise.Process) {
		r.up(p.Pid, p.Started)
		if onStart != nil {
			onStart(p)
		}
	}
	sc.OnExit = func(code int) {
		r.down()
		if onExit != nil {
			onExit(code)
		}
	}
	sc.OnRestart = func() {
		m.ChildRestarts.Inc()
		if onRestart != nil {
			onRestart()
		}
	}
	return supervised(ctx, sc, cfg.Signals)
}

// watch follows a process the agent did not start.
func (r *registrar) watch(ctx context.Context, s *Session) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for {
			select {
			case sig := <-r.cfg.Signals:
				if !supervise.Stops(sig) {
					continue // not ours to pass on: we did not start the process
				}
				level.Info(r.logger).Log("msg", "stopping on signal", "signal", sig)
				cancel()
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	var watched supervise.Proc // --watch-pid: the process as it was at start
	if r.cfg.WatchPID != 0 {
		var err error
		if watched, err = supervise.Identify(r.cfg.WatchPID); err != nil {
			return 1, err
		}
	}
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		p, err := watched, error(nil)
		if r.cfg.PIDFile != "" {
			if p, err = supervise.PIDFileProcess(r.cfg.PIDFile); err != nil {
				level.Debug(r.logger).Log("msg", "no process yet", "err", err)
			}
		}
		if err == nil && p.Alive() {
			level.Info(r.logger).Log("msg", "watching process", "pid", p.Pid)
			r.up(p.Pid, p.Started())
			err := p.Wait(ctx)
			r.down()
			if err != nil {
				return 0, nil
			}
			level.Info(r.logger).Log("msg", "watched process exited", "pid", p.Pid)
		}
		if r.cfg.PIDFile == "" {
			return 0, nil
		}
		select {
		case <-ctx.Done():
			return 0, nil
		case <-t.C:
		}
	}
}
