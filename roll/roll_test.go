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

package roll

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/fourlw"
	"github.com/zkwatch/zkwatch/internal/quorum"
)

const epoch = fourlw.Zxid(3 << 32)

func member(addr string, id int, mode string, zxid fourlw.Zxid) State {
	return State{Addr: addr, ID: id, Mode: mode, Imok: true, Zxid: zxid, Observer: mode == "observer",
		PeerState: map[string]string{"leader": "leading - broadcast", "follower": "following - broadcast", "observer": "observing - broadcast"}[mode]}
}

// view builds a View from states, as Observe does.
func view(ms ...State) View {
	v := View{Members: ms, Leader: -1}
	for i, m := range ms {
		if m.Mode == "leader" {
			v.Leaders++
			v.Leader = i
		}
	}
	if v.Leaders != 1 {
		v.Leader = -1
	}
	return v
}

func addrs(v View, order []int) string {
	var out []string
	for _, i := range order {
		out = append(out, v.Members[i].Addr)
	}
	return strings.Join(out, ",")
}

func TestPlanFollowersObserversLeaderLast(t *testing.T) {
	v := view(member("a", 1, "leader", epoch+5), member("o", 9, "observer", epoch+5),
		member("b", 2, "follower", epoch+5), member("c", 3, "follower", epoch+5))
	if got, want := addrs(v, Plan(v)), "b,c,o,a"; got != want {
		t.Errorf("plan %s, want %s", got, want)
	}
	// Roles are read again before each step: b became leader after a's
	// (someone else's) restart, so b waits for the end and a is a follower.
	done := map[string]bool{"c": true}
	v2 := view(member("a", 1, "follower", epoch+9), member("o", 9, "observer", epoch+9),
		member("b", 2, "leader", epoch+9), member("c", 3, "follower", epoch+9))
	var got []string
	for i := Next(v2, done); i >= 0; i = Next(v2, done) {
		got = append(got, v2.Members[i].Addr)
		done[v2.Members[i].Addr] = true
	}
	if strings.Join(got, ",") != "a,o,b" {
		t.Errorf("after a leader change: %v, want a,o,b", got)
	}
	// A leader already restarted (it won the election again) is not restarted twice.
	if i := Next(v2, map[string]bool{"a": true, "b": true, "c": true, "o": true}); i != -1 {
		t.Errorf("every member done: Next = %d, want -1", i)
	}
}

func TestDegraded(t *testing.T) {
	healthy := func() []State {
		return []State{member("a", 1, "leader", epoch+5), member("b", 2, "follower", epoch+5), member("c", 3, "follower", epoch+5)}
	}
	if err := view(healthy()...).Degraded(); err != nil {
		t.Fatalf("healthy ensemble: %v", err)
	}
	// A new leader's epoch without a write yet: the followers' zxids are
	// of the epoch before (measured on 3.8), and they lack nothing.
	fresh := healthy()
	fresh[0].Zxid, fresh[1].Zxid, fresh[2].Zxid = epoch+(1<<32), epoch+7, epoch+7
	if err := view(fresh...).Degraded(); err != nil {
		t.Errorf("new epoch without a transaction: %v", err)
	}
	for _, c := range []struct {
		name   string
		change func(ms []State)
		want   string
	}{
		{"member down", func(ms []State) {
			ms[2] = State{Addr: "c", Err: &fourlw.Error{Addr: "c", Cmd: "srvr", Err: fourlw.ErrConnRefused}}
		}, "c: c srvr: connection refused"},
		{"not imok", func(ms []State) { ms[1].Imok = false }, "b: does not answer ruok with imok"},
		{"no leader", func(ms []State) { ms[0].Mode = "follower" }, "0 leaders"},
		{"two leaders", func(ms []State) { ms[1].Mode = "leader" }, "2 leaders"},
		{"follower lagging", func(ms []State) { ms[2].Zxid = epoch + 2 }, "c: zxid 0x300000002 is 3 transactions behind"},
		{"follower of an older epoch", func(ms []State) { ms[2].Zxid = epoch - 1 }, "c: zxid 0x2ffffffff is 5 transactions behind"},
		{"follower still synchronising", func(ms []State) { ms[1].PeerState = "following - synchronization" }, "b: peer state"},
		{"fewer members listed than configured", func(ms []State) { ms[0].Members = 5 }, "its configuration has 5 members, 3 listed"},
	} {
		ms := healthy()
		c.change(ms)
		err := view(ms...).Degraded()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want it to contain %q", c.name, err, c.want)
		}
	}
}

