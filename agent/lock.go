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
	"errors"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/go-zookeeper/zk"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/agent/supervise"
	"github.com/zkwatch/zkwatch/internal/zksession"
)

// The part of Curator's node names before the sequence number: the full
// name is _c_<uuid>-lock-<10 digits> for an InterProcessMutex and
// _c_<uuid>-latch-<10 digits> for a LeaderLatch.
const (
	lockName  = "lock-"
	latchName = "latch-"
)

// recipe is what a Curator lock and a Curator leader latch differ in here;
// contending, holding and fencing are the same.
type recipe struct {
	marker string // lockName or latchName
	label  string // the path's label in logs and in the belief metric
	what   string // what is held, in log messages
	// belief returns the gauges of the recipe's mode: 1 while held, and
	// the {label, session} series of the belief.
	belief func(*Metrics) (prometheus.Gauge, *prometheus.GaugeVec)
}

var (
	lockRecipe = recipe{marker: lockName, label: "lock", what: "lock",
		belief: func(m *Metrics) (prometheus.Gauge, *prometheus.GaugeVec) { return m.LockHeld, m.LockHeldInfo }}
	latchRecipe = recipe{marker: latchName, label: "election", what: "leadership",
		belief: func(m *Metrics) (prometheus.Gauge, *prometheus.GaugeVec) {
			return m.ElectionLeader, m.ElectionLeaderInfo
		}}
)

// Mutex is a lock in Curator's InterProcessMutex layout: every contender
// creates an ephemeral sequential child of the lock path, the lowest
// sequence holds the lock, and each other contender watches only its
// predecessor, so a release wakes one waiter (no herd effect). A Curator
// LeaderLatch is the same with another node name: the holder leads.
type Mutex struct {
	s      *Session
	dir    string
	data   []byte
	r      recipe
	logger log.Logger

	mu      sync.Mutex
	node    string // full path of our contender node
	session int64  // the session that created node
	stop    chan struct{}
}

// NewMutex prepares a lock at dir; data goes into the contender node
// (Curator's default is the client's IP address).
func NewMutex(s *Session, dir string, data []byte, logger log.Logger) *Mutex {
	return newContender(s, dir, data, lockRecipe, logger)
}

func newContender(s *Session, dir string, data []byte, r recipe, logger log.Logger) *Mutex {
	if logger == nil {
		logger = log.NewNopLogger()
	}
	return &Mutex{s: s, dir: dir, data: data, r: r, logger: log.With(logger, r.label, dir)}
}

// sequence returns the sequence suffix Curator sorts contenders by.
func sequence(name, marker string) string {
	if i := strings.LastIndex(name, marker); i >= 0 {
		return name[i+len(marker):]
	}
	return name
}

// sortedContenders lists the children named with marker in Curator's
// order.
func sortedContenders(children []string, marker string) []string {
	out := make([]string, 0, len(children))
	for _, c := range children {
		if strings.Contains(c, marker) {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return sequence(out[i], marker) < sequence(out[j], marker) })
	return out
}

// create makes our contender node, finding it again if the answer to the
// create was lost in a disconnection (the reason for the _c_<uuid> prefix).
func (l *Mutex) create(id string) (string, error) {
	prefix := "_c_" + id + "-" + l.r.marker
	p, err := l.s.create(l.dir+"/"+prefix, l.data, zk.FlagEphemeral|zk.FlagSequence)
	if errors.Is(err, zk.ErrConnectionClosed) {
		children, _, cerr := l.s.Conn().Children(l.dir)
		if cerr != nil {
			return "", err
		}
		for _, c := range children {
			if strings.HasPrefix(c, prefix) {
				return l.dir + "/" + c, nil
			}
		}
	}
	return p, err
}

