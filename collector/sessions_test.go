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
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/fourlw"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

// TestGroupsSpreadOverSessions watches five groups with one session per
// item (at most maxSessions): every group follows its members on its own
// session, through an expiry of every session, and the sessions' metrics
// read as one session's. A reload that leaves one group closes the
// sessions left without items.
func TestGroupsSpreadOverSessions(t *testing.T) {
	e := watchEnsemble(t)
	servers := e.Addrs()
	proxy := proxied(t, servers)
	actor := dial(t, servers)
	const groups = 5
	var paths []string
	for g := 0; g < groups; g++ {
		p := fmt.Sprintf("/spread/g%d", g)
		mkdirs(t, actor, p)
		for _, m := range []string{"a", "b"} {
			mustCreate(t, actor, p+"/"+m, "", zk.FlagEphemeral)
		}
		paths = append(paths, p)
	}
	cfgDir := t.TempDir()
	cfg := writeFile(t, cfgDir, "watch.yml", "groups:\n  - path: "+strings.Join(paths, "\n  - path: ")+"\n")
	x := newWatchExporter(t, proxy.Addrs(), watchFlags{configFile: cfg, sessionTimout: 2 * time.Second, itemsPerSession: 1})
	members := func(n float64, extra map[string]float64) want {
		w := want{values: map[string]float64{}}
		for _, p := range paths {
			w.values[fmt.Sprintf(`zookeeper_group_members{group=%q}`, p)] = n
			w.values[fmt.Sprintf(`zookeeper_watch_synced{root=%q}`, p)] = 1
		}
		for k, v := range extra {
			w.values[k] = v
		}
		return w
	}
	x.waitFor(members(2, map[string]float64{`zookeeper_exporter_session_state{state="connected"}`: 1}))
	ms := x.zc.watcher.managers()
	if len(ms) != maxSessions {
		t.Fatalf("%d sessions for %d groups, want %d", len(ms), groups, maxSessions)
	}
	ids := map[int64]bool{}
	for _, m := range ms {
		ids[m.SessionID()] = true
	}
	if len(ids) != maxSessions || ids[0] {
		t.Fatalf("session IDs %v, want %d distinct live sessions", ids, maxSessions)
	}
	markers := x.markSessions(t, "/spread")
	for _, p := range paths {
		mustDelete(t, actor, p+"/a")
	}
	x.waitFor(members(1, nil))

	// Every session expires; meanwhile b leaves and c joins everywhere.
	proxy.Blackhole()
	x.waitFor(want{values: map[string]float64{`zookeeper_exporter_session_state{state="connected"}`: 0}})
	for _, p := range paths {
		mustDelete(t, actor, p+"/b")
		mustCreate(t, actor, p+"/c", "", zk.FlagEphemeral)
	}
	waitSessionsExpired(t, actor, markers)
	if err := zktest.WaitFor(30*time.Second, 50*time.Millisecond, func() error {
		out, err := fourlw.Do(context.Background(), servers[0], "wchs", 1<<16)
		if err != nil {
			return err
		}
		if !strings.Contains(string(out), "Total watches:0") {
			return fmt.Errorf("watches remain: %s", out)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	proxy.Restore()
	after := members(1, map[string]float64{
		`zookeeper_exporter_session_state{state="reconnected"}`: 1,
		// Four sessions expired and reconnected at once: one incident.
		`zookeeper_exporter_session_expirations_total`: 1,
		`zookeeper_exporter_reconnects_total`:          1,
	})
	for _, p := range paths {
		after.values[fmt.Sprintf(`zookeeper_group_member_up{group=%q,member="b"}`, p)] = 0
		after.values[fmt.Sprintf(`zookeeper_group_member_up{group=%q,member="c"}`, p)] = 1
	}
	x.waitFor(after)
	// Watches were set again on every session.
	for _, p := range paths {
		mustDelete(t, actor, p+"/c")
	}
	x.waitFor(members(0, nil))

	// Down to one group: the other sessions close.
	writeFile(t, cfgDir, "watch.yml", "groups:\n  - path: "+paths[4]+"\n")
	if err := x.zc.Reload(); err != nil {
		t.Fatal(err)
	}
	if ms := x.zc.watcher.managers(); len(ms) != 1 {
		t.Errorf("%d sessions for one group, want 1", len(ms))
	}
	mustCreate(t, actor, paths[4]+"/d", "", zk.FlagEphemeral)
	x.waitFor(want{values: map[string]float64{
		fmt.Sprintf(`zookeeper_group_members{group=%q}`, paths[4]): 1,
		`zookeeper_exporter_session_expirations_total`:             1,
	}, absent: []string{fmt.Sprintf(`zookeeper_group_members{group=%q}`, paths[0])}})
}

// TestWatchesResentAfterReconnect: after a reconnection within the
// session, the client sends the session's watches again, here more than
// the send buffer of a watch session holds (in batches of 128 KiB of
// paths); a member's data change after it is seen.
func TestWatchesResentAfterReconnect(t *testing.T) {
	e := watchEnsemble(t)
	servers := e.Addrs()
	proxy := proxied(t, servers)
	actor := dial(t, servers)
	mkdirs(t, actor, "/big")
	// 1,400 watched paths of 205 bytes: 287 KiB of paths.
	const n = 1400
	name := func(i int) string { return fmt.Sprintf("%0200d", i) }
	if n*(len("/big/")+len(name(0))) <= watchSendBuffer {
		t.Fatal("the paths fit in one send buffer: the test proves nothing")
	}
	for i := 0; i < n; i++ {
		mustCreate(t, actor, "/big/"+name(i), "h1:10.0.0.1", 0)
	}
	x := newWatchExporter(t, proxy.Addrs(), watchFlags{groups: []string{"/big"}})
	info := func(host, ip string) string {
		return fmt.Sprintf(`zookeeper_group_member_info{group="/big",host=%q,ip=%q,member=%q}`, host, ip, name(n-1))
	}
	x.waitFor(want{values: map[string]float64{`zookeeper_group_members{group="/big"}`: n, info("h1", "10.0.0.1"): 1}})
	proxy.Blackhole()
	x.waitFor(want{values: map[string]float64{`zookeeper_exporter_session_state{state="suspended"}`: 1}})
	proxy.Restore()
	x.waitFor(want{values: map[string]float64{
		`zookeeper_exporter_session_state{state="reconnected"}`: 1,
		`zookeeper_watch_synced{root="/big"}`:                   1,
	}})
	if _, err := actor.Set("/big/"+name(n-1), []byte("h2:10.0.0.2"), -1); err != nil {
		t.Fatal(err)
	}
	x.waitFor(want{values: map[string]float64{
		info("h2", "10.0.0.2"):                         1,
		`zookeeper_exporter_session_expirations_total`: 0,
		`zookeeper_exporter_reconnects_total`:          1,
	}, absent: []string{info("h1", "10.0.0.1")}})
	for i := 0; i < n; i++ {
		if err := actor.Delete("/big/"+name(i), -1); err != nil {
			t.Fatal(err)
		}
	}
}
