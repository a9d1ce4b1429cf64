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
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/internal/discovery"
	"github.com/zkwatch/zkwatch/internal/fourlw"
)

// DefaultTopClients is how many client addresses per member the
// connections collector names by default; MaxTopClients bounds the flag.
const (
	DefaultTopClients = 10
	MaxTopClients     = 100
)

// The connections collector asks every member for wchs, cons and isro (on
// the admin transport watch_summary, connections and is_read_only) through
// the member client, so over TLS when the client speaks it. It is off by
// default: on a busy server cons lists every client connection and wchs
// walks every watch, which costs the server more than mntr. The top
// clients come from the same cons answer: no further word is sent.
func init() {
	registerCollector("connections", defaultDisabled, func(cfg Config, logger log.Logger) (Collector, error) {
		if len(cfg.Servers) == 0 {
			return nil, errors.New("no ZooKeeper servers given")
		}
		if cfg.members == nil {
			return nil, errors.New("no member client (collectors are built by New)")
		}
		top := cmp.Or(cfg.TopClients, DefaultTopClients)
		if top < 1 || top > MaxTopClients {
			return nil, fmt.Errorf("top clients must be between 1 and %d, not %d", MaxTopClients, cfg.TopClients)
		}
		servers, err := newMemberList(cfg)
		if err != nil {
			return nil, err
		}
		d := func(name, help string) typedDesc {
			return newTypedDesc(name, help, prometheus.GaugeValue, "server")
		}
		return &connectionsCollector{
			servers:     servers,
			members:     cfg.members,
			logger:      logger,
			top:         top,
			topDescs:    newTopClientDescs(),
			watching:    d("watching_connections", "Client connections holding watches (wchs)."),
			watchedPath: d("watched_paths", "Paths with watches (wchs)."),
			watches:     d("watches", "Watches (wchs)."),
			clients:     d("client_connections", "Client connections listed by cons."),
			readOnly:    d("read_only", "1 when the member serves read-only (isro)."),
			allowed:     newCommandAllowedDesc(),
		}, nil
	})
}

type connectionsCollector struct {
	servers                                           *discovery.Members // looked up at every scrape
	members                                           *fourlw.Client
	logger                                            log.Logger
	watching, watchedPath, watches, clients, readOnly typedDesc
	allowed                                           typedDesc
	refusals                                          refusals
	top                                               int
	topDescs                                          topClientDescs
}

// connectionsWords are the four-letter words the collector sends.
var connectionsWords = []string{"wchs", "cons", "isro"}

// Update implements Collector. A member whose whitelist refuses a word
// answers all the same: as in the ensemble collector, the refusal is logged
// once and shown as zookeeper_command_allowed 0, not as a failed scrape.
func (c *connectionsCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	var wg sync.WaitGroup
	var answered atomic.Int32
	servers, err := c.servers.Resolve(ctx)
	if err != nil {
		return err
	}
	for _, addr := range servers {
		for _, word := range connectionsWords {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if c.ask(ctx, addr, word, ch) {
					answered.Add(1)
				}
			}()
		}
	}
	wg.Wait()
	if answered.Load() == 0 {
		return errors.New("no member answered wchs, cons or isro")
	}
	return nil
}

// ask sends one word to addr and its metrics to ch; it reports whether
// the member answered (a refusal is an answer).
func (c *connectionsCollector) ask(ctx context.Context, addr, word string, ch chan<- prometheus.Metric) bool {
	err := c.send(ctx, addr, word, ch)
	cmd := c.members.Command(word)
	switch {
	case errors.Is(err, fourlw.ErrNotWhitelisted):
		c.refusals.note(c.logger, addr, cmd)
		ch <- c.allowed.mustNewConstMetric(0, addr, cmd)
	case err != nil:
		level.Debug(c.logger).Log("msg", "command failed", "server", addr, "command", cmd, "err", err)
		return false
	default:
		ch <- c.allowed.mustNewConstMetric(1, addr, cmd)
	}
	return true
}

