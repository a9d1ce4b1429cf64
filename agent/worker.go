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
	"fmt"
	"hash/fnv"
	"os"
	"sort"
	"strings"
	"syscall"
	"text/template"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/agent/supervise"
)

// Task states written into task data.
const (
	TaskClaimed = "claimed"
	TaskRunning = "running"
	TaskDone    = "done"
)

// Task is the parsed data of ROOT/Tasks/<task>.
type Task struct {
	Worker string // "" when unclaimed
	State  string // claimed, running or done; "" when unclaimed
	fields map[string]any
}

// ParseTask reads task data: empty means unclaimed; a JSON object carries
// "worker" and "state" (an empty worker is unclaimed); any other text is
// read as the name of the worker that claimed it.
func ParseTask(data []byte) Task {
	text := strings.TrimSpace(string(data))
	if text == "" {
		return Task{}
	}
	var fields map[string]any
	if text[0] == '{' && json.Unmarshal([]byte(text), &fields) == nil {
		t := Task{fields: fields}
		t.Worker, _ = fields["worker"].(string)
		t.State, _ = fields["state"].(string)
		if t.Worker == "" {
			t.State = ""
		} else if t.State == "" {
			t.State = TaskClaimed
		}
		return t
	}
	return Task{Worker: text, State: TaskClaimed}
}

// Done reports whether the task is finished.
func (t Task) Done() bool { return t.State == TaskDone }

// encode writes the task with worker, state and extra fields set, keeping
// any other fields it had. An unclaimed task without other fields is empty.
func (t Task) encode(worker, state string, extra map[string]any) []byte {
	out := map[string]any{}
	for k, v := range t.fields {
		out[k] = v
	}
	for _, k := range []string{"claimed_at", "started_at", "finished_at", "exit_code"} {
		if _, ok := extra[k]; !ok && state != TaskDone {
			delete(out, k)
		}
	}
	for k, v := range extra {
		out[k] = v
	}
	if worker == "" {
		delete(out, "worker")
		delete(out, "state")
		if len(out) == 0 {
			return nil
		}
		out["worker"] = ""
	} else {
		out["worker"], out["state"] = worker, state
	}
	b, _ := json.Marshal(out)
	return b
}

// WorkerConfig configures worker mode.
type WorkerConfig struct {
	Servers     string // for the ip in the worker node's data
	Root        string
	Member      string
	MaxTasks    int      // tasks held at once (claimed or running); 0 = fair share only
	Concurrency int      // tasks run at once (default 1)
	Args        []string // command; each argument is a text/template with .Task, .Path, .Worker
	StopTimeout time.Duration
	Resync      time.Duration // full rescan period (default 1s)
	Signals     <-chan os.Signal
}

type heldTask struct {
	version  int32
	task     Task
	proc     *supervise.Process
	finished bool // exited; done not yet written
	code     int
}

type taskResult struct {
	name string
	proc *supervise.Process
}

// Worker claims and runs tasks.
type Worker struct {
	s      *Session
	cfg    WorkerConfig
	m      *Metrics
	logger log.Logger
	tmpl   []*template.Template
	node   *Node

	held    map[string]*heldTask
	results chan taskResult
	done    int
}

