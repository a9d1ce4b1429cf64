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
	"errors"
	"sync"
	"sync/atomic"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/internal/fourlw"
)

// The connections collector asks every member for wchs, cons and isro (on
// the admin transport watch_summary, connections and is_read_only) through
// the member client, so over TLS when the client speaks it. It is off by
// default: on a busy server cons lists every client connection and wchs
// walks every watch, which costs the server more than mntr.
func init() {
	registerCollector("connections", defaultDisabled, func(cfg Config, logger log.Logger) (Collector, error) {
		if len(cfg.Servers) == 0 {
			return nil, errors.New("no ZooKeeper servers given")
		}
		if cfg.members == nil {
			return nil, errors.New("no member client (collectors are built by New)")
		}
		d := func(name, help string) typedDesc {
			return newTypedDesc(name, help, prometheus.GaugeValue, "server")
		}
		return &connectionsCollector{
			servers:     cfg.Servers,
			members:     cfg.members,
			logger:      logger,
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
	servers                                           []string
	members                                           *fourlw.Client
	logger                                            log.Logger
	watching, watchedPath, watches, clients, readOnly typedDesc
	allowed                                           typedDesc
	refusals                                          refusals
}

// connectionsWords are the four-letter words the collector sends.
var connectionsWords = []string{"wchs", "cons", "isro"}

// Update implements Collector. A member whose whitelist refuses a word
// answers all the same: as in the ensemble collector, the refusal is logged
// once and shown as zookeeper_command_allowed 0, not as a failed scrape.
func (c *connectionsCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	var wg sync.WaitGroup
	var answered atomic.Int32
	for _, addr := range c.servers {
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
		n, err := c.members.Connections(ctx, addr)
		if err != nil {
			return err
		}
		ch <- c.clients.mustNewConstMetric(float64(n), addr)
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
