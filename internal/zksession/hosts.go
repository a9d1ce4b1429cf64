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

package zksession

import (
	"context"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/zkwatch/zkwatch/internal/discovery"
)

// lookupTimeout bounds one look-up of the server list, as go-zookeeper's
// own DNSHostProvider does.
const lookupTimeout = 3 * time.Second

// usesDNS reports whether a server list has dns+ or dnssrv+ entries.
func usesDNS(servers []string) bool { return slices.ContainsFunc(servers, discovery.HasDNS) }

// dnsHosts is the zk.HostProvider of a server list with dns+ or dnssrv+
// entries. It looks the list up when the session starts (a failed look-up
// fails Start), again before the first attempt after a connection was
// lost, and again after each round of attempts that all failed: a session
// follows members added to and removed from the records without a
// restart. A failed look-up later is logged as an error and the client
// keeps trying the members it knew.
type dnsHosts struct {
	members *discovery.Members
	logger  log.Logger

	mu      sync.Mutex
	servers []string
	curr    int  // index of the last server returned
	last    int  // where the current round of attempts began (-1: none yet)
	lookup  bool // look up before the next attempt (a connection was lost)
}

func newDNSHosts(servers []string, r *net.Resolver, logger log.Logger) (*dnsHosts, error) {
	entries, err := discovery.ParseList(servers)
	if err != nil {
		return nil, err
	}
	return &dnsHosts{members: discovery.New(entries, r), logger: logger}, nil
}

// Init implements zk.HostProvider. The list given is the client's
// formatted copy of Options.Servers; the parsed entries are used instead.
func (h *dnsHosts) Init([]string) error {
	servers, err := h.resolve()
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.set(servers)
	return nil
}

func (h *dnsHosts) resolve() ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	return h.members.Resolve(ctx)
}

// set replaces the servers, shuffled so that clients spread over the
// members, and starts a new round. h.mu is held.
func (h *dnsHosts) set(servers []string) {
	rand.Shuffle(len(servers), func(i, j int) { servers[i], servers[j] = servers[j], servers[i] })
	h.servers, h.curr, h.last = servers, -1, -1
}

// Len implements zk.HostProvider.
func (h *dnsHosts) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.servers)
}

// Next implements zk.HostProvider. retryStart tells the client that a whole
// round failed (it then waits a second).
func (h *dnsHosts) Next() (server string, retryStart bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	next := (h.curr + 1) % len(h.servers)
	retryStart = next == h.last
	if retryStart || h.lookup {
		h.lookup = false
		if h.refresh() {
			next = 0
		}
	}
	h.curr = next
	if h.last == -1 {
		h.last = next
	}
	return h.servers[h.curr], retryStart
}

// refresh looks the list up again and reports whether it changed (then a
// new round begins). h.mu is held.
func (h *dnsHosts) refresh() bool {
	servers, err := h.resolve()
	if err != nil {
		level.Error(h.logger).Log("msg", "Looking up the ZooKeeper servers failed, trying the last known ones", "servers", len(h.servers), "err", err)
		return false
	}
	if sameSet(servers, h.servers) {
		return false
	}
	level.Info(h.logger).Log("msg", "ZooKeeper servers changed in DNS", "servers", fmtList(servers))
	h.set(servers)
	return true
}

// Connected implements zk.HostProvider.
func (h *dnsHosts) Connected() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last = h.curr
	h.lookup = true // the next attempt follows the loss of this connection
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func fmtList(servers []string) string {
	s := slices.Clone(servers)
	slices.Sort(s)
	return strings.Join(s, ",")
}