// NewWorker checks cfg.
func NewWorker(s *Session, cfg WorkerConfig, m *Metrics, logger log.Logger) (*Worker, error) {
	if err := ValidatePath(cfg.Root); err != nil {
		return nil, err
	}
	if cfg.Member == "" || strings.ContainsAny(cfg.Member, "/") || cfg.Member == "." || cfg.Member == ".." {
		return nil, fmt.Errorf("invalid worker name %q", cfg.Member)
	}
	if len(cfg.Args) == 0 {
		return nil, errors.New("no command given: put it after --")
	}
	if cfg.MaxTasks < 0 || cfg.Concurrency < 0 {
		return nil, errors.New("--max-tasks and --concurrency must not be negative")
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 1
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 10 * time.Second
	}
	if cfg.Resync <= 0 {
		cfg.Resync = time.Second
	}
	if logger == nil {
		logger = log.NewNopLogger()
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	w := &Worker{s: s, cfg: cfg, m: m, logger: log.With(logger, "worker", cfg.Member),
		held: map[string]*heldTask{}, results: make(chan taskResult, 16)}
	for i, a := range cfg.Args {
		t, err := template.New(fmt.Sprint("arg", i)).Option("missingkey=error").Parse(a)
		if err != nil {
			return nil, fmt.Errorf("command argument %q: %w", a, err)
		}
		w.tmpl = append(w.tmpl, t)
	}
	if _, err := w.args("task", "/t"); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Worker) root(sub string) string {
	if w.cfg.Root == "/" {
		return "/" + sub
	}
	return w.cfg.Root + "/" + sub
}

func (w *Worker) args(task, path string) ([]string, error) {
	data := struct{ Task, Path, Worker string }{task, path, w.cfg.Member}
	out := make([]string, len(w.tmpl))
	for i, t := range w.tmpl {
		var b strings.Builder
		if err := t.Execute(&b, data); err != nil {
			return nil, fmt.Errorf("command template: %w", err)
		}
		out[i] = b.String()
	}
	return out, nil
}

// Run works until a signal arrives or ctx ends; then it stops running
// tasks, releases what it holds and returns.
func (w *Worker) Run(ctx context.Context) (int, error) {
	w.node = NewNode(w.s, w.root("Workers/"+w.cfg.Member), w.m, w.logger)
	w.node.Set(true, DefaultData(w.cfg.Servers, os.Getpid(), time.Now()))
	nodeCtx, stopNode := context.WithCancel(context.Background())
	nodeDone := make(chan struct{})
	go func() { defer close(nodeDone); w.node.Run(nodeCtx) }()
	defer func() {
		stopNode()
		select {
		case <-nodeDone:
		case <-time.After(w.s.Timeout()):
		}
	}()
	states, unsub := w.s.Subscribe()
	defer unsub()
	tick := time.NewTicker(min(w.cfg.Resync, max(w.s.Timeout()/16, 10*time.Millisecond)))
	defer tick.Stop()
	var taskWatch, workerWatch <-chan zk.Event
	lastSync := time.Time{}
	dirty := true
	for {
		if w.s.Fenced() {
			w.stopAll(syscall.SIGTERM, "ZooKeeper session not trustworthy")
		}
		reg, regChanged := w.node.Registered()
		if st, _, _ := w.s.State(); st == StateConnected && reg && (dirty || time.Since(lastSync) >= w.cfg.Resync) {
			var err error
			taskWatch, workerWatch, err = w.sync(taskWatch, workerWatch)
			if err != nil {
				level.Debug(w.logger).Log("msg", "sync failed", "err", err)
			} else {
				dirty, lastSync = false, time.Now()
			}
		}
		w.updateMetrics()
		select {
		case <-ctx.Done():
			return w.shutdown(syscall.SIGTERM), nil
		case sig := <-w.cfg.Signals:
			if !supervise.Stops(sig) {
				for _, h := range w.held {
					if h.proc != nil {
						_ = h.proc.Signal(sig)
					}
				}
				continue
			}
			level.Info(w.logger).Log("msg", "stopping", "signal", sig)
			return w.shutdown(sig), nil
		case r := <-w.results:
			// Results of commands stopped by stopAll are ignored.
			if h := w.held[r.name]; h != nil && h.proc == r.proc {
				h.proc, h.finished, h.code = nil, true, r.proc.ExitCode()
			}
			dirty = true
		case <-taskWatch:
			taskWatch, dirty = nil, true
		case <-workerWatch:
			workerWatch, dirty = nil, true
		case <-states:
			taskWatch, workerWatch, dirty = nil, nil, true
		case <-regChanged:
			dirty = true
		case <-tick.C:
		}
	}
}

// sync reads every task, then the live workers, and claims, releases,
// starts and completes tasks. Tasks are read before workers: a worker
// registers before it claims, so any claim seen has a visible worker node
// unless that worker is really gone.
func (w *Worker) sync(taskWatch, workerWatch <-chan zk.Event) (<-chan zk.Event, <-chan zk.Event, error) {
	conn := w.s.Conn
	tasksPath, workersPath := w.root("Tasks"), w.root("Workers")
	names, tw, err := childrenW(conn, tasksPath, taskWatch)
	if errors.Is(err, zk.ErrNoNode) {
		err = CreateParents(conn, tasksPath+"/x")
		return nil, workerWatch, err
	}
	if err != nil {
		return nil, workerWatch, err
	}
	type seen struct {
		task    Task
		version int32
	}
	tasks := map[string]seen{}
	for _, n := range names {
		data, st, err := conn.Get(tasksPath + "/" + n)
		if errors.Is(err, zk.ErrNoNode) {
			continue
		}
		if err != nil {
			return tw, workerWatch, err
		}
		tasks[n] = seen{ParseTask(data), st.Version}
	}
	workers, ww, err := childrenW(conn, workersPath, workerWatch)
	if err != nil {
		return tw, nil, err
	}
	live := map[string]bool{}
	for _, n := range workers {
		live[n] = true
	}

	// Reconcile what we hold with what ZooKeeper says is ours.
	pending := 0
	for name, t := range tasks {
		if !t.task.Done() {
			pending++
		}
		if t.task.Worker == w.cfg.Member && !t.task.Done() {
			h := w.held[name]
			if h == nil {
				h = &heldTask{}
				w.held[name] = h
			}
			h.version, h.task = t.version, t.task
		}
	}
	for name, h := range w.held {
		t, ok := tasks[name]
		if ok && t.task.Worker == w.cfg.Member && !t.task.Done() {
			continue
		}
		if h.proc != nil {
			level.Error(w.logger).Log("msg", "task no longer ours while running; stopping it", "task", name)
			h.proc.Stop(syscall.SIGTERM, w.cfg.StopTimeout)
		}
		delete(w.held, name)
	}

	// Write results of finished tasks.
	for name, h := range w.held {
		if !h.finished {
			continue
		}
		st, err := conn.Set(tasksPath+"/"+name, h.task.encode(w.cfg.Member, TaskDone, map[string]any{
			"finished_at": time.Now().UTC().Format(time.RFC3339Nano), "exit_code": h.code}), h.version)
		if err != nil {
			level.Warn(w.logger).Log("msg", "could not mark task done", "task", name, "err", err)
			continue // re-read and retry on the next sync
		}
		_ = st
		delete(w.held, name)
		w.done++
		pending--
		level.Info(w.logger).Log("msg", "task done", "task", name, "exit_code", h.code)
	}

	target := (pending + max(len(workers), 1) - 1) / max(len(workers), 1)
	if w.cfg.MaxTasks > 0 {
		target = min(target, w.cfg.MaxTasks)
	}

	// Release unstarted tasks above the fair share (a worker joined).
	if excess := len(w.held) - target; excess > 0 {
		for _, name := range w.unstarted() {
			if excess == 0 {
				break
			}
			h := w.held[name]
			if _, err := conn.Set(tasksPath+"/"+name, h.task.encode("", "", nil), h.version); err != nil {
				continue
			}
			level.Info(w.logger).Log("msg", "released task to rebalance", "task", name, "fair_share", target)
			delete(w.held, name)
			excess--
		}
	}

	// Claim unclaimed and orphaned tasks up to the fair share, preferring a
	// per-worker order so that workers rarely race for the same task.
	var candidates []string
	for name, t := range tasks {
		if t.task.Done() || w.held[name] != nil {
			continue
		}
		if t.task.Worker == "" || !live[t.task.Worker] {
			candidates = append(candidates, name)
		}
	}
	sort.Slice(candidates, func(i, j int) bool { return w.rank(candidates[i]) < w.rank(candidates[j]) })
	for _, name := range candidates {
		if len(w.held) >= target || w.s.Fenced() {
			break
		}
		t := tasks[name]
		st, err := conn.Set(tasksPath+"/"+name, t.task.encode(w.cfg.Member, TaskClaimed, map[string]any{
			"claimed_at": time.Now().UTC().Format(time.RFC3339Nano)}), t.version)
		if errors.Is(err, zk.ErrBadVersion) {
			w.m.Conflicts.Inc()
			continue
		}
		if err != nil {
			return tw, ww, err
		}
		if t.task.Worker != "" {
			level.Info(w.logger).Log("msg", "took over orphaned task", "task", name, "from", t.task.Worker)
		}
		w.held[name] = &heldTask{version: st.Version, task: ParseTask(t.task.encode(w.cfg.Member, TaskClaimed, nil))}
	}

	// Start claimed tasks up to the concurrency.
	running := 0
	for _, h := range w.held {
		if h.proc != nil {
			running++
		}
	}
	for _, name := range w.unstarted() {
		if running >= w.cfg.Concurrency || w.s.Fenced() {
			break
		}
		if err := w.start(name); err != nil {
			return tw, ww, err
		}
		running++
	}
	return tw, ww, nil
}

// childrenW lists children, arming a new watch only when none is pending.
func childrenW(conn *zk.Conn, path string, watch <-chan zk.Event) ([]string, <-chan zk.Event, error) {
	if watch != nil {
		c, _, err := conn.Children(path)
		return c, watch, err
	}
	c, _, w, err := conn.ChildrenW(path)
	return c, w, err
}

func (w *Worker) rank(task string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(w.cfg.Member + "\x00" + task))
	return h.Sum64()
}

