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
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// watchFlags is the part of WatchOptions a test sets; zero values get the
// flag defaults, with a shorter session timeout.
type watchFlags struct {
	groups        []string
	configFile    string
	forgetAfter   time.Duration
	maxMembers    int
	sessionTimout time.Duration
	digestFile    string
	chroot        string
	// itemsPerSession replaces the watch sessions' share of items.
	itemsPerSession int
}

func (f watchFlags) options() WatchOptions {
	o := DefaultWatchOptions()
	o.SessionTimeout = 4 * time.Second
	o.Groups, o.ConfigFile, o.DigestFile, o.Chroot = f.groups, f.configFile, f.digestFile, f.chroot
	if f.forgetAfter != 0 {
		o.ForgetAfter = f.forgetAfter
	}
	if f.maxMembers != 0 {
		o.MaxMembers = f.maxMembers
	}
	if f.sessionTimout != 0 {
		o.SessionTimeout = f.sessionTimout
	}
	return o
}

var watchCollectorNames = []string{"session", "group", "tasks", "lock", "election", "znode", "queue", "guardrails"}

// watchExporter is the watch collectors built against servers, scraped
// through a pedantic registry (scrape in ensemble_integration_test.go).
type watchExporter struct {
	t  *testing.T
	zc *ZooKeeperCollector
}

func newWatchExporter(t *testing.T, servers []string, f watchFlags) *watchExporter {
	t.Helper()
	zc, err := New(Config{Servers: servers, Timeout: 5 * time.Second, Watch: f.options(), itemsPerSession: f.itemsPerSession}, log.NewNopLogger(), watchCollectorNames...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(zc.Close)
	return &watchExporter{t: t, zc: zc}
}

func (e *watchExporter) scrape() (map[string]float64, error) { return scrape(e.t, e.zc), nil }

// want is a set of expected series values; absent lists series that must
// not exist.
type want struct {
	values map[string]float64
	absent []string
}

func (e *watchExporter) check(w want) error {
	got, err := e.scrape()
	if err != nil {
		return err
	}
	var bad []string
	keys := make([]string, 0, len(w.values))
	for k := range w.values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v, ok := got[k]; !ok {
			bad = append(bad, k+" missing")
		} else if v != w.values[k] {
			bad = append(bad, fmt.Sprintf("%s = %v, want %v", k, v, w.values[k]))
		}
	}
	for _, k := range w.absent {
		if _, ok := got[k]; ok {
			bad = append(bad, k+" present")
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return nil
}

// waitFor waits for the series to reach the values.
func (e *watchExporter) waitFor(w want) {
	e.t.Helper()
	if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error { return e.check(w) }); err != nil {
		e.t.Fatal(err)
	}
}

func (e *watchExporter) value(key string) float64 {
	e.t.Helper()
	got, err := e.scrape()
	if err != nil {
		e.t.Fatal(err)
	}
	return got[key]
}

// dial opens a plain client session for a test actor.
func dial(t testing.TB, servers []string) *zk.Conn {
	t.Helper()
	return dialTimeout(t, servers, 4*time.Second)
}

func dialTimeout(t testing.TB, servers []string, timeout time.Duration) *zk.Conn {
	t.Helper()
	c, _, err := zk.Connect(servers, timeout, zk.WithLogInfo(false), zk.WithLogger(nopZKLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := zktest.WaitFor(30*time.Second, 10*time.Millisecond, func() error {
		if c.State() != zk.StateHasSession {
			return fmt.Errorf("state %s", c.State())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return c
}

type nopZKLogger struct{}

func (nopZKLogger) Printf(string, ...any) {}

// mkdirs creates persistent nodes along p.
func mkdirs(t testing.TB, c *zk.Conn, p string) {
	t.Helper()
	cur := ""
	for _, seg := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		cur += "/" + seg
		if _, err := c.Create(cur, nil, 0, zk.WorldACL(zk.PermAll)); err != nil && err != zk.ErrNodeExists {
			t.Fatalf("create %s: %v", cur, err)
		}
	}
}

func mustCreate(t testing.TB, c *zk.Conn, p string, data string, flags int32) string {
	t.Helper()
	name, err := c.Create(p, []byte(data), flags, zk.WorldACL(zk.PermAll))
	if err != nil {
		t.Fatalf("create %s: %v", p, err)
	}
	return name
}

func mustDelete(t testing.TB, c *zk.Conn, p string) {
	t.Helper()
	if err := c.Delete(p, -1); err != nil {
		t.Fatalf("delete %s: %v", p, err)
	}
}

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// in returns the exporter reporting to t (for subtests).
func (e *watchExporter) in(t *testing.T) *watchExporter {
	c := *e
	c.t = t
	return &c
}

// proxied returns a proxy in front of servers, closed at the end of the
// test: tests black-hole the exporter's connections through it.
func proxied(t testing.TB, servers []string) *zktest.Proxy {
	t.Helper()
	proxy, err := zktest.NewProxy(servers...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	return proxy
}

// markSessions creates an ephemeral node parent/session-N through each of
// the exporter's watch sessions: its disappearance tells that the server
// expired the session (a watch count also drops on a mere disconnection).
func (e *watchExporter) markSessions(t *testing.T, parent string) []string {
	t.Helper()
	var markers []string
	for i, m := range e.zc.watcher.managers() {
		p := fmt.Sprintf("%s/session-%d", parent, i)
		if _, err := m.Conn().Create(p, nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
		markers = append(markers, p)
	}
	return markers
}

// waitSessionsExpired waits until the markers of markSessions are gone.
func waitSessionsExpired(t *testing.T, actor *zk.Conn, markers []string) {
	t.Helper()
	if err := zktest.WaitFor(30*time.Second, 50*time.Millisecond, func() error {
		for _, p := range markers {
			if ok, _, err := actor.Exists(p); err != nil || ok {
				return fmt.Errorf("%s: exists %v (%v): session not expired", p, ok, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
