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

package treecache

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/zksession"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

type changeLog struct {
	mu  sync.Mutex
	log []string
}

func (l *changeLog) record(v *View, changes []Change) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range changes {
		var s string
		switch c.Kind {
		case Join:
			s = fmt.Sprintf("join %s %v", c.Name, c.New.Value)
		case Leave:
			s = "leave " + c.Name
		case Update:
			s = fmt.Sprintf("update %s %v", c.Name, c.New.Value)
		case RootCreated:
			s = "root created"
		case RootDeleted:
			s = "root deleted"
		case RootUpdated:
			s = fmt.Sprintf("root updated v%d", c.NewRoot.Version)
		}
		if !v.Initialized {
			s = "initial " + s
		}
		l.log = append(l.log, s)
	}
}

func (l *changeLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.log
	l.log = nil
	sort.Strings(out)
	return out
}

// expect waits until the changes recorded since the last call are want.
func (l *changeLog) expect(t *testing.T, want ...string) {
	t.Helper()
	sort.Strings(want)
	var got []string
	err := zktest.WaitFor(30*time.Second, 10*time.Millisecond, func() error {
		l.mu.Lock()
		n := len(l.log)
		l.mu.Unlock()
		if n < len(want) {
			return fmt.Errorf("%d changes so far, want %d", n, len(want))
		}
		return nil
	})
	got = l.take()
	if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("changes %q, want %q (%v)", got, want, err)
	}
}

// TestCache runs the cache's cases on one standalone server.
func TestCache(t *testing.T) {
	e := zktest.Start(t, 1)
	t.Run("follows children", func(t *testing.T) { testFollowsChildren(t, e) })
	t.Run("caps children", func(t *testing.T) { testCapsChildren(t, e) })
	t.Run("deletion from its event", func(t *testing.T) { testDeleteFromEvent(t, e) })
	t.Run("no stale read after a deletion", func(t *testing.T) { testNoStaleReadAfterDelete(t, e) })
}

