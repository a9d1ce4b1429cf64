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
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/collector/internal/series"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

// sharedEnsemble is one standalone server for the watch tests of this
// package that do not stop it.
func watchEnsemble(t *testing.T) *zktest.Ensemble {
	t.Helper()
	return zktest.Start(t, 1)
}

func TestGroupMembersFollowEphemerals(t *testing.T) {
	e := watchEnsemble(t)
	servers := e.Addrs()
	owner := dial(t, servers)
	other := dial(t, servers)
	mkdirs(t, owner, "/monitor/demo")
	mustCreate(t, owner, "/monitor/demo/web-1", "web-1:10.0.0.1", zk.FlagEphemeral)
	mustCreate(t, other, "/monitor/demo/web-2", `{"host":"web-2","ip":"10.0.0.2","port":8080}`, zk.FlagEphemeral)

	x := newWatchExporter(t, servers, watchFlags{groups: []string{"/monitor/demo", "/monitor/absent"}})
	x.waitFor(want{values: map[string]float64{
		`zookeeper_group_members{group="/monitor/demo"}`:                                               2,
		`zookeeper_group_member_up{group="/monitor/demo",member="web-1"}`:                              1,
		`zookeeper_group_member_up{group="/monitor/demo",member="web-2"}`:                              1,
		`zookeeper_group_member_info{group="/monitor/demo",host="web-1",ip="10.0.0.1",member="web-1"}`: 1,
		`zookeeper_group_member_info{group="/monitor/demo",host="web-2",ip="10.0.0.2",member="web-2"}`: 1,
		`zookeeper_group_member_changes_total{change="join",group="/monitor/demo"}`:                    0,
		`zookeeper_group_member_changes_total{change="leave",group="/monitor/demo"}`:                   0,
		`zookeeper_watch_synced{root="/monitor/demo"}`:                                                 1,
		`zookeeper_watch_synced{root="/monitor/absent"}`:                                               1,
		`zookeeper_znode_exists{path="/monitor/absent"}`:                                               0,
		`zookeeper_group_members{group="/monitor/absent"}`:                                             0,
		`zookeeper_exporter_session_state{state="connected"}`:                                          1,
	}})
	if since := x.value(`zookeeper_group_member_since_timestamp_seconds{group="/monitor/demo",member="web-1"}`); since < 1.7e9 {
		t.Errorf("member since = %v, want the znode's ctime", since)
	}

	// A join, then a delete.
	mustCreate(t, owner, "/monitor/demo/web-3", "", zk.FlagEphemeral)
	mustDelete(t, other, "/monitor/demo/web-2")
	x.waitFor(want{values: map[string]float64{
		`zookeeper_group_members{group="/monitor/demo"}`:                             2,
		`zookeeper_group_member_up{group="/monitor/demo",member="web-2"}`:            0,
		`zookeeper_group_member_up{group="/monitor/demo",member="web-3"}`:            1,
		`zookeeper_group_member_changes_total{change="join",group="/monitor/demo"}`:  1,
		`zookeeper_group_member_changes_total{change="leave",group="/monitor/demo"}`: 1,
	}, absent: []string{
		`zookeeper_group_member_info{group="/monitor/demo",host="web-2",ip="10.0.0.2",member="web-2"}`,
		`zookeeper_group_member_since_timestamp_seconds{group="/monitor/demo",member="web-2"}`,
	}})

	// The owner's session closes: its ephemerals go, their members go to 0.
	owner.Close()
	x.waitFor(want{values: map[string]float64{
		`zookeeper_group_members{group="/monitor/demo"}`:                             0,
		`zookeeper_group_member_up{group="/monitor/demo",member="web-1"}`:            0,
		`zookeeper_group_member_up{group="/monitor/demo",member="web-3"}`:            0,
		`zookeeper_group_member_changes_total{change="leave",group="/monitor/demo"}`: 3,
	}})

	// The missing root appears later and is picked up.
	mkdirs(t, other, "/monitor/absent")
	mustCreate(t, other, "/monitor/absent/late", "", zk.FlagEphemeral)
	x.waitFor(want{values: map[string]float64{
		`zookeeper_znode_exists{path="/monitor/absent"}`:                              1,
		`zookeeper_group_member_up{group="/monitor/absent",member="late"}`:            1,
		`zookeeper_group_member_changes_total{change="join",group="/monitor/absent"}`: 1,
	}})
}

