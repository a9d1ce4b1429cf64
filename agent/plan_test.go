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
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// tasks builds a snapshot's tasks from "name=worker/state" items
// ("name=" is unclaimed).
func tasks(items ...string) map[string]seenTask {
	out := map[string]seenTask{}
	for _, it := range items {
		name, ws, _ := strings.Cut(it, "=")
		worker, state, _ := strings.Cut(ws, "/")
		t := Task{Worker: worker, State: state}
		if worker != "" && state == "" {
			t.State = TaskClaimed
		}
		out[name] = seenTask{task: t}
	}
	return out
}

func live(names ...string) map[string]bool {
	out := map[string]bool{}
	for _, n := range names {
		out[n] = true
	}
	return out
}

// byName ranks tasks by name, so that claim order is readable.
func byName(task string) uint64 {
	var r uint64
	for _, c := range task {
		r = r*256 + uint64(c)
	}
	return r
}

func TestPlanSync(t *testing.T) {
	for _, c := range []struct {
		name       string
		maxTasks   int
		conc       int
		tasks      map[string]seenTask
		workers    map[string]bool
		held       map[string]heldState
		want       plan
		wantShares int
	}{
		{
			name:  "alone: fair share is every pending task, start one",
			conc:  1,
			tasks: tasks("a=", "b=", "c="), workers: live("me"),
			want: plan{claim: []string{"a", "b", "c"}, start: []string{"a"}, share: 3},
		},
		{
			name:  "share rounds up: 10 pending over 3 workers is 4",
			conc:  2,
			tasks: tasks("t0=", "t1=", "t2=", "t3=", "t4=", "t5=", "t6=", "t7=", "t8=", "t9="), workers: live("me", "w2", "w3"),
			want: plan{claim: []string{"t0", "t1", "t2", "t3"}, start: []string{"t0", "t1"}, share: 4},
		},
		{
			name:     "max-tasks caps the share",
			maxTasks: 1, conc: 1,
			tasks: tasks("a=", "b=", "c="), workers: live("me", "w2"),
			want: plan{claim: []string{"a"}, start: []string{"a"}, share: 1},
		},
		{
			name:  "done tasks are not pending and never claimed",
			conc:  1,
			tasks: tasks("a=w2/done", "b=me/done", "c="), workers: live("me", "w2"),
			want: plan{claim: []string{"c"}, start: []string{"c"}, share: 1},
		},
		{
			name:  "orphans of dead workers are claimed, live workers' tasks are not",
			conc:  3,
			tasks: tasks("a=gone/running", "b=w2/running", "c=w2/claimed"), workers: live("me", "w2"),
			want: plan{claim: []string{"a"}, start: []string{"a"}, share: 2},
		},
		{
			name:  "a worker joined: unstarted tasks above the share go back, running ones stay",
			conc:  1,
			tasks: tasks("a=me/running", "b=me", "c=me", "d=me"), workers: live("me", "w2"),
			held: map[string]heldState{"a": {running: true}, "b": {}, "c": {}, "d": {}},
			want: plan{adopt: []string{"a", "b", "c", "d"}, release: []string{"b", "c"}, share: 2},
		},
		{
			name:  "finished tasks are completed and no longer count",
			conc:  1,
			tasks: tasks("a=me/running", "b=", "c="), workers: live("me", "w2"),
			held: map[string]heldState{"a": {finished: true}},
			want: plan{adopt: []string{"a"}, complete: []string{"a"}, claim: []string{"b"}, start: []string{"b"}, share: 1},
		},
		{
			name:  "held tasks no longer ours are dropped",
			conc:  1,
			tasks: tasks("a=w2/running", "b=me/done"), workers: live("me", "w2"),
			held: map[string]heldState{"a": {running: true}, "b": {}, "c": {}},
			want: plan{drop: []string{"a", "b", "c"}, share: 1},
		},
		{
			name:  "claimed in ZooKeeper but not held (after a fence): adopted and started again",
			conc:  1,
			tasks: tasks("a=me/running"), workers: live("me"),
			want: plan{adopt: []string{"a"}, start: []string{"a"}, share: 1},
		},
		{
			name:  "concurrency counts running tasks",
			conc:  2,
			tasks: tasks("a=me/running", "b=me", "c="), workers: live("me"),
			held: map[string]heldState{"a": {running: true}, "b": {}},
			want: plan{adopt: []string{"a", "b"}, claim: []string{"c"}, start: []string{"b"}, share: 3},
		},
		{
			name:  "no workers visible yet: share over one",
			conc:  1,
			tasks: tasks("a=", "b="), workers: live(),
			want: plan{claim: []string{"a", "b"}, start: []string{"a"}, share: 2},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := WorkerConfig{Member: "me", MaxTasks: c.maxTasks, Concurrency: c.conc}
			got := planSync(cfg, snapshot{tasks: c.tasks, workers: c.workers}, c.held, byName)
			if !reflect.DeepEqual(norm(got), norm(c.want)) {
				t.Errorf("plan\n got %s\nwant %s", norm(got), norm(c.want))
			}
		})
	}
}

// norm prints a plan with empty and nil lists alike.
func norm(p plan) string {
	return fmt.Sprintf("adopt=%v drop=%v complete=%v release=%v claim=%v start=%v share=%d",
		p.adopt, p.drop, p.complete, p.release, p.claim, p.start, p.share)
}

// TestPlanSyncShareSplitsWork checks the fair-share arithmetic across a
// pool: whatever the counts, the workers' shares cover every pending task
// and no worker's share exceeds another's by more than one.
func TestPlanSyncShareSplitsWork(t *testing.T) {
	for pending := 0; pending <= 12; pending++ {
		for workers := 1; workers <= 5; workers++ {
			var items []string
			for i := 0; i < pending; i++ {
				items = append(items, fmt.Sprintf("t%02d=", i))
			}
			var names []string
			for i := 0; i < workers; i++ {
				names = append(names, fmt.Sprint("w", i))
			}
			p := planSync(WorkerConfig{Member: "w0", Concurrency: 1}, snapshot{tasks: tasks(items...), workers: live(names...)}, nil, byName)
			if p.share*workers < pending || (p.share-1)*workers >= pending && pending > 0 {
				t.Errorf("%d pending, %d workers: share %d", pending, workers, p.share)
			}
			if len(p.claim) != p.share {
				t.Errorf("%d pending, %d workers: claims %d, share %d", pending, workers, len(p.claim), p.share)
			}
		}
	}
}