// Acquire blocks until the lock is held (the election led) or ctx ends.
// The returned channel is closed when the lock is lost (contender node
// gone, or the session fenced, see Session.Fenced).
func (l *Mutex) Acquire(ctx context.Context) (<-chan struct{}, error) {
	states, unsub := l.s.Subscribe()
	defer unsub()
	id := uuid.NewString()
	node := ""
	var nodeSession int64
	fail := func(err error) (<-chan struct{}, error) {
		if node != "" {
			l.deleteNode(node)
		}
		return nil, err
	}
	for {
		if ctx.Err() != nil {
			return fail(ctx.Err())
		}
		live, sid := l.s.Live()
		if !live {
			select {
			case <-ctx.Done():
			case <-states:
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		if node != "" && nodeSession != sid {
			node = "" // the session changed: its ephemeral is gone
		}
		if node == "" {
			p, err := l.create(id)
			if err != nil {
				level.Debug(l.logger).Log("msg", "create contender failed", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(100 * time.Millisecond):
				}
				continue
			}
			node, nodeSession = p, sid
		}
		children, _, err := l.s.Conn().Children(l.dir)
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		sorted := sortedContenders(children, l.r.marker)
		me := node[strings.LastIndexByte(node, '/')+1:]
		idx := sort.Search(len(sorted), func(i int) bool { return sequence(sorted[i], l.r.marker) >= sequence(me, l.r.marker) })
		if idx >= len(sorted) || sorted[idx] != me {
			node = "" // deleted behind our back
			continue
		}
		if idx == 0 {
			l.mu.Lock()
			l.node, l.session, l.stop = node, nodeSession, make(chan struct{})
			stop := l.stop
			l.mu.Unlock()
			level.Info(l.logger).Log("msg", l.r.what+" acquired", "node", me)
			lost := make(chan struct{})
			go l.monitor(node, stop, lost)
			return lost, nil
		}
		pred := l.dir + "/" + sorted[idx-1]
		ok, _, watch, err := l.s.Conn().ExistsW(pred)
		if err != nil || !ok {
			continue
		}
		level.Debug(l.logger).Log("msg", "waiting for predecessor", "predecessor", pred)
		select {
		case <-ctx.Done():
		case <-watch:
		case <-states:
		}
	}
}

// monitor closes lost when the held lock can no longer be trusted.
func (l *Mutex) monitor(node string, stop, lost chan struct{}) {
	var once sync.Once
	lose := func(msg string, kv ...interface{}) {
		once.Do(func() {
			if msg != "" {
				level.Warn(l.logger).Log(append([]interface{}{"msg", msg}, kv...)...)
			}
			close(lost)
		})
	}
	defer lose("")
	done := make(chan struct{})
	defer close(done)
	fenced := l.s.WhenFenced(done)
	go func() {
		// Not only in the loop below, which may wait in a call on a dead
		// connection.
		select {
		case <-fenced:
			lose(l.r.what + " lost: ZooKeeper session not trustworthy")
		case <-done:
		}
	}()
	states, unsub := l.s.Subscribe()
	defer unsub()
	var watch <-chan zk.Event
	for {
		var retry <-chan time.Time
		if l.s.State().Live() && watch == nil {
			ok, _, w, err := l.s.Conn().ExistsW(node)
			switch {
			case err == nil && !ok:
				lose(l.r.what+" lost: contender node deleted", "node", node)
				return
			case err == nil:
				watch = w
			default:
				retry = time.After(l.s.checkEvery())
			}
		}
		select {
		case <-retry:
		case <-stop:
			return
		case <-fenced:
			lose(l.r.what + " lost: ZooKeeper session not trustworthy")
			return
		case <-watch:
			watch = nil
		case <-states:
			watch = nil
		}
	}
}

// Session returns the session that owns the held lock's node (0 when not
// held).
func (l *Mutex) Session() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.session
}

// Release gives the lock up (deleting the contender node).
func (l *Mutex) Release() {
	l.mu.Lock()
	node, stop := l.node, l.stop
	l.node, l.session, l.stop = "", 0, nil
	l.mu.Unlock()
	if stop != nil {
		close(stop)
	}
	if node != "" {
		l.deleteNode(node)
		level.Info(l.logger).Log("msg", l.r.what+" released")
	}
}

// deleteNode deletes a contender node, giving up after a session timeout
// (the session's end removes it anyway).
func (l *Mutex) deleteNode(node string) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := l.s.Conn().Delete(node, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
			level.Warn(l.logger).Log("msg", "could not delete contender node", "node", node, "err", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(l.s.Timeout()):
	}
}

// LockConfig configures lock mode.
type LockConfig struct {
	Path      string
	Data      []byte // contender node data; main passes the local IP, as Curator does
	Supervise supervise.Config
	Signals   <-chan os.Signal
}

// ElectionConfig configures election mode: Path is the election's.
type ElectionConfig = LockConfig

// RunLock runs the command only while holding the lock at cfg.Path, and
// returns the exit code the agent should end with.
func RunLock(ctx context.Context, s *Session, cfg LockConfig, m *Metrics, logger log.Logger) (int, error) {
	return runRecipe(ctx, s, cfg, lockRecipe, m, logger)
}

// RunElection runs the command only while leading the election at
// cfg.Path as a Curator LeaderLatch participant (Curator processes and
// agents can contend in one election), fenced as in lock mode, and
// returns the exit code the agent should end with.
func RunElection(ctx context.Context, s *Session, cfg ElectionConfig, m *Metrics, logger log.Logger) (int, error) {
	return runRecipe(ctx, s, cfg, latchRecipe, m, logger)
}

// runRecipe runs the command only while holding r at cfg.Path.
func runRecipe(ctx context.Context, s *Session, cfg LockConfig, r recipe, m *Metrics, logger log.Logger) (int, error) {
	if err := zksession.ValidatePath(cfg.Path); err != nil {
		return 2, err
	}
	if logger == nil {
		logger = log.NewNopLogger()
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	held, info := r.belief(m)
	mu := newContender(s, s.Path(cfg.Path), cfg.Data, r, logger)
	sc := cfg.Supervise
	sc.Logger = logger
	sc.LostGrace = s.StopGrace
	sc.OnRestart = m.ChildRestarts.Inc
	sc.Gate = func(ctx context.Context) (<-chan struct{}, func(), error) {
		level.Info(logger).Log("msg", "waiting for "+r.what, "path", cfg.Path)
		lost, err := mu.Acquire(ctx)
		if err != nil {
			return nil, nil, err
		}
		// The belief lasts until the command has stopped (release), not
		// only until the lock is lost: the command may act until then.
		info.WithLabelValues(cfg.Path, zksession.SessionHex(mu.Session())).Set(1)
		held.Set(1)
		return lost, func() {
			held.Set(0)
			info.Reset()
			mu.Release()
		}, nil
	}
	return supervised(ctx, sc, cfg.Signals)
}

// supervised runs the command of sc with the agent's signals forwarded to
// it, and returns its exit code.
func supervised(ctx context.Context, sc supervise.Config, sigs <-chan os.Signal) (int, error) {
	sup, err := supervise.New(sc)
	if err != nil {
		return 2, err
	}
	fwdDone := make(chan struct{})
	defer close(fwdDone)
	go forward(sigs, sup, fwdDone)
	return sup.Run(ctx)
}

func forward(sigs <-chan os.Signal, sup *supervise.Supervisor, done <-chan struct{}) {
	for {
		select {
		case sig := <-sigs:
			sup.Signal(sig)
		case <-done:
			return
		}
	}
}
