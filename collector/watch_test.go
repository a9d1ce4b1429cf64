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
	"net"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

func TestNothingToWatchDoesNotConnect(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := l.Accept(); err == nil {
			accepted <- struct{}{}
			c.Close()
		}
	}()
	x := newWatchExporter(t, []string{l.Addr().String()}, watchFlags{})
	got, err := x.scrape()
	if err != nil {
		t.Fatal(err)
	}
	for k := range got {
		if k != `zookeeper_scrape_collector_duration_seconds` && !hasPrefix(k, "zookeeper_scrape_collector_") {
			t.Errorf("unexpected series %s with nothing to watch", k)
		}
	}
	if ms := x.zc.watcher.managers(); len(ms) != 0 {
		t.Error("a session manager exists with nothing to watch")
	}
	select {
	case <-accepted:
		t.Error("connected to ZooKeeper with nothing to watch")
	default:
	}
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// TestGroupViewSurvivesLeaderLoss kills the leader of a 3-member ensemble:
// the exporter reconnects to another member within its session and the
// view stays whole.
func TestGroupViewSurvivesLeaderLoss(t *testing.T) {
	// Sessions long enough to outlive a slow election on a busy machine.
	e := zktest.Start(t, 3, func(o *zktest.Options) { o.Extra = map[string]string{"maxSessionTimeout": "30000"} })
	if err := e.WaitHealthy(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	servers := e.Addrs()
	actor := dialTimeout(t, servers, 20*time.Second)
	mkdirs(t, actor, "/monitor/q")
	for _, m := range []string{"a", "b"} {
		mustCreate(t, actor, "/monitor/q/"+m, "", zk.FlagEphemeral)
	}
	x := newWatchExporter(t, servers, watchFlags{groups: []string{"/monitor/q"}, sessionTimout: 20 * time.Second})
	x.waitFor(want{values: map[string]float64{
		`zookeeper_group_members{group="/monitor/q"}`: 2,
		`zookeeper_watch_synced{root="/monitor/q"}`:   1,
	}})
	leader := e.Leader()
	e.Kill(leader)
	if _, err := e.WaitLeaderOtherThan(leader, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, actor, "/monitor/q/c", "", zk.FlagEphemeral)
	x.waitFor(want{values: map[string]float64{
		`zookeeper_group_members{group="/monitor/q"}`:                             3,
		`zookeeper_group_member_up{group="/monitor/q",member="a"}`:                1,
		`zookeeper_group_member_up{group="/monitor/q",member="b"}`:                1,
		`zookeeper_group_member_up{group="/monitor/q",member="c"}`:                1,
		`zookeeper_group_member_changes_total{change="join",group="/monitor/q"}`:  1,
		`zookeeper_group_member_changes_total{change="leave",group="/monitor/q"}`: 0,
		`zookeeper_watch_synced{root="/monitor/q"}`:                               1,
		`zookeeper_exporter_session_expirations_total`:                            0,
	}})
	// Every member drops its clients when the quorum is lost: the view
	// above came through a reconnection.
	if v := x.value(`zookeeper_exporter_reconnects_total`); v < 1 {
		t.Errorf("reconnects = %v, want at least 1", v)
	}
}

// TestWatchDigestAuthAndChroot reads a group readable only with digest
// credentials, under a chroot, and checks the forget-after of a member.
func TestWatchDigestAuthAndChroot(t *testing.T) {
	e := watchEnsemble(t)
	servers := e.Addrs()
	admin := dial(t, servers)
	mkdirs(t, admin, "/app")
	if _, err := admin.Create("/app/private", nil, 0, zk.DigestACL(zk.PermAll, "exporter", "s3cret")); err != nil {
		t.Fatal(err)
	}
	if err := admin.AddAuth("digest", []byte("exporter:s3cret")); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, admin, "/app/private/p1", "", zk.FlagEphemeral)
	mustCreate(t, admin, "/app/private/p2", "", zk.FlagEphemeral)
	digest := writeFile(t, t.TempDir(), "digest", "# user:password\nexporter:s3cret\n")
	x := newWatchExporter(t, servers, watchFlags{groups: []string{"/private"}, chroot: "/app", digestFile: digest, forgetAfter: time.Nanosecond})
	x.waitFor(want{values: map[string]float64{
		`zookeeper_group_members{group="/private"}`:               2,
		`zookeeper_group_member_up{group="/private",member="p1"}`: 1,
		`zookeeper_watch_synced{root="/private"}`:                 1,
	}})
	if v := x.value(`zookeeper_watch_errors_total{reason="acl",root="/private"}`); v != 0 {
		t.Errorf("acl errors = %v with credentials", v)
	}
	// With a tiny forget-after, a member that leaves is dropped at the
	// next scrape instead of staying at 0.
	mustDelete(t, admin, "/app/private/p1")
	x.waitFor(want{values: map[string]float64{
		`zookeeper_group_members{group="/private"}`:                             1,
		`zookeeper_group_member_changes_total{change="leave",group="/private"}`: 1,
	}, absent: []string{`zookeeper_group_member_up{group="/private",member="p1"}`}})
}