func TestGuardCountsVotersOnly(t *testing.T) {
	// 3 voters and 2 observers: with one voter down, restarting another
	// voter leaves 1 of 3 (refused) although 3 members would still serve.
	down := State{Addr: "c", Err: &fourlw.Error{Addr: "c", Cmd: "srvr", Err: fourlw.ErrConnRefused}}
	v := view(member("a", 1, "leader", epoch), member("b", 2, "follower", epoch), down,
		member("o1", 4, "observer", epoch), member("o2", 5, "observer", epoch))
	v.Members[0].Voters = 3
	if v.Voters() != 3 {
		t.Fatalf("voters %d, want 3", v.Voters())
	}
	if got := len(v.Answers(1)); got != 2 {
		t.Errorf("guard asks %d voters besides b, want 2", got)
	}
	if err := quorum.Check(v.Voters(), "b", true, v.Answers(1)); err == nil || !strings.Contains(err.Error(), "only 1 of the other members serve, 2 needed") {
		t.Errorf("restarting b with c down: %v", err)
	}
	if err := quorum.Check(v.Voters(), "o1", true, v.Answers(3)); err != nil {
		t.Errorf("restarting an observer with 2 of 3 voters serving: %v", err)
	}
}

func TestTemplateRefusesOptionInjection(t *testing.T) {
	tmpl, err := ParseTemplate([]string{"ssh", "{{.Host}}", "sudo", "restart-zk", "--id={{.ID}}", "{{.Port}}"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMember("zk2.example:2181", 2)
	if err != nil {
		t.Fatal(err)
	}
	argv, err := tmpl.Render(m)
	if err != nil || strings.Join(argv, " ") != "ssh zk2.example sudo restart-zk --id=2 2181" {
		t.Fatalf("argv %q, %v", argv, err)
	}
	for _, addr := range []string{"-oProxyCommand=x:2181", "zk1:-1", "zk 1:2181", "zk1;reboot:2181", "zk1"} {
		if _, err := NewMember(addr, 1); err == nil {
			t.Errorf("member %q accepted", addr)
		}
	}
	// The value starts with '-' only through the template's own text.
	dash, err := ParseTemplate([]string{"restart", "{{.Host}}{{.Port}}"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dash.Render(Member{Addr: "x", Host: "", Port: "-9"}); err == nil || !strings.Contains(err.Error(), "would read as an option") {
		t.Errorf("rendered '-9' accepted: %v", err)
	}
	if _, err := tmpl.Render(Member{Addr: "zk1:2181", Host: "zk1", Port: "2181"}); err == nil || !strings.Contains(err.Error(), "server id") {
		t.Errorf("unknown id rendered: %v", err)
	}
	for _, bad := range [][]string{nil, {"{{.Host}}"}, {"restart", "{{.Nope}}"}, {"restart", "{{"}} {
		if _, err := ParseTemplate(bad); err == nil {
			t.Errorf("template %q accepted", bad)
		}
	}
}

func TestRecorders(t *testing.T) {
	s := Step{Step: 2, Member: "127.0.0.1:2181", ID: 3, Role: "leader", Action: "restart", Command: []string{"restart", "3"},
		Started: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC), Duration: 2500 * time.Millisecond, Outcome: OutcomeOK, ZxidLag: 0}
	var table bytes.Buffer
	rec := TableRecorder(&table)
	rec(s)
	s.Outcome, s.ZxidLag, s.Reason = OutcomeNotBack, -1, "did not serve again"
	rec(s)
	lines := strings.Split(strings.TrimSpace(table.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "STEP") {
		t.Fatalf("table:\n%s", table.String())
	}
	for i, want := range [][]string{{"2", "127.0.0.1:2181", "3", "leader", "restart", "2026-12-07T10:00:00Z", "2.5s", "ok", "0", "restart", "3"},
		{"2", "127.0.0.1:2181", "3", "leader", "restart", "2026-12-07T10:00:00Z", "2.5s", "not_back", "-", "did", "not", "serve", "again"}} {
		if got := strings.Fields(lines[i+1]); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("row %d: %q, want %q", i+1, got, want)
		}
	}
	var js bytes.Buffer
	JSONRecorder(&js)(s)
	var got map[string]any
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["duration_seconds"] != 2.5 || got["outcome"] != "not_back" || got["zxid_lag"] != -1.0 || got["role"] != "leader" {
		t.Errorf("json %s", js.String())
	}
}

func TestStopErrorNamesMember(t *testing.T) {
	err := error(&StopError{Step: Step{Step: 3, Member: "zk3:2181", ID: 3, Role: "follower", Outcome: OutcomeNotBack, Reason: "refused"},
		Pending: []string{"zk4:2181", "zk1:2181"}})
	var se *StopError
	if !errors.As(err, &se) || err.Error() != "stopped at step 3, member zk3:2181 (id 3, follower): not_back: refused; not restarted: zk4:2181, zk1:2181" {
		t.Errorf("%v", err)
	}
}
