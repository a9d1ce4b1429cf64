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

package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/internal/treecache"
	"github.com/zkwatch/zkwatch/internal/watchconfig"
	"github.com/zkwatch/zkwatch/internal/zksession"
)

func init() {
	registerCollector("tasks", defaultEnabled, NewTasksCollector)
}

// Task states, the values of the state label.
var taskStates = []string{"unclaimed", "claimed", "orphaned", "done"}

type tasksCollector struct {
	watchCollector
	tasks, workers, workerTasks, oldest typedDesc
}

// NewTasksCollector returns the collector of task/worker roots:
// ROOT/Tasks/<task> whose data names the claiming worker, and
// ROOT/Workers/<worker> ephemeral per live worker.
func NewTasksCollector(cfg Config, logger log.Logger) (Collector, error) {
	wc, err := newWatchCollector(cfg, logger)
	if err != nil {
		return nil, err
	}
	return &tasksCollector{
		watchCollector: wc,
		tasks: newTypedDesc("tasks",
			"Tasks by state: unclaimed, claimed (by a registered worker), orphaned (claimed by a worker that is not registered), done.", prometheus.GaugeValue, "root", "state"),
		workers: newTypedDesc("workers",
			"Registered workers (children of ROOT/Workers).", prometheus.GaugeValue, "root"),
		workerTasks: newTypedDesc("worker_tasks",
			"Tasks claimed and not done, by worker (registered or not).", prometheus.GaugeValue, "root", "worker"),
		oldest: newTypedDesc("task_oldest_unclaimed_seconds",
			"Age of the oldest unclaimed task, from its creation (0 when none).", prometheus.GaugeValue, "root"),
	}, nil
}

// taskClaim is what a task's data says; a nil claim means unclaimed.
type taskClaim struct {
	worker string
	done   bool
}

// taskDecoder reads the claim convention of one tasks root:
//   - empty data: unclaimed;
//   - text not starting with '{': claimed by the worker it names;
//   - a JSON object: claimed by obj[workerField], done when
//     obj[stateField] is one of doneStates; an empty worker is unclaimed.
func taskDecoder(t watchconfig.Tasks) func(string, []byte) (any, error) {
	return func(_ string, data []byte) (any, error) {
		data = bytes.TrimSpace(data)
		if len(data) == 0 {
			return nil, nil
		}
		if data[0] != '{' {
			if i := bytes.IndexByte(data, '\n'); i >= 0 {
				data = bytes.TrimSpace(data[:i])
			}
			return &taskClaim{worker: boundLabel(string(data))}, nil
		}
		var obj map[string]any
		if err := json.Unmarshal(data, &obj); err != nil {
			return nil, errors.New("task data is not valid JSON")
		}
		worker, _ := obj[t.WorkerField].(string)
		state, _ := obj[t.StateField].(string)
		done := slices.Contains(t.DoneStates, state)
		if worker == "" && !done {
			return nil, nil
		}
		return &taskClaim{worker: boundLabel(worker), done: done}, nil
	}
}

type tasksItem struct {
	rootPath       string
	tasks, workers labeledCache
	settings       watchconfig.Tasks
}

func (t *tasksItem) root() string           { return t.rootPath }
func (t *tasksItem) caches() []labeledCache { return []labeledCache{t.tasks, t.workers} }
func (t *tasksItem) close() {
	t.tasks.cache.Close()
	t.workers.cache.Close()
}

func (w *watcher) tasksSpec(t watchconfig.Tasks) itemSpec {
	limit := w.maxMembers(t.MaxMembers)
	return itemSpec{
		key: "tasks\x00" + t.Root,
		build: func(m *zksession.Manager) watchItem {
			return &tasksItem{
				rootPath: t.Root,
				settings: t,
				tasks: w.newCache(m, joinPath(t.Root, "Tasks"), treecache.Options{
					Mode: treecache.ModeChildData, Decode: taskDecoder(t), MaxChildren: limit}),
				workers: w.newCache(m, joinPath(t.Root, "Workers"), treecache.Options{
					Mode: treecache.ModeChildren, MaxChildren: limit}),
			}
		},
		update: func(wi watchItem) bool {
			it := wi.(*tasksItem)
			return slices.Equal(it.settings.DoneStates, t.DoneStates) && it.settings.WorkerField == t.WorkerField &&
				it.settings.StateField == t.StateField && it.tasks.cache.MaxChildren() == limit
		},
	}
}

// Update implements Collector.
func (c *tasksCollector) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	now := time.Now()
	c.w.each("tasks", func(wi watchItem) {
		t := wi.(*tasksItem)
		perWorker := map[string]float64{}
		registered := map[string]bool{}
		nWorkers := 0
		t.workers.cache.Read(func(v *treecache.View) {
			nWorkers = v.Total
			for name := range v.Children {
				perWorker[name] = 0
				registered[name] = true
			}
		})
		counts := map[string]float64{}
		var oldest int64
		t.tasks.cache.Read(func(v *treecache.View) {
			for _, n := range v.Children {
				claim, _ := n.Value.(*taskClaim)
				switch {
				case claim == nil:
					counts["unclaimed"]++
					if oldest == 0 || n.Ctime < oldest {
						oldest = n.Ctime
					}
				case claim.done:
					counts["done"]++
				default:
					if registered[claim.worker] {
						counts["claimed"]++
					} else {
						counts["orphaned"]++
					}
					perWorker[claim.worker]++
				}
			}
		})
		// An unregistered worker appears only through its orphaned tasks.
		for _, s := range taskStates {
			ch <- c.tasks.mustNewConstMetric(counts[s], t.rootPath, s)
		}
		ch <- c.workers.mustNewConstMetric(float64(nWorkers), t.rootPath)
		for worker, n := range perWorker {
			ch <- c.workerTasks.mustNewConstMetric(n, t.rootPath, labelSafe(worker))
		}
		age := 0.0
		if oldest > 0 {
			age = max(0, now.Sub(time.UnixMilli(oldest)).Seconds())
		}
		ch <- c.oldest.mustNewConstMetric(age, t.rootPath)
	})
	return nil
}
