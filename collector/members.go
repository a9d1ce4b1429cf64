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

	"github.com/zkwatch/zkwatch/internal/discovery"
)

// newMemberList parses cfg.Servers: host:port entries, and dns+NAME:PORT
// and dnssrv+NAME entries looked up through cfg.Resolver at every scrape.
func newMemberList(cfg Config) (*discovery.Members, error) {
	entries, err := discovery.ParseList(cfg.Servers)
	if err != nil {
		return nil, fmt.Errorf("ZooKeeper servers: %w", err)
	}
	return discovery.New(entries, cfg.Resolver), nil
}

// resolveServers looks the DNS entries of the server list up again, so that
// members added to or removed from the records are probed, or no longer,
// from this scrape on, and forgets what it knew of those removed. A failed
// lookup fails the scrape: the previous list is not reused.
func (c *EnsembleCollector) resolveServers(ctx context.Context) error {
	if !c.list.Dynamic() {
		return nil
	}
	servers, err := c.list.Resolve(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, old := range c.servers {
		if slices.Contains(servers, old) {
			continue
		}
		delete(c.conf, old)
		delete(c.ids, old)
		delete(c.lastSeen, old)
		for k := range c.probeErrors {
			if k[0] == old {
				delete(c.probeErrors, k)
			}
		}
	}
	c.servers = servers
	return nil
}
