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
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"text/template"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/agent/supervise"
	"github.com/zkwatch/zkwatch/internal/zksession"
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
	// TaskAllow is the regular expression (anchored) every task name must
	// match before it is claimed and put in a command's arguments
	// (default DefaultTaskAllow).
	TaskAllow string
}

// DefaultTaskAllow accepts the task names safe to pass as an argument: no
// leading '-' (an option to the command), no shell metacharacters, no
// white space. It is restart labels' allow regex without the slash.
const DefaultTaskAllow = `[A-Za-z0-9_:][A-Za-z0-9._:-]*`

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
	allow  *regexp.Regexp
	// refused holds the tasks refused, logged once each; openACL the ACL
	// version (Aversion) of tasks refused for an open ACL, left out of
	// the plan until their ACL changes.
	refused map[string]bool
	openACL map[string]int32

	held    map[string]*heldTask
	results chan taskResult
	done    int

	// procs are the running task commands, shared with the fencing
	// goroutine; true once it stopped them.
	procMu sync.Mutex
	procs  map[*supervise.Process]bool
}

// NewWorker checks cfg.
func NewWorker(s *Session, cfg WorkerConfig, m *Metrics, logger log.Logger) (*Worker, error) {
	if err := zksession.ValidatePath(cfg.Root); err != nil {
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
	if cfg.TaskAllow == "" {
		cfg.TaskAllow = DefaultTaskAllow
	}
	allow, err := regexp.Compile("^(?:" + cfg.TaskAllow + ")$")
	if err != nil {
		return nil, fmt.Errorf("task allow regex: %w", err)
	}
	w := &Worker{s: s, cfg: cfg, m: m, logger: log.With(logger, "worker", cfg.Member), allow: allow, refused: map[string]bool{}, openACL: map[string]int32{},
		held: map[string]*heldTask{}, results: make(chan taskResult, 16), procs: map[*supervise.Process]bool{}}
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

// root is the server path of sub under the pool's root (and the chroot).
func (w *Worker) root(sub string) string { return w.s.Path(w.configured(sub)) }

// configured is the path of sub under the root as configured.
func (w *Worker) configured(sub string) string {
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
	fenceDone := make(chan struct{})
	defer close(fenceDone)
	go w.fence(fenceDone)
	states, unsub := w.s.Subscribe()
	defer unsub()
	tick := time.NewTimer(0)
	defer tick.Stop()
	var taskWatch, workerWatch <-chan zk.Event
	lastSync := time.Time{}
	dirty := true
	for {
		if w.s.Fenced() {
			w.stopAll(syscall.SIGTERM, w.s.StopGrace(w.cfg.StopTimeout), "ZooKeeper session not trustworthy")
		}
		reg, regChanged := w.node.Registered()
		if w.s.State().Live() && reg && (dirty || time.Since(lastSync) >= w.cfg.Resync) {
			var err error
			taskWatch, workerWatch, err = w.sync(taskWatch, workerWatch)
			if err != nil {
				level.Debug(w.logger).Log("msg", "sync failed", "err", err)
			} else {
				dirty, lastSync = false, time.Now()
			}
		}
		w.updateMetrics()
		// The session timeout is known once negotiated: check fencing often
		// enough to stop tasks in time.
		tick.Reset(min(w.cfg.Resync, max(w.s.Timeout()/16, 10*time.Millisecond)))
		select {
		case <-ctx.Done():
			return w.shutdown(syscall.SIGTERM), nil
		case sig := <-w.cfg.Signals:
			if supervise.Stops(sig) {
				level.Info(w.logger).Log("msg", "stopping", "signal", sig)
				return w.shutdown(sig), nil
			}
			w.signalAll(sig)
		case r := <-w.results:
			w.result(r)
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

// result books a task command's exit. Results of commands stopped by
// stopAll or fence are ignored: the task stays claimed and runs again.
func (w *Worker) result(r taskResult) {
	fenced := w.untrack(r.proc)
	if h := w.held[r.name]; h != nil && h.proc == r.proc {
		h.proc = nil
		if !fenced {
			h.finished, h.code = true, r.proc.ExitCode()
		}
	}
}

// fence stops every task command when the session is fenced, apart from
// the Run loop, which may wait in a call on a dead connection.
func (w *Worker) fence(done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-w.s.WhenFenced(done):
		}
		w.procMu.Lock()
		for p, stopped := range w.procs {
			if !stopped {
				w.procs[p] = true
				go p.Stop(syscall.SIGTERM, w.s.StopGrace(w.cfg.StopTimeout))
			}
		}
		w.procMu.Unlock()
		// Re-arm once the session is trustworthy again.
		for w.s.Fenced() {
			select {
			case <-done:
				return
			case <-time.After(w.s.checkEvery()):
			}
		}
	}
}

func (w *Worker) track(p *supervise.Process) {
	w.procMu.Lock()
	w.procs[p] = false
	w.procMu.Unlock()
}

// untrack forgets p and reports whether fence stopped it.
func (w *Worker) untrack(p *supervise.Process) bool {
	w.procMu.Lock()
	defer w.procMu.Unlock()
	stopped := w.procs[p]
	delete(w.procs, p)
	return stopped
}

// signalAll passes a signal that does not stop the agent to every task.
func (w *Worker) signalAll(sig os.Signal) {
	for _, h := range w.held {
		if h.proc != nil {
			_ = h.proc.Signal(sig)
		}
	}
}

// seenTask is a task as one sync read it.
type seenTask struct {
	task    Task
	version int32
}

// snapshot is what one sync read from ZooKeeper.
type snapshot struct {
	tasks   map[string]seenTask
	workers map[string]bool // live workers
}

// heldState is what the planner needs to know of a held task.
type heldState struct {
	running, finished bool
}

// plan is what one sync does, in order: adopt the tasks ZooKeeper says are
// ours, drop held tasks that are no longer ours (stopping their commands),
// mark finished ones done, release unstarted ones above the fair share,
// claim up to it, and start up to the concurrency.
type plan struct {
	adopt    []string
	drop     []string
	complete []string
	release  []string
	claim    []string
	start    []string
	share    int // the fair share: pending tasks / live workers, rounded up, capped by --max-tasks
}

// planSync decides a sync from what was read and what is held. It is pure:
// the claims may still fail (another worker was faster), in which case
// their start is skipped.
func planSync(cfg WorkerConfig, snap snapshot, held map[string]heldState, rank func(string) uint64) plan {
	var p plan
	pending := 0
	ours := map[string]heldState{}
	for name, t := range snap.tasks {
		if t.task.Done() {
			continue
		}
		pending++
		if t.task.Worker == cfg.Member {
			p.adopt = append(p.adopt, name)
			ours[name] = held[name]
		}
	}
	for name := range held {
		if _, ok := ours[name]; !ok {
			p.drop = append(p.drop, name)
		}
	}
	var unstarted []string
	running := 0
	for name, h := range ours {
		switch {
		case h.finished:
			p.complete = append(p.complete, name)
		case h.running:
			running++
		default:
			unstarted = append(unstarted, name)
		}
	}
	pending -= len(p.complete)
	workers := max(len(snap.workers), 1)
	p.share = (pending + workers - 1) / workers
	if cfg.MaxTasks > 0 {
		p.share = min(p.share, cfg.MaxTasks)
	}
	sort.Strings(unstarted)
	holding := len(ours) - len(p.complete)
	if excess := min(holding-p.share, len(unstarted)); excess > 0 {
		p.release, unstarted = unstarted[:excess], unstarted[excess:]
		holding -= excess
	}
	p.claim = claimable(cfg.Member, snap, ours, rank)
	p.claim = p.claim[:max(0, min(len(p.claim), p.share-holding))]
	start := append(append([]string(nil), unstarted...), p.claim...)
	sort.Strings(start)
	p.start = start[:max(0, min(len(start), cfg.Concurrency-running))]
	sort.Strings(p.adopt)
	sort.Strings(p.drop)
	sort.Strings(p.complete)
	return p
}

// claimable lists unclaimed and orphaned tasks, in a per-worker order so
// that workers rarely race for the same task.
func claimable(member string, snap snapshot, ours map[string]heldState, rank func(string) uint64) []string {
	var out []string
	for name, t := range snap.tasks {
		if _, held := ours[name]; held || t.task.Done() {
			continue
		}
		if t.task.Worker == "" || (t.task.Worker != member && !snap.workers[t.task.Worker]) {
			out = append(out, name)
		}
	}
	sort.Slice(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out
}

// read takes a snapshot: every task, then the live workers. Tasks are read
// before workers: a worker registers before it claims, so any claim seen
// has a visible worker node unless that worker is really gone.
func (w *Worker) read(taskWatch, workerWatch <-chan zk.Event) (snapshot, <-chan zk.Event, <-chan zk.Event, error) {
	conn := w.s.Conn()
	tasksPath := w.root("Tasks")
	var snap snapshot // tasks stays nil unless the read is complete
	names, tw, err := childrenW(conn, tasksPath, taskWatch)
	if errors.Is(err, zk.ErrNoNode) {
		return snap, nil, workerWatch, w.s.CreateParents(tasksPath + "/x")
	}
	if err != nil {
		return snap, nil, workerWatch, err
	}
	tasks := map[string]seenTask{}
	for _, n := range names {
		if !w.vet(n) {
			continue
		}
		data, st, err := conn.Get(tasksPath + "/" + n)
		if errors.Is(err, zk.ErrNoNode) {
			continue
		}
		if err != nil {
			return snap, tw, workerWatch, err
		}
		if av, ok := w.openACL[n]; ok && av == st.Aversion {
			continue
		}
		tasks[n] = seenTask{ParseTask(data), st.Version}
	}
	workers, ww, err := childrenW(conn, w.root("Workers"), workerWatch)
	if err != nil {
		return snap, tw, nil, err
	}
	snap = snapshot{tasks: tasks, workers: map[string]bool{}}
	for _, n := range workers {
		snap.workers[n] = true
	}
	return snap, tw, ww, nil
}

// vet reports whether a task name passes the allow regex; a refused task
// is never claimed nor run, and logged once.
func (w *Worker) vet(task string) bool {
	if w.allow.MatchString(task) {
		return true
	}
	w.refuse(task, "task name refused: it does not match --task-allow, so it is neither claimed nor passed to the command")
	return false
}

// refuse logs once per task why it is left alone.
func (w *Worker) refuse(task, why string) {
	if !w.refused[task] {
		w.refused[task] = true
		level.Error(w.logger).Log("msg", why, "task", fmt.Sprintf("%q", task), "allow", w.cfg.TaskAllow)
	}
}

// sync reads ZooKeeper, plans and applies the plan.
func (w *Worker) sync(taskWatch, workerWatch <-chan zk.Event) (<-chan zk.Event, <-chan zk.Event, error) {
	snap, tw, ww, err := w.read(taskWatch, workerWatch)
	if err != nil || snap.tasks == nil {
		return tw, ww, err
	}
	held := map[string]heldState{}
	for name, h := range w.held {
		held[name] = heldState{running: h.proc != nil, finished: h.finished}
	}
	return tw, ww, w.apply(planSync(w.cfg, snap, held, w.rank), snap)
}

// apply carries a plan out; a failed write leaves the task to the next sync.
func (w *Worker) apply(p plan, snap snapshot) error {
	for _, name := range p.adopt {
		h := w.held[name]
		if h == nil {
			h = &heldTask{}
			w.held[name] = h
		}
		h.version, h.task = snap.tasks[name].version, snap.tasks[name].task
	}
	for _, name := range p.drop {
		if h := w.held[name]; h.proc != nil {
			level.Error(w.logger).Log("msg", "task no longer ours while running; stopping it", "task", name)
			h.proc.Stop(syscall.SIGTERM, w.cfg.StopTimeout)
		}
		delete(w.held, name)
	}
	for _, name := range p.complete {
		w.complete(name)
	}
	for _, name := range p.release {
		h := w.held[name]
		if _, err := w.s.Conn().Set(w.root("Tasks/"+name), h.task.encode("", "", nil), h.version); err == nil {
			level.Info(w.logger).Log("msg", "released task to rebalance", "task", name, "fair_share", p.share)
			delete(w.held, name)
		}
	}
	for _, name := range p.claim {
		if err := w.claim(name, snap.tasks[name]); err != nil {
			return err
		}
	}
	for _, name := range p.start {
		if w.held[name] == nil || w.s.Fenced() {
			continue
		}
		if err := w.start(name); err != nil {
			return err
		}
	}
	return nil
}

// complete writes a finished task's result.
func (w *Worker) complete(name string) {
	h := w.held[name]
	_, err := w.s.Conn().Set(w.root("Tasks/"+name), h.task.encode(w.cfg.Member, TaskDone, map[string]any{
		"finished_at": time.Now().UTC().Format(time.RFC3339Nano), "exit_code": h.code}), h.version)
	if err != nil {
		level.Warn(w.logger).Log("msg", "could not mark task done", "task", name, "err", err)
		return // re-read and retry on the next sync
	}
	delete(w.held, name)
	w.done++
	level.Info(w.logger).Log("msg", "task done", "task", name, "exit_code", h.code)
}

// claim takes a task with a version-checked write; losing the race is a
// counted conflict, not an error.
func (w *Worker) claim(name string, t seenTask) error {
	if w.s.Fenced() {
		return nil
	}
	// A claim on a node anyone may change could be forged or undone.
	acl, ast, err := w.s.Conn().GetACL(w.root("Tasks/" + name))
	if err != nil {
		return err
	}
	if zksession.MoreOpen(acl, w.s.acl) != 0 {
		w.openACL[name] = ast.Aversion
		w.refuse(name, "task refused: its ACL lets unauthenticated clients change it, so a claim on it could be forged; create tasks with the agents' identity")
		return nil
	}
	st, err := w.s.Conn().Set(w.root("Tasks/"+name), t.task.encode(w.cfg.Member, TaskClaimed, map[string]any{
		"claimed_at": time.Now().UTC().Format(time.RFC3339Nano)}), t.version)
	if errors.Is(err, zk.ErrBadVersion) {
		w.m.Conflicts.Inc()
		return nil
	}
	if err != nil {
		return err
	}
	if t.task.Worker != "" {
		level.Info(w.logger).Log("msg", "took over orphaned task", "task", name, "from", t.task.Worker)
	}
	w.held[name] = &heldTask{version: st.Version, task: ParseTask(t.task.encode(w.cfg.Member, TaskClaimed, nil))}
	return nil
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

// start marks a task running (version-checked) and starts its command.
func (w *Worker) start(name string) error {
	h := w.held[name]
	path := w.root("Tasks/" + name)
	st, err := w.s.Conn().Set(path, h.task.encode(w.cfg.Member, TaskRunning, map[string]any{
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
	// The command sees the path as configured, inside any chroot.
	cpath := w.configured("Tasks/" + name)
	args, err := w.args(name, cpath)
	var p *supervise.Process
	if err == nil {
		p, err = supervise.Start(args, []string{"ZKWATCH_TASK=" + name, "ZKWATCH_TASK_PATH=" + cpath, "ZKWATCH_WORKER=" + w.cfg.Member}, os.Stdout, os.Stderr)
	}
	if err != nil {
		level.Error(w.logger).Log("msg", "could not start task command", "task", name, "err", err)
		h.finished, h.code = true, 127
		return nil
	}
	level.Info(w.logger).Log("msg", "task started", "task", name, "pid", p.Pid)
	h.proc = p
	w.track(p)
	go func() {
		<-p.Done()
		w.results <- taskResult{name, p}
	}()
	return nil
}

// stopAll stops every running task command (SIGKILL after grace); they
// stay claimed and run again once the session is trustworthy, unless
// another worker took them.
func (w *Worker) stopAll(sig os.Signal, grace time.Duration, why string) {
	for name, h := range w.held {
		if h.proc == nil {
			continue
		}
		level.Warn(w.logger).Log("msg", "stopping task", "task", name, "reason", why, "kill_after", grace)
		h.proc.Stop(sig, grace)
		w.untrack(h.proc)
		h.proc = nil
	}
}

// shutdown stops tasks and hands every unfinished task back.
func (w *Worker) shutdown(sig os.Signal) int {
	w.stopAll(sig, w.cfg.StopTimeout, "agent stopping")
	if w.s.State().Live() {
		for name, h := range w.held {
			if h.finished {
				_, _ = w.s.Conn().Set(w.root("Tasks/"+name), h.task.encode(w.cfg.Member, TaskDone, map[string]any{
					"finished_at": time.Now().UTC().Format(time.RFC3339Nano), "exit_code": h.code}), h.version)
				continue
			}
			_, _ = w.s.Conn().Set(w.root("Tasks/"+name), h.task.encode("", "", nil), h.version)
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