// TestGroupViewSurvivesSessionExpiry black-holes the exporter's connection
// longer than its session timeout while members leave and join, then
// restores it.
func TestGroupViewSurvivesSessionExpiry(t *testing.T) {
	e := watchEnsemble(t)
	servers := e.Addrs()
	proxy := proxied(t, servers)
	actor := dial(t, servers)
	mkdirs(t, actor, "/monitor/blind")
	mkdirs(t, actor, "/monitor/blind-markers")
	for _, m := range []string{"a", "b", "c"} {
		mustCreate(t, actor, "/monitor/blind/"+m, "", zk.FlagEphemeral)
	}
	x := newWatchExporter(t, proxy.Addrs(), watchFlags{groups: []string{"/monitor/blind"}, sessionTimout: 2 * time.Second})
	x.waitFor(want{values: map[string]float64{
		`zookeeper_group_members{group="/monitor/blind"}`: 3,
		`zookeeper_watch_synced{root="/monitor/blind"}`:   1,
	}})

	markers := x.markSessions(t, "/monitor/blind-markers")
	if len(markers) != 1 {
		t.Fatalf("%d watch sessions, want 1", len(markers))
	}
	proxy.Blackhole()
	x.waitFor(want{values: map[string]float64{
		`zookeeper_watch_synced{root="/monitor/blind"}`:                0,
		`zookeeper_exporter_session_state{state="connected"}`:          0,
		`zookeeper_group_members{group="/monitor/blind"}`:              3, // last view kept
		`zookeeper_group_member_up{group="/monitor/blind",member="a"}`: 1,
	}})
	if s, l := x.value(`zookeeper_exporter_session_state{state="suspended"}`), x.value(`zookeeper_exporter_session_state{state="lost"}`); s+l != 1 {
		t.Errorf("blind session: suspended %v, lost %v; want one of them", s, l)
	}
	// While blind: a leaves, d joins, b is replaced (leaves and joins).
	mustDelete(t, actor, "/monitor/blind/a")
	mustCreate(t, actor, "/monitor/blind/d", "", zk.FlagEphemeral)
	mustDelete(t, actor, "/monitor/blind/b")
	mustCreate(t, actor, "/monitor/blind/b", "", zk.FlagEphemeral)
	waitSessionsExpired(t, actor, markers)
	if got := x.value(`zookeeper_watch_synced{root="/monitor/blind"}`); got != 0 {
		t.Errorf("synced while blind = %v, want 0", got)
	}
	proxy.Restore()
	x.waitFor(want{values: map[string]float64{
		`zookeeper_watch_synced{root="/monitor/blind"}`:                               1,
		`zookeeper_group_members{group="/monitor/blind"}`:                             3,
		`zookeeper_group_member_up{group="/monitor/blind",member="a"}`:                0,
		`zookeeper_group_member_up{group="/monitor/blind",member="b"}`:                1,
		`zookeeper_group_member_up{group="/monitor/blind",member="c"}`:                1,
		`zookeeper_group_member_up{group="/monitor/blind",member="d"}`:                1,
		`zookeeper_group_member_changes_total{change="join",group="/monitor/blind"}`:  2,
		`zookeeper_group_member_changes_total{change="leave",group="/monitor/blind"}`: 2,
		`zookeeper_exporter_session_expirations_total`:                                1,
		`zookeeper_exporter_reconnects_total`:                                         1,
		`zookeeper_exporter_session_state{state="reconnected"}`:                       1,
	}})
	// The view keeps following after the new session: watches were set again.
	mustDelete(t, actor, "/monitor/blind/c")
	x.waitFor(want{values: map[string]float64{
		`zookeeper_group_member_up{group="/monitor/blind",member="c"}`:                0,
		`zookeeper_group_member_changes_total{change="leave",group="/monitor/blind"}`: 3,
	}})
	// Nothing counted twice afterwards.
	if err := x.check(want{values: map[string]float64{
		`zookeeper_group_member_changes_total{change="join",group="/monitor/blind"}`: 2,
	}}); err != nil {
		t.Error(err)
	}
}

