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

package fourlw_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/fourlw"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

func probe(t *testing.T, p fourlw.FourLetterProber, addr string, d time.Duration) *fourlw.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return p.Probe(ctx, addr, false)
}

// warmUp probes addr twice in quick succession, lets Warm open the next
// connections and waits until both wait.
func warmUp(t *testing.T, p fourlw.FourLetterProber, addr string) {
	t.Helper()
	for i := 0; i < 2; i++ {
		if st := probe(t, p, addr, 5*time.Second); !st.Up {
			t.Fatalf("probe: %v", st.Err)
		}
	}
	p.Warm.Open()
	if err := zktest.WaitFor(10*time.Second, 5*time.Millisecond, func() error {
		if n := p.Warm.Idle(addr); n != 2 {
			return errors.New("connections not opened")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// mntrValue returns a numeric field of a fresh, cold mntr of addr.
func mntrValue(t *testing.T, addr, key string) float64 {
	t.Helper()
	st := probe(t, fourlw.FourLetterProber{}, addr, 5*time.Second)
	for _, f := range st.Mntr {
		if f.Key == key && len(f.Labels) == 0 {
			return f.Value
		}
	}
	t.Fatalf("%s: no %s (%v)", addr, key, st.Err)
	return 0
}

// TestWarmAnswersAreCurrent checks that a connection opened in advance
// carries an answer of when the command is sent, not of when it was
// opened: a znode created in between is counted and its zxid is seen.
func TestWarmAnswersAreCurrent(t *testing.T) {
	e := zktest.Start(t, 1)
	addr := e.Addrs()[0]
	p := fourlw.FourLetterProber{Warm: fourlw.NewWarm(10*time.Second, nil)}
	defer p.Warm.Close()
	warmUp(t, p, addr)
	before := probe(t, fourlw.FourLetterProber{}, addr, 5*time.Second)
	conn, _, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Create("/warm", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if err := zktest.WriteChildren(conn, "/warm", 3); err != nil {
		t.Fatal(err)
	}
	st := probe(t, p, addr, 5*time.Second)
	if p.Warm.Idle(addr) != 0 {
		t.Errorf("the probe did not use the connections opened for it")
	}
	if !st.Up || st.Srvr.Zxid <= before.Srvr.Zxid || st.Srvr.NodeCount < before.Srvr.NodeCount+4 {
		t.Errorf("stale answer: zxid %#x → %#x, nodes %v → %v (%v)", uint64(before.Srvr.Zxid), uint64(st.Srvr.Zxid), before.Srvr.NodeCount, st.Srvr.NodeCount, st.Err)
	}
}

// TestWarmMemberRestarted checks that connections opened to a member that
// has since restarted do not make it look down: the probe dials anew.
func TestWarmMemberRestarted(t *testing.T) {
	e := zktest.Start(t, 1)
	addr := e.Addrs()[0]
	p := fourlw.FourLetterProber{Warm: fourlw.NewWarm(time.Minute, nil)}
	defer p.Warm.Close()
	warmUp(t, p, addr)
	if err := e.Restart(0); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitHealthy(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	if st := probe(t, p, addr, 5*time.Second); !st.Up || st.Mntr == nil || st.Srvr == nil {
		t.Fatalf("restarted member reported down over stale connections: %v", st.Err)
	}
	// A member that is gone is reported as such, not hidden.
	warmUp(t, p, addr)
	e.Kill(0)
	if st := probe(t, p, addr, 5*time.Second); st.Up || !errors.Is(st.Err, fourlw.ErrConnRefused) {
		t.Fatalf("killed member: up=%v err=%v, want connection refused", st.Up, st.Err)
	}
}

// TestWarmMemberPaused checks that a paused member times out over a
// connection opened in advance, as it does over a new one, and is up
// again once resumed.
func TestWarmMemberPaused(t *testing.T) {
	e := zktest.Start(t, 1)
	addr := e.Addrs()[0]
	p := fourlw.FourLetterProber{Warm: fourlw.NewWarm(time.Minute, nil)}
	defer p.Warm.Close()
	warmUp(t, p, addr)
	e.Pause(0)
	st := probe(t, p, addr, 500*time.Millisecond)
	e.Resume(0)
	if st.Up || !errors.Is(st.Err, fourlw.ErrTimeout) {
		t.Fatalf("paused member: up=%v err=%v, want a timeout", st.Up, st.Err)
	}
	if err := zktest.WaitFor(30*time.Second, 10*time.Millisecond, func() error {
		if st := probe(t, p, addr, 2*time.Second); !st.Up {
			return st.Err
		}
		return nil
	}); err != nil {
		t.Fatalf("resumed member: %v", err)
	}
}

// closeWait counts this process's sockets to addr in CLOSE_WAIT: answered
// connections not closed yet.
func closeWait(t *testing.T, addr string) int {
	t.Helper()
	_, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	data, err := os.ReadFile("/proc/self/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 3 && f[3] == "08" && strings.HasSuffix(f[2], fmt.Sprintf(":%04X", p)) {
			n++
		}
	}
	return n
}

// TestWarmClosesAnswered checks that the connections of a probe, answered
// and closed by the member, are closed by Open, not left in CLOSE_WAIT.
func TestWarmClosesAnswered(t *testing.T) {
	e := zktest.Start(t, 1)
	addr := e.Addrs()[0]
	p := fourlw.FourLetterProber{Warm: fourlw.NewWarm(time.Minute, nil)}
	defer p.Warm.Close()
	for i := 0; i < 3; i++ {
		if st := probe(t, p, addr, 5*time.Second); !st.Up {
			t.Fatal(st.Err)
		}
	}
	if n := closeWait(t, addr); n == 0 {
		t.Fatal("answered connections were closed before Open: the test sees nothing")
	}
	p.Warm.Open()
	if err := zktest.WaitFor(10*time.Second, 5*time.Millisecond, func() error {
		if n := closeWait(t, addr); n != 0 {
			return fmt.Errorf("%d connections in CLOSE_WAIT", n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestWarmRetiredQuietly checks that connections nobody used are ended
// with ruok: the server logs no warning about a client that closed without
// a command, counts no expired connection, and has none of them left.
func TestWarmRetiredQuietly(t *testing.T) {
	e := zktest.Start(t, 1)
	addr := e.Addrs()[0]
	base := mntrValue(t, addr, "zk_num_alive_connections")
	p := fourlw.FourLetterProber{Warm: fourlw.NewWarm(300*time.Millisecond, nil)}
	warmUp(t, p, addr) // retired by the idle timer
	if err := zktest.WaitFor(10*time.Second, 10*time.Millisecond, func() error {
		if n := p.Warm.Idle(addr); n != 0 {
			return errors.New("still waiting")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	warmUp(t, p, addr) // retired by Close
	p.Warm.Close()
	if p.Warm.Idle(addr) != 0 {
		t.Fatal("Close left connections")
	}
	if err := zktest.WaitFor(10*time.Second, 20*time.Millisecond, func() error {
		if n := mntrValue(t, addr, "zk_num_alive_connections"); n > base {
			return errors.New("connections left open on the server")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n := mntrValue(t, addr, "zk_sessionless_connections_expired"); n != 0 {
		t.Errorf("zk_sessionless_connections_expired = %v", n)
	}
	if log := e.LogTail(200); strings.Contains(log, "EndOfStreamException") {
		t.Errorf("the server warned about a connection closed without a command:\n%s", log)
	}
}
