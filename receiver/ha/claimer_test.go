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

package ha

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/zkwatch/zkwatch/internal/zksession"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

func newClaimer(t *testing.T, servers []string, name string) (*Claimer, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	c, err := New(Options{Session: zksession.Options{Servers: servers, SessionTimeout: 4 * time.Second},
		Path: "/zkwatch/receiver", Replica: name}, reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	closed := false
	var mu sync.Mutex
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if !closed {
			c.Close()
		}
	})
	if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error {
		if !c.Connected() {
			return errors.New("not connected")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return c, reg
}

func claimCount(c *Claimer, result string) float64 {
	return testutil.ToFloat64(c.claims.WithLabelValues(result))
}

// Many concurrent claims of one key from two replicas: exactly one wins,
// and once the winner recorded its outcome every other claim sees it.
func TestClaimExactlyOnce(t *testing.T) {
	e := zktest.Start(t, 1)
	a, reg := newClaimer(t, e.Addrs(), "a")
	b, _ := newClaimer(t, e.Addrs(), "b")
	// Every result value exists from the start.
	if n := testutil.CollectAndCount(reg, "zkwatch_receiver_ha_claims_total"); n != len(results) {
		t.Fatalf("claims_total has %d series, want %d", n, len(results))
	}
	if v := testutil.ToFloat64(a.connected); v != 1 {
		t.Fatalf("connected = %v", v)
	}
	k := Key{Incident: "0000000000aabbccddee", Action: "restart/zk member", Attempt: 1}
	var (
		mu   sync.Mutex
		wins []string
		wg   sync.WaitGroup
	)
	for i := 0; i < 20; i++ {
		c := a
		if i%2 == 1 {
			c = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.Claim(context.Background(), k)
			if err != nil {
				t.Error(err)
				return
			}
			if res.Won {
				mu.Lock()
				wins = append(wins, c.Replica())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// The winner's own repeated claims also report Won (it holds the
	// lease), so all wins name one replica, and the other never won.
	if len(wins) == 0 {
		t.Fatal("nobody won the claim")
	}
	for _, w := range wins {
		if w != wins[0] {
			t.Fatalf("both replicas won: %v", wins)
		}
	}
	winner, loser := a, b
	if wins[0] == "b" {
		winner, loser = b, a
	}
	if claimCount(loser, ResultPending) != 10 || claimCount(loser, ResultWon) != 0 {
		t.Fatalf("loser: pending %v won %v", claimCount(loser, ResultPending), claimCount(loser, ResultWon))
	}
	winner.Record(k, "success")
	if err := zktest.WaitFor(10*time.Second, 20*time.Millisecond, func() error {
		res, err := loser.Claim(context.Background(), k)
		if err != nil {
			return err
		}
		if res.Won || res.Outcome != "success" || res.Owner != winner.Replica() {
			return fmt.Errorf("loser sees %+v", res)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The lease went with the recorded outcome.
	conn := dial(t, e)
	if ok, _, err := conn.Exists(winner.claimPath(k) + "/" + leaseNode); err != nil || ok {
		t.Fatalf("lease still there after the outcome: %v %v", ok, err)
	}
	var d claimData
	raw, _, err := conn.Get(winner.claimPath(k))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &d); err != nil || d.Owner != winner.Replica() || d.Outcome != "success" {
		t.Fatalf("claim data %s: %v", raw, err)
	}
}

func dial(t *testing.T, e *zktest.Ensemble) *zk.Conn {
	t.Helper()
	conn, _, err := zk.Connect(e.Addrs(), 4*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	return conn
}

// A claim whose owner's session ends before it records an outcome is
// pending while the session lives and taken over once it is gone; the
// next attempt waits for the previous one in the same way.
func TestTakeoverAfterOwnerSessionEnds(t *testing.T) {
	e := zktest.Start(t, 1)
	a, _ := newClaimer(t, e.Addrs(), "a")
	b, _ := newClaimer(t, e.Addrs(), "b")
	k1 := Key{Incident: "0000000000aabbccddee", Action: "restart/r", Attempt: 1}
	k2 := k1
	k2.Attempt = 2
	if res, err := a.Claim(context.Background(), k1); err != nil || !res.Won {
		t.Fatalf("a: %+v %v", res, err)
	}
	for _, k := range []Key{k1, k2} {
		res, err := b.Claim(context.Background(), k)
		if err != nil || !res.Pending() || res.Owner != "a" {
			t.Fatalf("b on attempt %d while a lives: %+v %v", k.Attempt, res, err)
		}
	}
	a.m.Close() // a's session ends without an outcome
	res, err := b.Claim(context.Background(), k1)
	if err != nil || !res.Won || res.TakenOver != "a" {
		t.Fatalf("b after a's session ended: %+v %v", res, err)
	}
	if claimCount(b, ResultTakenOver) != 1 {
		t.Fatalf("taken_over = %v", claimCount(b, ResultTakenOver))
	}
	// A third replica on attempt 2 marks attempt 1 abandoned once b's
	// session is gone too.
	c, _ := newClaimer(t, e.Addrs(), "c")
	if res, err := c.Claim(context.Background(), k2); err != nil || !res.Pending() || res.Owner != "b" {
		t.Fatalf("c on attempt 2 while b holds attempt 1: %+v %v", res, err)
	}
	b.m.Close()
	if res, err := c.Claim(context.Background(), k2); err != nil || !res.Won {
		t.Fatalf("c on attempt 2 after b's session ended: %+v %v", res, err)
	}
	conn := dial(t, e)
	raw, _, err := conn.Get(c.claimPath(k1))
	if err != nil || !strings.Contains(string(raw), `"outcome":"abandoned"`) {
		t.Fatalf("attempt 1 claim: %s %v", raw, err)
	}
}

// Without a session, claims fail with ErrUnavailable and count as such.
func TestClaimUnavailable(t *testing.T) {
	e := zktest.Start(t, 1)
	a, _ := newClaimer(t, e.Addrs(), "a")
	e.Stop()
	if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error {
		if a.Connected() {
			return errors.New("still connected")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_, err := a.Claim(context.Background(), Key{Incident: "x", Action: "notify/n/firing", Attempt: 1})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
	if claimCount(a, ResultUnavailable) != 1 || testutil.ToFloat64(a.connected) != 0 {
		t.Fatalf("unavailable = %v connected = %v", claimCount(a, ResultUnavailable), testutil.ToFloat64(a.connected))
	}
}

// Cleanup removes the claims of incidents last written before the cut
// and keeps newer ones.
func TestCleanup(t *testing.T) {
	e := zktest.Start(t, 1)
	a, _ := newClaimer(t, e.Addrs(), "a")
	old := Key{Incident: "old", Action: "notify/n/firing", Attempt: 1}
	if _, err := a.Claim(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	cut := time.Now().Add(time.Second) // ZooKeeper's clock is this machine's
	if err := zktest.WaitFor(10*time.Second, 50*time.Millisecond, func() error {
		if time.Now().Before(cut.Add(10 * time.Millisecond)) {
			return errors.New("waiting for the cut to pass")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	recent := Key{Incident: "recent", Action: "notify/n/firing", Attempt: 1}
	if _, err := a.Claim(context.Background(), recent); err != nil {
		t.Fatal(err)
	}
	n, err := a.Cleanup(cut)
	if err != nil || n != 1 {
		t.Fatalf("Cleanup = %d, %v", n, err)
	}
	conn := dial(t, e)
	if ok, _, _ := conn.Exists(a.root + "/old"); ok {
		t.Fatal("old incident's claims kept")
	}
	if ok, _, _ := conn.Exists(a.claimPath(recent)); !ok {
		t.Fatal("recent claim removed")
	}
}

// With digest credentials and the creator ACL, replicas sharing the
// identity claim and read each other's claims; a client without it cannot
// read or take them.
func TestClaimsWithDigestACL(t *testing.T) {
	e := zktest.Start(t, 1)
	acl, err := zksession.ACL(zksession.ACLCreator, true)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(name string) *Claimer {
		c, err := New(Options{Session: zksession.Options{Servers: e.Addrs(), SessionTimeout: 4 * time.Second,
			Digest: []string{"zkwatch:secret"}}, Path: "/zkwatch/receiver", Replica: name, ACL: acl}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error {
			if !c.Connected() {
				return errors.New("not connected")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := mk("a"), mk("b")
	k := Key{Incident: "0000000000aabbccddee", Action: "notify/n/firing", Attempt: 1}
	if res, err := a.Claim(context.Background(), k); err != nil || !res.Won {
		t.Fatalf("a: %+v %v", res, err)
	}
	a.RecordDetail(k, "success", []byte(`{"argv":["/bin/true"],"duration":53881758}`))
	if res, err := b.Claim(context.Background(), k); err != nil || res.Won || res.Outcome != "success" {
		t.Fatalf("b: %+v %v", res, err)
	} else if string(res.Detail) != `{"argv":["/bin/true"],"duration":53881758}` {
		t.Errorf("b sees the owner's record %q", res.Detail)
	}
	if _, _, err := dial(t, e).Get(a.claimPath(k)); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("unauthenticated read: %v, want %v", err, zk.ErrNoAuth)
	}
}

// The watchdog's shared clock keeps the latest arrival any replica wrote
// and never moves back, so that replicas name an outage alike.
func TestWatchdogClock(t *testing.T) {
	e := zktest.Start(t, 1)
	a, _ := newClaimer(t, e.Addrs(), "a")
	b, _ := newClaimer(t, e.Addrs(), "b")
	if got, err := b.WatchdogLastSeen(); err != nil || !got.IsZero() {
		t.Fatalf("before any arrival: %v, %v", got, err)
	}
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 123456789, time.UTC)
	if err := a.WatchdogSeen(t0); err != nil {
		t.Fatal(err)
	}
	// b's copy of the same notification came a little earlier.
	if err := b.WatchdogSeen(t0.Add(-5 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Claimer{a, b} {
		if got, err := c.WatchdogLastSeen(); err != nil || !got.Equal(t0.Truncate(time.Millisecond)) {
			t.Errorf("%s: last seen %v, %v; want %v", c.Replica(), got, err, t0)
		}
	}
	if err := b.WatchdogSeen(t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, err := a.WatchdogLastSeen(); err != nil || !got.Equal(t0.Add(time.Minute).Truncate(time.Millisecond)) {
		t.Errorf("after b's later arrival: %v, %v", got, err)
	}
}

// A replica reads back what another published of an incident and the
// claims on it; a late first publication does not undo a final one.
func TestJournal(t *testing.T) {
	e := zktest.Start(t, 1)
	a, _ := newClaimer(t, e.Addrs(), "a")
	b, _ := newClaimer(t, e.Addrs(), "b")
	const id = "0000000000aabbccddee"
	if err := a.Publish(id, []byte(`{"status":"firing"}`), false); err != nil {
		t.Fatal(err)
	}
	k := Key{Incident: id, Action: "restart/member", Attempt: 1, UntilSuccess: true}
	if res, err := a.Claim(context.Background(), k); err != nil || !res.Won {
		t.Fatalf("claim %+v %v", res, err)
	}
	a.RecordDetail(k, "success", []byte(`{"argv":["/bin/true"]}`))
	n := Key{Incident: id, Action: "notify/one/firing", Attempt: 1}
	if res, err := a.Claim(context.Background(), n); err != nil || !res.Won {
		t.Fatalf("claim %+v %v", res, err)
	}
	if err := a.Publish(id, []byte(`{"status":"resolved"}`), true); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(id, []byte(`{"status":"firing"}`), false); err != nil {
		t.Fatal(err)
	}
	ids, err := b.Incidents()
	if err != nil || len(ids) != 1 || ids[0] != id {
		t.Fatalf("incidents %v %v", ids, err)
	}
	data, claims, err := b.Incident(id)
	if err != nil || string(data) != `{"status":"resolved"}` {
		t.Fatalf("data %s %v", data, err)
	}
	got := map[string]string{}
	for _, c := range claims {
		got[fmt.Sprintf("%s-%d", c.Action, c.Attempt)] = c.Owner + " " + c.Outcome + " " + string(c.Detail)
	}
	if got["restart/member-1"] != `a success {"argv":["/bin/true"]}` || got["notify/one/firing-1"] != "a  " || len(got) != 2 {
		t.Errorf("claims %q", got)
	}
}