func (c *connectionsCollector) send(ctx context.Context, addr, word string, ch chan<- prometheus.Metric) error {
	switch word {
	case "wchs":
		w, err := c.members.Watches(ctx, addr)
		if err != nil {
			return err
		}
		ch <- c.watching.mustNewConstMetric(w.Connections, addr)
		ch <- c.watchedPath.mustNewConstMetric(w.Paths, addr)
		ch <- c.watches.mustNewConstMetric(w.Watches, addr)
	case "cons":
		conns, err := c.members.Cons(ctx, addr)
		if err != nil {
			return err
		}
		ch <- c.clients.mustNewConstMetric(float64(len(conns)), addr)
		c.topDescs.send(ch, addr, topClients(conns, c.top))
	case "isro":
		ro, err := c.members.ReadOnly(ctx, addr)
		if err != nil {
			return err
		}
		v := 0.0
		if ro {
			v = 1
		}
		ch <- c.readOnly.mustNewConstMetric(v, addr)
	}
	return nil
}

// clientStats sums one client address's connections on a member.
type clientStats struct {
	client           string
	connections      float64
	outstanding      float64
	received, sent   float64
	maxLatencyMillis float64
}

// otherClients labels the sum of the clients beyond the top ones.
const otherClients = "other"

// topClients sums the connections by client address and returns the n
// with the most connections (then the most packets received), and the
// rest summed as "other" (its max latency the highest of them).
func topClients(conns []fourlw.Conn, n int) []clientStats {
	byClient := map[string]*clientStats{}
	var all []*clientStats
	for _, c := range conns {
		s, ok := byClient[c.Client]
		if !ok {
			s = &clientStats{client: c.Client}
			byClient[c.Client] = s
			all = append(all, s)
		}
		s.add(clientStats{connections: 1, outstanding: c.Outstanding, received: c.Received, sent: c.Sent, maxLatencyMillis: c.MaxLatency})
	}
	slices.SortFunc(all, func(a, b *clientStats) int {
		return cmp.Or(cmp.Compare(b.connections, a.connections), cmp.Compare(b.received, a.received), cmp.Compare(a.client, b.client))
	})
	out := make([]clientStats, 0, min(n, len(all))+1)
	for _, s := range all[:min(n, len(all))] {
		out = append(out, *s)
	}
	if len(all) > n {
		other := clientStats{client: otherClients}
		for _, s := range all[n:] {
			other.add(*s)
		}
		out = append(out, other)
	}
	return out
}

func (s *clientStats) add(o clientStats) {
	s.connections += o.connections
	s.outstanding += o.outstanding
	s.received += o.received
	s.sent += o.sent
	s.maxLatencyMillis = max(s.maxLatencyMillis, o.maxLatencyMillis)
}

// topClientDescs are the series of the top clients, labelled server and
// client (the IP address, without the ephemeral port).
type topClientDescs struct {
	connections, outstanding, received, sent, maxLatency typedDesc
}

func newTopClientDescs() topClientDescs {
	l := []string{"server", "client"}
	return topClientDescs{
		connections: newTypedDesc("top_client_connections",
			"Connections from the client address (cons); the addresses beyond --collector.connections.top-clients are summed as client=\"other\".", prometheus.GaugeValue, l...),
		outstanding: newTypedDesc("top_client_outstanding_requests",
			"Requests from the client address queued and not yet answered (cons queued).", prometheus.GaugeValue, l...),
		received: newTypedDesc("top_client_packets_received_total",
			"Packets received from the client address over its open connections (cons recved).", prometheus.CounterValue, l...),
		sent: newTypedDesc("top_client_packets_sent_total",
			"Packets sent to the client address over its open connections (cons sent).", prometheus.CounterValue, l...),
		maxLatency: newTypedDesc("top_client_max_latency_seconds",
			"Highest request latency of the client address's open connections (cons maxlat).", prometheus.GaugeValue, l...),
	}
}

func (d *topClientDescs) send(ch chan<- prometheus.Metric, addr string, stats []clientStats) {
	for _, s := range stats {
		ch <- d.connections.mustNewConstMetric(s.connections, addr, s.client)
		ch <- d.outstanding.mustNewConstMetric(s.outstanding, addr, s.client)
		ch <- d.received.mustNewConstMetric(s.received, addr, s.client)
		ch <- d.sent.mustNewConstMetric(s.sent, addr, s.client)
		ch <- d.maxLatency.mustNewConstMetric(s.maxLatencyMillis/1000, addr, s.client)
	}
}
