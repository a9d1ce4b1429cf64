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
	"errors"
	"time"

	"github.com/zkwatch/zkwatch/internal/zksession"
)

// The lease rule. A claim's lease lives as long as its owner's session,
// and only the replicas' identity may delete it; so another replica takes
// a claim over only once the owner's session has ended. The owner, for its
// part, stops its action (a restart command) as soon as its session is no
// longer provably alive: when the server has not been heard from for half
// the negotiated session timeout, which is before the server can expire
// the session and drop the lease. A takeover therefore never runs while
// the previous owner's command may still be running (the agent's lock
// fencing, applied to the receiver).

// Fencer is implemented by coordinators whose claims end with a session.
type Fencer interface {
	// Fence returns a context that ends once the claims this replica holds
	// may be taken over: the action must stop.
	Fence(ctx context.Context) (context.Context, context.CancelFunc)
}

// ErrFenced is the cause of a context ended by Fence.
var ErrFenced = errors.New("ZooKeeper session not provably alive: the claim may be taken over")

// Fence implements Fencer.
func (c *Claimer) Fence(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	go func() {
		for !c.fenced() {
			t := time.NewTimer(max(c.m.Timeout()/16, 10*time.Millisecond))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		cancel(ErrFenced)
	}()
	return ctx, func() { cancel(context.Canceled) }
}

// fenced reports whether there is no session, or the server has not
// answered for half the negotiated timeout (a healthy connection hears a
// ping reply every third of it).
func (c *Claimer) fenced() bool {
	if st := c.m.State(); st == zksession.Lost || st == zksession.Idle {
		return true
	}
	return time.Since(c.m.LastReply()) >= c.m.Timeout()/2
}
