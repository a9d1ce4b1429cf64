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

package restart

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync"
	"time"

	"github.com/zkwatch/zkwatch/internal/quorum"
)

// Busy tracks the ZooKeeper members the receiver is restarting right now.
type Busy struct {
	mu sync.Mutex
	m  map[string]int
}

// Mark records that addr is being restarted; the returned func unmarks it.
func (b *Busy) Mark(addr string) func() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]int{}
	}
	b.m[addr]++
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.m[addr]--; b.m[addr] <= 0 {
			delete(b.m, addr)
		}
	}
}

// Is tells whether addr is being restarted.
func (b *Busy) Is(addr string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m[addr] > 0
}

// CheckQuorum returns nil when restarting target leaves the ensemble of
// members with a quorum: no other member is being restarted and the
// members other than target that serve as leader or follower are a
// majority. When target is not one of members (unknown), one more serving
// member than a bare majority is required, since the restart might take
// any of them down. tc, when set, is used to reach the members' secure
// client ports; a TLS failure counts the member as down with reason tls.
func CheckQuorum(ctx context.Context, tc *tls.Config, members []string, target string, busy *Busy, timeout time.Duration) error {
	known := false
	others := make([]string, 0, len(members))
	for _, m := range members {
		if m == target {
			known = true
			continue
		}
		if busy != nil && busy.Is(m) {
			return fmt.Errorf("member %s is being restarted", m)
		}
		others = append(others, m)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return quorum.Check(len(members), target, known, quorum.AskModes(ctx, tc, others))
}