// unstarted lists held tasks not running and not finished, by name.
func (w *Worker) unstarted() []string {
	var out []string
	for name, h := range w.held {
		if h.proc == nil && !h.finished {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// start marks a task running (version-checked) and starts its command.
func (w *Worker) start(name string) error {
	h := w.held[name]
	path := w.root("Tasks/" + name)
	st, err := w.s.Conn.Set(path, h.task.encode(w.cfg.Member, TaskRunning, map[string]any{
		"started_at": time.Now().UTC().Format(time.RFC3339Nano)}), h.version)
	if errors.Is(err, zk.ErrBadVersion) {
		w.m.Conflicts.Inc()
		delete(w.held, name) // changed under us: re-read on the next sync
		return nil
	}
	if err != nil {
		return err
	}
	h.version = st.Version
	args, err := w.args(name, path)
	var p *supervise.Process
	if err == nil {
		p, err = supervise.Start(args, []string{"ZKWATCH_TASK=" + name, "ZKWATCH_TASK_PATH=" + path, "ZKWATCH_WORKER=" + w.cfg.Member}, os.Stdout, os.Stderr)
	}
	if err != nil {
		level.Error(w.logger).Log("msg", "could not start task command", "task", name, "err", err)
		h.finished, h.code = true, 127
		return nil
	}
	level.Info(w.logger).Log("msg", "task started", "task", name, "pid", p.Pid)
	h.proc = p
	go func() {
		<-p.Done()
		w.results <- taskResult{name, p}
	}()
	return nil
}

// stopAll stops every running task command; they stay claimed and run
// again once the session is trustworthy, unless another worker took them.
func (w *Worker) stopAll(sig os.Signal, why string) {
	for name, h := range w.held {
		if h.proc == nil {
			continue
		}
		level.Warn(w.logger).Log("msg", "stopping task", "task", name, "reason", why)
		h.proc.Stop(sig, w.cfg.StopTimeout)
		h.proc = nil
	}
}

// shutdown stops tasks and hands every unfinished task back.
func (w *Worker) shutdown(sig os.Signal) int {
	w.stopAll(sig, "agent stopping")
	if st, _, _ := w.s.State(); st == StateConnected {
		for name, h := range w.held {
			if h.finished {
				_, _ = w.s.Conn.Set(w.root("Tasks/"+name), h.task.encode(w.cfg.Member, TaskDone, map[string]any{
					"finished_at": time.Now().UTC().Format(time.RFC3339Nano), "exit_code": h.code}), h.version)
				continue
			}
			_, _ = w.s.Conn.Set(w.root("Tasks/"+name), h.task.encode("", "", nil), h.version)
		}
	}
	w.held = map[string]*heldTask{}
	w.updateMetrics()
	return 0
}

func (w *Worker) updateMetrics() {
	claimed, running := 0, 0
	for _, h := range w.held {
		if h.proc != nil {
			running++
		} else if !h.finished {
			claimed++
		}
	}
	w.m.Tasks.WithLabelValues(TaskClaimed).Set(float64(claimed))
	w.m.Tasks.WithLabelValues(TaskRunning).Set(float64(running))
	w.m.Tasks.WithLabelValues(TaskDone).Set(float64(w.done))
}
