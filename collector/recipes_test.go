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
	"fmt"
	"path"
	"testing"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

const recipesConfig = `
groups:
  - path: /monitor/web
    expected: [web-1, web-2]
    expected_count: 3
  - path: /monitor/many
    max_members: 2
  - path: /secret
tasks:
  - root: /jobs
locks:
  - path: /locks/l
elections:
  - path: /election/e
znodes:
  - path: /config/app
queues:
  - path: /queues/q
`

// TestWatchRecipes covers tasks, locks, elections, znodes, queues, expected
// members, the member cap, ACL errors and configuration reload on one
// standalone server.
func TestWatchRecipes(t *testing.T) {
	e := watchEnsemble(t)
	servers := e.Addrs()
	admin := dial(t, servers)
	for _, p := range []string{"/monitor/web", "/monitor/many", "/jobs/Tasks", "/jobs/Workers", "/locks/l", "/election/e", "/queues/q", "/config"} {
		mkdirs(t, admin, p)
	}
	if _, err := admin.Create("/secret", nil, 0, zk.DigestACL(zk.PermAll, "owner", "pw")); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, admin, "/config/app", "v1", 0)
	mustCreate(t, admin, "/monitor/web/web-1", "", zk.FlagEphemeral)
	for _, m := range []string{"m1", "m2", "m3"} {
		mustCreate(t, admin, "/monitor/many/"+m, "", zk.FlagEphemeral)
	}
	w1, w2 := dial(t, servers), dial(t, servers)
	mustCreate(t, w1, "/jobs/Workers/w1", "", zk.FlagEphemeral)
	mustCreate(t, w2, "/jobs/Workers/w2", "", zk.FlagEphemeral)
	for task, data := range map[string]string{
		"t1": "",
		"t2": "w1",
		"t3": `{"worker":"w2","state":"running"}`,
		"t4": `{"worker":"w1","state":"done"}`,
		"t5": "ghost",
		"t6": `{"worker":"","state":"new"}`,
	} {
		mustCreate(t, admin, "/jobs/Tasks/"+task, data, 0)
	}
	for i := 0; i < 3; i++ {
		mustCreate(t, admin, "/queues/q/item-", "x", zk.FlagSequence)
	}
	l1, l2 := dial(t, servers), dial(t, servers)
	lock1, err := l1.CreateProtectedEphemeralSequential("/locks/l/lock-", nil, zk.WorldACL(zk.PermAll))
	if err != nil {
		t.Fatal(err)
	}
	lock2, err := l2.CreateProtectedEphemeralSequential("/locks/l/lock-", nil, zk.WorldACL(zk.PermAll))
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, admin, "/locks/l/not-a-lock-node", "", 0) // ignored
	e1, e2 := dial(t, servers), dial(t, servers)
	if _, err := e1.CreateProtectedEphemeralSequential("/election/e/latch-", nil, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if _, err := e2.CreateProtectedEphemeralSequential("/election/e/latch-", nil, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}

	cfgFile := writeFile(t, t.TempDir(), "watch.yml", recipesConfig)
	x := newWatchExporter(t, servers, watchFlags{configFile: cfgFile})
	lockHolder := func(c *zk.Conn) string {
		return fmt.Sprintf(`zookeeper_lock_holder_info{lock="/locks/l",session="0x%x"}`, c.SessionID())
	}
	leader := func(c *zk.Conn) string {
		return fmt.Sprintf(`zookeeper_election_leader_info{election="/election/e",session="0x%x"}`, c.SessionID())
	}

	x.waitFor(want{values: map[string]float64{
		// groups: expected members and the cap
		`zookeeper_group_expected_members{group="/monitor/web"}`:         3,
		`zookeeper_group_member_up{group="/monitor/web",member="web-1"}`: 1,
		`zookeeper_group_member_up{group="/monitor/web",member="web-2"}`: 0,
		`zookeeper_group_members{group="/monitor/many"}`:                 3,
		`zookeeper_group_member_up{group="/monitor/many",member="m1"}`:   1,
		`zookeeper_group_member_up{group="/monitor/many",member="m2"}`:   1,
		`zookeeper_watch_dropped_members_total{root="/monitor/many"}`:    1,
		// tasks
		`zookeeper_tasks{root="/jobs",state="unclaimed"}`:     2,
		`zookeeper_tasks{root="/jobs",state="claimed"}`:       2,
		`zookeeper_tasks{root="/jobs",state="orphaned"}`:      1,
		`zookeeper_tasks{root="/jobs",state="done"}`:          1,
		`zookeeper_workers{root="/jobs"}`:                     2,
		`zookeeper_worker_tasks{root="/jobs",worker="w1"}`:    1,
		`zookeeper_worker_tasks{root="/jobs",worker="w2"}`:    1,
		`zookeeper_worker_tasks{root="/jobs",worker="ghost"}`: 1,
		`zookeeper_watch_synced{root="/jobs"}`:                1,
		// locks
		`zookeeper_lock_held{lock="/locks/l"}`:    1,
		`zookeeper_lock_waiters{lock="/locks/l"}`: 1,
		lockHolder(l1): 1,
		// elections
		`zookeeper_election_candidates{election="/election/e"}`:           2,
		`zookeeper_election_has_leader{election="/election/e"}`:           1,
		`zookeeper_election_leader_changes_total{election="/election/e"}`: 0,
		leader(e1): 1,
		// znodes
		`zookeeper_znode_exists{path="/config/app"}`:        1,
		`zookeeper_znode_data_version{path="/config/app"}`:  0,
		`zookeeper_znode_changes_total{path="/config/app"}`: 0,
		// queues
		`zookeeper_queue_depth{queue="/queues/q"}`: 3,
	}, absent: []string{`zookeeper_group_member_up{group="/monitor/many",member="m3"}`, lockHolder(l2), leader(e2)}})
	if err := zktest.WaitFor(30e9, 20e6, func() error {
		if v := x.value(`zookeeper_watch_errors_total{reason="acl",root="/secret"}`); v < 1 {
			return fmt.Errorf("acl errors = %v", v)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	if v := x.value(`zookeeper_task_oldest_unclaimed_seconds{root="/jobs"}`); v < 0 || v > 600 {
		t.Errorf("oldest unclaimed = %v", v)
	}
	if v := x.value(`zookeeper_znode_mtime_seconds{path="/config/app"}`); v < 1.7e9 {
		t.Errorf("mtime = %v", v)
	}

	t.Run("tasks", func(t *testing.T) {
		x := x.in(t)
		// w2 claims t1 with a version-checked write; a second claim on the
		// old version fails.
		if _, err := w2.Set("/jobs/Tasks/t1", []byte(`{"worker":"w2","state":"claimed"}`), 0); err != nil {
			t.Fatal(err)
		}
		if _, err := w1.Set("/jobs/Tasks/t1", []byte("w1"), 0); err != zk.ErrBadVersion {
			t.Fatalf("second claim: %v, want ErrBadVersion", err)
		}
		x.waitFor(want{values: map[string]float64{
			`zookeeper_tasks{root="/jobs",state="unclaimed"}`:  1,
			`zookeeper_tasks{root="/jobs",state="claimed"}`:    3,
			`zookeeper_worker_tasks{root="/jobs",worker="w2"}`: 2,
		}})
		// w2 dies: its tasks are orphaned.
		w2.Close()
		x.waitFor(want{values: map[string]float64{
			`zookeeper_workers{root="/jobs"}`:                  1,
			`zookeeper_tasks{root="/jobs",state="claimed"}`:    1,
			`zookeeper_tasks{root="/jobs",state="orphaned"}`:   3,
			`zookeeper_worker_tasks{root="/jobs",worker="w2"}`: 2,
		}})
		// t2 done.
		if _, err := w1.Set("/jobs/Tasks/t2", []byte(`{"worker":"w1","state":"done"}`), -1); err != nil {
			t.Fatal(err)
		}
		x.waitFor(want{values: map[string]float64{
			`zookeeper_tasks{root="/jobs",state="done"}`:       2,
			`zookeeper_worker_tasks{root="/jobs",worker="w1"}`: 0,
		}})
	})

	t.Run("lock handover", func(t *testing.T) {
		x := x.in(t)
		mustDelete(t, l1, lock1)
		x.waitFor(want{values: map[string]float64{
			`zookeeper_lock_held{lock="/locks/l"}`:    1,
			`zookeeper_lock_waiters{lock="/locks/l"}`: 0,
			lockHolder(l2): 1,
		}, absent: []string{lockHolder(l1)}})
		held := lockHolder(l2)
		l2.Close()
		x.waitFor(want{values: map[string]float64{
			`zookeeper_lock_held{lock="/locks/l"}`:         0,
			`zookeeper_lock_held_seconds{lock="/locks/l"}`: 0,
		}, absent: []string{held}})
		_ = lock2
	})

	t.Run("election leader change", func(t *testing.T) {
		x := x.in(t)
		first, second := leader(e1), leader(e2)
		e1.Close()
		x.waitFor(want{values: map[string]float64{
			`zookeeper_election_candidates{election="/election/e"}`:           1,
			`zookeeper_election_has_leader{election="/election/e"}`:           1,
			`zookeeper_election_leader_changes_total{election="/election/e"}`: 1,
			second: 1,
		}, absent: []string{first}})
		e2.Close()
		x.waitFor(want{values: map[string]float64{
			`zookeeper_election_has_leader{election="/election/e"}`:           0,
			`zookeeper_election_leader_changes_total{election="/election/e"}`: 1,
		}, absent: []string{second}})
	})

	t.Run("znode changes", func(t *testing.T) {
		x := x.in(t)
		for i := 0; i < 2; i++ {
			if _, err := admin.Set("/config/app", []byte(fmt.Sprint("v", i+2)), -1); err != nil {
				t.Fatal(err)
			}
		}
		x.waitFor(want{values: map[string]float64{
			`zookeeper_znode_data_version{path="/config/app"}`:  2,
			`zookeeper_znode_changes_total{path="/config/app"}`: 2,
		}})
		mustDelete(t, admin, "/config/app")
		x.waitFor(want{values: map[string]float64{
			`zookeeper_znode_exists{path="/config/app"}`:        0,
			`zookeeper_znode_changes_total{path="/config/app"}`: 3,
		}, absent: []string{`zookeeper_znode_data_version{path="/config/app"}`}})
		mustCreate(t, admin, "/config/app", "again", 0)
		x.waitFor(want{values: map[string]float64{
			`zookeeper_znode_exists{path="/config/app"}`:        1,
			`zookeeper_znode_data_version{path="/config/app"}`:  0,
			`zookeeper_znode_changes_total{path="/config/app"}`: 4,
		}})
	})

	t.Run("queue", func(t *testing.T) {
		x := x.in(t)
		children, _, err := admin.Children("/queues/q")
		if err != nil {
			t.Fatal(err)
		}
		mustDelete(t, admin, path.Join("/queues/q", children[0]))
		x.waitFor(want{values: map[string]float64{`zookeeper_queue_depth{queue="/queues/q"}`: 2}})
	})

	t.Run("reload", func(t *testing.T) {
		x := x.in(t)
		writeFile(t, path.Dir(cfgFile), "watch.yml", "znodes:\n  - path: /config/other\ngroups:\n  - path: /monitor/web\n")
		if err := x.zc.Reload(); err != nil {
			t.Fatal(err)
		}
		x.waitFor(want{values: map[string]float64{
			`zookeeper_znode_exists{path="/config/other"}`:                   0,
			`zookeeper_group_member_up{group="/monitor/web",member="web-1"}`: 1,
		}, absent: []string{
			`zookeeper_queue_depth{queue="/queues/q"}`,
			`zookeeper_group_expected_members{group="/monitor/web"}`,
			`zookeeper_group_member_up{group="/monitor/web",member="web-2"}`,
			`zookeeper_tasks{root="/jobs",state="done"}`,
		}})
		writeFile(t, path.Dir(cfgFile), "watch.yml", "znodes:\n  - path: relative\n")
		if err := x.zc.Reload(); err == nil {
			t.Fatal("Reload accepted an invalid file")
		}
		x.waitFor(want{values: map[string]float64{`zookeeper_znode_exists{path="/config/other"}`: 0}})
		mustCreate(t, admin, "/config/other", "", 0)
		x.waitFor(want{values: map[string]float64{`zookeeper_znode_exists{path="/config/other"}`: 1}})
	})
}
