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
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/zkwatch/zkwatch/internal/fourlw"
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

// Mode asks a member for its srvr Mode (leader, follower, standalone, ...),
// over TLS when tc is set.
func Mode(ctx context.Context, tc *tls.Config, addr string) (string, error) {
	out, err := fourlw.DoTLS(ctx, tc, addr, "srvr", 0)
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Mode:"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("%s: srvr answer has no Mode line", addr)
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
	for _, m := range members {
		if m == target {
			known = true
			continue
		}
		if busy != nil && busy.Is(m) {
			return fmt.Errorf("member %s is being restarted", m)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type answer struct {
		addr, mode string
		err        error
	}
	ch := make(chan answer, len(members))
	asked := 0
	for _, m := range members {
		if m == target {
			continue
		}
		asked++
		go func(m string) {
			mode, err := Mode(ctx, tc, m)
			ch <- answer{m, mode, err}
		}(m)
	}
	serving := 0
	var down []string
	for range asked {
		a := <-ch
		switch {
		case a.err != nil:
			down = append(down, fmt.Sprintf("%s: %s", a.addr, fourlw.Reason(a.err)))
		case a.mode == "leader" || a.mode == "follower" || a.mode == "standalone":
			serving++
		default:
			down = append(down, fmt.Sprintf("%s: mode %s", a.addr, a.mode))
		}
	}
	sort.Strings(down) // a stable reason is recorded once, not per check
	need := len(members)/2 + 1
	if !known {
		need++
	}
	if serving < need {
		return fmt.Errorf("only %d of the other members serve, %d needed for a quorum without %s (%s)",
			serving, need, targetName(target), strings.Join(down, "; "))
	}
	return nil
}

func targetName(t string) string {
	if t == "" {
		return "the target"
	}
	return t
}
