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
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	"github.com/zkwatch/zkwatch/internal/fourlw"
	"github.com/zkwatch/zkwatch/internal/quorum"
)

// State is what one member said in one observation.
type State struct {
	Addr      string
	ID        int    // the member's server id (conf), 0 when not told
	Observer  bool   // peerType=observer (conf), or it says it observes
	Mode      string // srvr Mode: leader, follower, observer, ...; "" when it did not answer
	Imok      bool   // answered ruok with imok
	Zxid      fourlw.Zxid
	PeerState string // mntr zk_peer_state ("following - broadcast"), "" when not told
	Voters    int    // voting members in its conf, 0 when not told
	Members   int    // members in its conf, 0 when not told
	Err       error
}

// View is one observation of every member, in the operator's order.
type View struct {
	Members []State
	Leader  int // index of the one leader, -1 when there is none or more than one
	Leaders int
}

// Observe asks every member for its mode, zxid, peer state, membership
// and ruok, all at once. A member that looks behind the leader is asked
// for its zxid once more after the leader's answer, so that a write
// between the two answers is not taken for a lag.
func Observe(ctx context.Context, c *fourlw.Client, tc *tls.Config, addrs []string) View {
	v := View{Members: make([]State, len(addrs)), Leader: -1}
	done := make(chan struct{}, len(addrs))
	for i, a := range addrs {
		go func() {
			v.Members[i] = observe(ctx, c, tc, a, true)
			done <- struct{}{}
		}()
	}
	for range addrs {
		<-done
	}
	for i, m := range v.Members {
		if m.Mode == "leader" {
			v.Leaders++
			v.Leader = i
		}
	}
	if v.Leaders != 1 {
		v.Leader = -1
		return v
	}
	for i := range v.Members {
		if lag, ok := v.Lag(i); ok && lag > 0 {
			again := observe(ctx, c, tc, v.Members[i].Addr, false)
			if again.Err == nil {
				v.Members[i].Zxid, v.Members[i].PeerState = again.Zxid, again.PeerState
			}
		}
	}
	return v
}

func observe(ctx context.Context, c *fourlw.Client, tc *tls.Config, addr string, full bool) State {
	st := State{Addr: addr}
	p := c.Probe(ctx, addr, full)
	if p.Srvr != nil {
		st.Mode, st.Zxid = p.Srvr.Mode, p.Srvr.Zxid
	} else {
		st.Mode = p.Mode()
	}
	for _, f := range p.Mntr {
		if f.Key == "zk_peer_state" {
			st.PeerState = f.Text
		}
	}
	if p.Conf != nil {
		st.ID, st.Voters, st.Members = p.Conf.ServerID, p.Conf.Voters(), len(p.Conf.Members)
		for _, m := range p.Conf.Members {
			if m.ID == st.ID && m.Role == "observer" {
				st.Observer = true
			}
		}
	}
	st.Observer = st.Observer || st.Mode == "observer"
	switch {
	case !p.Up:
		st.Err = p.Err
	case p.NotServing || p.Srvr == nil:
		st.Err = errors.New("not serving (srvr answers no mode and zxid)")
	}
	if full {
		out, err := fourlw.DoTLS(ctx, tc, addr, "ruok", 16)
		st.Imok = err == nil && fourlw.ParseRuok(out)
	}
	return st
}

// Lag returns how many transactions member i is behind the leader, and
// false when it cannot be told (no leader, or the member gave no zxid). A
// member in an older epoch lacks every transaction of the leader's epoch;
// while there is none (a new leader's zxid is epoch<<32 until the first
// write, and the followers' keep the old epoch), it lacks nothing.
func (v View) Lag(i int) (uint64, bool) {
	m := v.Members[i]
	if v.Leader < 0 || m.Mode == "" || m.Err != nil {
		return 0, false
	}
	l := v.Members[v.Leader].Zxid
	if m.Zxid >= l {
		return 0, true
	}
	if m.Zxid.Epoch() < l.Epoch() {
		return uint64(l.Counter()), true
	}
	return uint64(l - m.Zxid), true
}

// Voters is the number of voting members the ensemble's configuration
// names (the leader's when there is one), or the members not observing.
func (v View) Voters() int {
	if v.Leader >= 0 && v.Members[v.Leader].Voters > 0 {
		return v.Members[v.Leader].Voters
	}
	n := 0
	for _, m := range v.Members {
		if m.Voters > 0 {
			return m.Voters
		}
		if !m.Observer {
			n++
		}
	}
	return n
}

// Serves tells why member i does not serve yet, or nil when it does: it
// answers imok, leads, follows or observes, is in broadcast (when it says)
// and has every transaction the leader had.
func (v View) Serves(i int) error {
	m := v.Members[i]
	switch {
	case m.Err != nil:
		return m.Err
	case !m.Imok:
		return errors.New("does not answer ruok with imok")
	case m.Mode != "leader" && m.Mode != "follower" && m.Mode != "observer":
		return fmt.Errorf("mode %q", m.Mode)
	case m.PeerState != "" && !strings.HasSuffix(m.PeerState, "- broadcast"):
		return fmt.Errorf("peer state %q (still synchronising)", m.PeerState)
	case v.Leader < 0:
		return fmt.Errorf("no single leader (%d leaders)", v.Leaders)
	}
	if lag, _ := v.Lag(i); lag > 0 {
		return fmt.Errorf("zxid %#x is %d transactions behind the leader's %#x", uint64(m.Zxid), lag, uint64(v.Members[v.Leader].Zxid))
	}
	return nil
}

// Degraded returns nil when the ensemble is whole: every member serves
// and is caught up, there is exactly one leader, and the configuration
// names as many members as the operator listed. Otherwise its error names
// every problem.
func (v View) Degraded() error {
	var problems []string
	if v.Leaders != 1 {
		problems = append(problems, fmt.Sprintf("%d leaders", v.Leaders))
	}
	for i, m := range v.Members {
		if err := v.Serves(i); err != nil && (v.Leaders == 1 || m.Mode == "" || !m.Imok) {
			problems = append(problems, fmt.Sprintf("%s: %v", m.Addr, err))
		}
		if m.Members > 0 && m.Members != len(v.Members) {
			problems = append(problems, fmt.Sprintf("%s: its configuration has %d members, %d listed", m.Addr, m.Members, len(v.Members)))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return errors.New(strings.Join(problems, "; "))
}

// Answers returns the quorum guard's view of the voting members other than
// member i.
func (v View) Answers(i int) []quorum.Answer {
	var out []quorum.Answer
	for j, m := range v.Members {
		if j == i || m.Observer {
			continue
		}
		out = append(out, quorum.Answer{Addr: m.Addr, Mode: m.Mode, Err: m.Err})
	}
	return out
}