// startManager opens a session closed when the test ends.
func startManager(t *testing.T, e *zktest.Ensemble) *zksession.Manager {
	t.Helper()
	m, err := zksession.New(zksession.Options{Servers: e.Addrs(), SessionTimeout: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

func testFollowsChildren(t *testing.T, e *zktest.Ensemble) {
	m := startManager(t, e)
	actor, _, err := zk.Connect(e.Addrs(), 4*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer actor.Close()
	acl := zk.WorldACL(zk.PermAll)
	if _, err := actor.Create("/r", nil, 0, acl); err != nil {
		t.Fatal(err)
	}
	if _, err := actor.Create("/r/a", []byte("1"), 0, acl); err != nil {
		t.Fatal(err)
	}
	log := &changeLog{}
	c := New(m, Options{
		Path:     "/r",
		Mode:     ModeChildData,
		Decode:   func(_ string, data []byte) (any, error) { return string(data), nil },
		OnChange: log.record,
	})
	c.Start()
	defer c.Close()
	log.expect(t, "initial root created", "initial join a 1")
	if !c.Synced() {
		t.Error("not synced after the initial read")
	}

	if _, err := actor.Set("/r/a", []byte("2"), -1); err != nil {
		t.Fatal(err)
	}
	log.expect(t, "update a 2")
	if _, err := actor.Create("/r/b", []byte("x"), 0, acl); err != nil {
		t.Fatal(err)
	}
	log.expect(t, "join b x")
	// Deleted and created again in one multi: one leave and one join.
	if _, err := actor.Multi(&zk.DeleteRequest{Path: "/r/a", Version: -1},
		&zk.CreateRequest{Path: "/r/a", Data: []byte("3"), Acl: acl}); err != nil {
		t.Fatal(err)
	}
	log.expect(t, "leave a", "join a 3")
	for _, p := range []string{"/r/a", "/r/b", "/r"} {
		if err := actor.Delete(p, -1); err != nil {
			t.Fatal(err)
		}
	}
	log.expect(t, "leave a", "leave b", "root deleted")
	c.Read(func(v *View) {
		if v.Exists || len(v.Children) != 0 || v.Total != 0 {
			t.Errorf("view after root deletion: %+v", v)
		}
	})
	if _, err := actor.Create("/r", []byte("v"), 0, acl); err != nil {
		t.Fatal(err)
	}
	log.expect(t, "root created")
}

func testCapsChildren(t *testing.T, e *zktest.Ensemble) {
	m := startManager(t, e)
	conn := m.Conn()
	acl := zk.WorldACL(zk.PermAll)
	if err := zktest.WaitFor(30*time.Second, 10*time.Millisecond, func() error {
		_, err := conn.Create("/q", nil, 0, acl)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := conn.Create(fmt.Sprintf("/q/n%d", i), nil, 0, acl); err != nil {
			t.Fatal(err)
		}
	}
	c := New(m, Options{Path: "/q", Mode: ModeChildStat, MaxChildren: 3})
	c.Start()
	defer c.Close()
	count := New(m, Options{Path: "/q", Mode: ModeCount})
	count.Start()
	defer count.Close()
	if err := zktest.WaitFor(30*time.Second, 10*time.Millisecond, func() error {
		var err error
		c.Read(func(v *View) {
			if !v.Synced || v.Total != 5 || len(v.Children) != 3 {
				err = fmt.Errorf("synced %v, total %d, tracked %d", v.Synced, v.Total, len(v.Children))
			}
		})
		count.Read(func(v *View) {
			if v.Total != 5 || len(v.Children) != 0 {
				err = fmt.Errorf("count cache: total %d, tracked %d", v.Total, len(v.Children))
			}
		})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, dropped := c.Errors(); dropped != 2 {
		t.Errorf("dropped = %v, want 2", dropped)
	}
	c.Read(func(v *View) {
		for _, name := range []string{"n0", "n1", "n2"} {
			if n := v.Children[name]; n == nil || n.Ctime == 0 {
				t.Errorf("child %s: %+v, want it tracked with its stat", name, n)
			}
		}
	})
}

// childDataCache makes /name with children a, b and c (data "1"), and a
// synced ModeChildData cache of it.
func childDataCache(t *testing.T, e *zktest.Ensemble, name string) (*Cache, *changeLog, *zk.Conn) {
	t.Helper()
	m := startManager(t, e)
	actor, _, err := zk.Connect(e.Addrs(), 4*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(actor.Close)
	acl := zk.WorldACL(zk.PermAll)
	for _, p := range []string{"", "/a", "/b", "/c"} {
		if _, err := actor.Create("/"+name+p, []byte("1"), 0, acl); err != nil {
			t.Fatal(err)
		}
	}
	log := &changeLog{}
	c := New(m, Options{
		Path:     "/" + name,
		Mode:     ModeChildData,
		Decode:   func(_ string, data []byte) (any, error) { return string(data), nil },
		OnChange: log.record,
	})
	c.Start()
	t.Cleanup(c.Close)
	log.expect(t, "initial root created", "initial join a 1", "initial join b 1", "initial join c 1")
	return c, log, actor
}

// A tracked child's NodeDeleted event removes it without a read: the test
// takes every read slot of the session, so that no child can be read.
func testDeleteFromEvent(t *testing.T, e *zktest.Ensemble) {
	c, log, actor := childDataCache(t, e, "d")
	var release []func()
	for i := 0; i < zksession.MaxInflight; i++ {
		release = append(release, c.m.Acquire())
	}
	freed := false
	free := func() {
		if !freed {
			freed = true
			for _, r := range release {
				r()
			}
		}
	}
	defer free()
	if err := actor.Delete("/d/a", -1); err != nil {
		t.Fatal(err)
	}
	log.expect(t, "leave a")
	c.Read(func(v *View) {
		if _, ok := v.Children["a"]; ok || len(v.Children) != 2 || v.Total != 2 {
			t.Errorf("view after the deletion: %d tracked, total %d, a present %v", len(v.Children), v.Total, ok)
		}
	})
	// An event not known to follow the read that tracked b (here: b's
	// own read) does not remove b; it is read again instead.
	var seq uint64
	c.Read(func(v *View) { seq = v.Children["b"].seq })
	c.NodeEventAt(zk.Event{Type: zk.EventNodeDeleted, Path: "/d/b"}, seq)
	c.Read(func(v *View) {
		if _, ok := v.Children["b"]; !ok {
			t.Error("b removed by an event that may predate its read")
		}
	})
	free()
	// a comes back: a join, and b's read changed nothing.
	if _, err := actor.Create("/d/a", []byte("2"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	log.expect(t, "join a 2")
	c.Read(func(v *View) {
		if len(v.Children) != 3 || v.Total != 3 || v.Children["a"].Value != "2" {
			t.Errorf("view after a came back: %d tracked, total %d", len(v.Children), v.Total)
		}
	})
}

// A read answered before a deletion, whose event was applied before the
// read's result was merged, must not bring the child back.
func testNoStaleReadAfterDelete(t *testing.T, e *zktest.Ensemble) {
	c, log, actor := childDataCache(t, e, "s")
	var once sync.Once
	c.beforeMerge = func() {
		once.Do(func() {
			// From the run loop's goroutine: no t.Fatal here.
			if err := actor.Delete("/s/b", -1); err != nil {
				t.Error(err)
				return
			}
			if err := zktest.WaitFor(30*time.Second, time.Millisecond, func() error {
				if got := log.take(); len(got) != 1 || got[0] != "leave b" {
					return fmt.Errorf("changes %q, want the leave of b", got)
				}
				return nil
			}); err != nil {
				t.Error(err)
			}
		})
	}
	// As after a session expiry: every child is read again.
	c.SessionEvent(zksession.SessionEvent{State: zksession.Reconnected, NewSession: true})
	if err := zktest.WaitFor(30*time.Second, 10*time.Millisecond, func() error {
		var err error
		c.Read(func(v *View) {
			if !v.Synced || len(v.Children) != 2 || v.Total != 2 {
				err = fmt.Errorf("synced %v, %d tracked, total %d", v.Synced, len(v.Children), v.Total)
			}
		})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// c is still followed, and b was neither joined nor left again.
	if err := actor.Delete("/s/c", -1); err != nil {
		t.Fatal(err)
	}
	log.expect(t, "leave c")
}