// TestGroupSeriesInLabelOrder: the group collector sends each family in
// label order (member_info by host, ip, then member), so that the scrape
// does not sort it, also after the view changed.
func TestGroupSeriesInLabelOrder(t *testing.T) {
	e := watchEnsemble(t)
	actor := dial(t, e.Addrs())
	mkdirs(t, actor, "/ordered/a")
	mkdirs(t, actor, "/ordered/b")
	// Hosts sort against the member names; m3 and m4 share host and ip.
	for m, data := range map[string]string{"m1": "z:10.0.0.1", "m2": "y:10.0.0.2", "m3": "x:10.0.0.3", "m4": "x:10.0.0.3", "m5": ""} {
		mustCreate(t, actor, "/ordered/a/"+m, data, zk.FlagEphemeral)
		mustCreate(t, actor, "/ordered/b/"+m, data, zk.FlagEphemeral)
	}
	x := newWatchExporter(t, e.Addrs(), watchFlags{groups: []string{"/ordered/a", "/ordered/b"}})
	gc := x.zc.Collectors["group"].(*groupCollector)
	info := map[string]string{"m0": "y:10.0.0.0", "m1": "z:10.0.0.1", "m2": "y:10.0.0.2", "m3": "x:10.0.0.3", "m4": "x:10.0.0.3"}
	check := func(members ...string) {
		t.Helper()
		// group_members counts the children as soon as they are listed,
		// before their data is read: wait for every member's info too.
		w := want{values: map[string]float64{}}
		for _, g := range []string{"/ordered/a", "/ordered/b"} {
			w.values[fmt.Sprintf(`zookeeper_group_members{group=%q}`, g)] = float64(len(members))
			for _, m := range members {
				if hostIP, ok := info[m]; ok {
					host, ip, _ := strings.Cut(hostIP, ":")
					w.values[fmt.Sprintf(`zookeeper_group_member_info{group=%q,host=%q,ip=%q,member=%q}`, g, host, ip, m)] = 1
				}
			}
		}
		for m := range info {
			if !slices.Contains(members, m) {
				host, ip, _ := strings.Cut(info[m], ":")
				w.absent = append(w.absent, fmt.Sprintf(`zookeeper_group_member_info{group="/ordered/a",host=%q,ip=%q,member=%q}`, host, ip, m))
			}
		}
		x.waitFor(w)
		sink := series.NewSink(false)
		if err := gc.collectSeries(context.Background(), sink); err != nil {
			t.Fatal(err)
		}
		byFam := map[string][]series.Sample{}
		for _, s := range sink.Samples() {
			byFam[s.Desc.Name()] = append(byFam[s.Desc.Name()], s)
		}
		if len(byFam["zookeeper_group_member_info"]) == 0 {
			t.Fatal("no member_info series")
		}
		for name, ss := range byFam {
			if name == "zookeeper_group_member_changes_total" {
				// Two series per group, labelled change first: the
				// scrape sorts them.
				continue
			}
			// Strictly increasing: in order, no two alike.
			for i := 1; i < len(ss); i++ {
				if series.Compare(ss[i-1], ss[i]) >= 0 {
					t.Errorf("%s not sent in label order", name)
					break
				}
			}
		}
	}
	check("m1", "m2", "m3", "m4", "m5")
	// A new member between the others, and one leaves: its member_up 0
	// comes in its place.
	mustCreate(t, actor, "/ordered/a/m0", "y:10.0.0.0", zk.FlagEphemeral)
	mustCreate(t, actor, "/ordered/b/m0", "y:10.0.0.0", zk.FlagEphemeral)
	mustDelete(t, actor, "/ordered/a/m2")
	mustDelete(t, actor, "/ordered/b/m2")
	check("m0", "m1", "m3", "m4", "m5")
	if err := x.check(want{values: map[string]float64{
		`zookeeper_group_member_up{group="/ordered/a",member="m2"}`: 0,
		`zookeeper_group_member_up{group="/ordered/a",member="m3"}`: 1,
	}}); err != nil {
		t.Error(err)
	}
}
