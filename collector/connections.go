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

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/internal/fourlw"
)

// The connections collector asks every member for wchs, cons and isro. It
// is off by default: on a busy server cons lists every client connection
// and wchs walks every watch, which costs the server more than mntr.
func init() {
	registerCollector("connections", defaultDisabled, func(cfg Config, logger log.Logger) (Collector, error) {
		if len(cfg.Servers) == 0 {
			return nil, errors.New("no ZooKeeper servers given")
		}
		d := func(name, help string) typedDesc {
			return newTypedDesc(name, help, prometheus.GaugeValue, "server")
		}
		return &connectionsCollector{
			servers:     cfg.Servers,
			logger:      logger,
			watching:    d("watching_connections", "Client connections holding watches (wchs)."),
			watchedPath: d("watched_paths", "Paths with watches (wchs)."),
			watches:     d("watches", "Watches (wchs)."),
			clients:     d("client_connections", "Client connections listed by cons."),
			readOnly:    d("read_only", "1 when the member serves read-only (isro)."),
		}, nil
	})
}

type connectionsCollector struct {
	servers                                           []string
	logger                                            log.Logger
	watching, watchedPath, watches, clients, readOnly typedDesc
}

// Update implements Collector.
func (c *connectionsCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	answered := 0
	for _, addr := range c.servers {
		for _, cmd := range []string{"wchs", "cons", "isro"} {
			wg.Add(1)
			go func(addr, cmd string) {
				defer wg.Done()
				if c.ask(ctx, addr, cmd, ch) {
					mu.Lock()
					answered++
					mu.Unlock()
				}
			}(addr, cmd)
		}
	}
	wg.Wait()
	if answered == 0 {
		return errors.New("no member answered wchs, cons or isro")
	}
	return nil
}

func (c *connectionsCollector) ask(ctx context.Context, addr, cmd string, ch chan<- prometheus.Metric) bool {
	out, err := fourlw.Do(ctx, addr, cmd, 0)
	if err == nil {
		switch cmd {
		case "wchs":
			var w *fourlw.Wchs
			if w, err = fourlw.ParseWchs(out); err == nil {
				ch <- c.watching.mustNewConstMetric(w.Connections, addr)
				ch <- c.watchedPath.mustNewConstMetric(w.Paths, addr)
				ch <- c.watches.mustNewConstMetric(w.Watches, addr)
			}
		case "cons":
			var n int
			if n, err = fourlw.ParseCons(out); err == nil {
				ch <- c.clients.mustNewConstMetric(float64(n), addr)
			}
		case "isro":
			var ro bool
			if ro, err = fourlw.ParseIsro(out); err == nil {
				v := 0.0
				if ro {
					v = 1
				}
				ch <- c.readOnly.mustNewConstMetric(v, addr)
			}
		}
	}
	if err != nil {
		level.Debug(c.logger).Log("msg", "command failed", "server", addr, "command", cmd, "err", err)
		return false
	}
	return true
}
