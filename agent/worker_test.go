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
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// TestWorkerPartition cuts off a worker in the middle of a task: it must
// stop the task before the server expires its session, so the worker that
// takes the orphaned task over never runs it at the same time.
func TestWorkerPartition(t *testing.T) {
	ens := zktest.Start(t, 1)
	obs := observer(t, ens.Servers())
	dir := t.TempDir()
	const root = "/jobs/partition"
	if err := createParents(obs, root+"/Tasks/t1", zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if _, err := obs.Create(root+"/Tasks/t1", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	script := `d=$0; w=$1
if [ -f "$d/pid" ] && kill -0 "$(cat "$d/pid")" 2>/dev/null; then echo overlap >> "$d/overlap"; fi
echo $$ > "$d/pid"
echo "start $w" >> "$d/log"
while [ ! -e "$d/release" ]; do sleep 0.02; done
echo "done $w" >> "$d/log"`
	proxy, err := zktest.NewProxy(ens.Addrs()...)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()

	type running struct {
		m    *Metrics
		sigs chan os.Signal
		done chan struct{}
	}
	start := func(name, servers string) *running {
		r := &running{m: NewMetrics(nil), sigs: make(chan os.Signal, 1), done: make(chan struct{})}
		s := dial(t, servers, r.m)
		w, err := NewWorker(s, WorkerConfig{Servers: servers, Root: root, Member: name, Signals: r.sigs, StopTimeout: 5 * time.Second,
			Args: []string{"sh", "-c", script, dir, "{{.Worker}}"}}, r.m, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		go func() { defer close(r.done); _, _ = w.Run(context.Background()) }()
		t.Cleanup(func() {
			select {
			case r.sigs <- syscall.SIGTERM:
			default:
			}
			<-r.done
		})
		return r
	}
	taskIs := func(worker, state string) func() error {
		return func() error {
			data, _, err := obs.Get(root + "/Tasks/t1")
			if err != nil {
				return err
			}
			if task := ParseTask(data); task.Worker != worker || task.State != state {
				return fmt.Errorf("task %+v, want %s/%s", task, worker, state)
			}
			return nil
		}
	}

	a := start("a", strings.Join(proxy.Addrs(), ","))
	if err := zktest.WaitFor(waitLong, 10*time.Millisecond, taskIs("a", TaskRunning)); err != nil {
		t.Fatal(err)
	}
	b := start("b", ens.Servers())
	if err := zktest.WaitFor(waitLong, 10*time.Millisecond, func() error {
		ws, _, err := obs.Children(root + "/Workers")
		if err != nil || len(ws) != 2 {
			return fmt.Errorf("workers %v %v", ws, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	proxy.Blackhole()
	if err := zktest.WaitFor(waitLong, 10*time.Millisecond, taskIs("b", TaskRunning)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := zktest.WaitFor(waitLong, 10*time.Millisecond, taskIs("b", TaskDone)); err != nil {
		t.Fatal(err)
	}
	proxy.Restore()
	if err := zktest.WaitFor(waitLong, 10*time.Millisecond, func() error {
		if n := testutil.ToFloat64(a.m.SessionExpirations); n != 1 {
			return fmt.Errorf("a: %v expirations", n)
		}
		if r := testutil.ToFloat64(a.m.Registered); r != 1 {
			return fmt.Errorf("a not registered again")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "overlap")); err == nil {
		t.Fatal("the task ran on both workers at the same time")
	}
	log, _ := os.ReadFile(filepath.Join(dir, "log"))
	if got := strings.TrimSpace(string(log)); got != "start a\nstart b\ndone b" {
		t.Fatalf("task log:\n%s", got)
	}
	if err := taskIs("b", TaskDone)(); err != nil {
		t.Fatal(err)
	}
	waitGauge(t, b.m.Tasks.WithLabelValues(TaskDone), 1)
}
