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

package zktest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/zkwatch/zkwatch/internal/fourlw"
)

// QuorumWatch is what polling every voter saw: a voter counts as alive
// when it answers ruok, or when it cannot be proven down (a timeout on a
// busy machine proves nothing; a refused connection does).
type QuorumWatch struct {
	Voters, Rounds       int
	MinAlive, MinServing int // fewest alive; fewest serving as leader or follower
	// Unknown counts answers that timed out.
	Unknown int
	// NoLeaderRounds counts polls in which no majority served under one
	// leader (elections); LongestElection is the longest such stretch.
	NoLeaderRounds  int
	LongestElection time.Duration
	// Lost lists the polls with fewer than a majority alive.
	Lost []string
}

// QuorumWatcher polls voters until Stop.
type QuorumWatcher struct {
	mu     sync.Mutex
	q      QuorumWatch
	cancel func()
	done   chan struct{}
}

// WatchQuorum asks every voter in addrs, each interval, whether it is
// alive (ruok) and whether it serves as leader or follower (srvr).
func WatchQuorum(addrs []string, interval time.Duration) *QuorumWatcher {
	ctx, cancel := context.WithCancel(context.Background())
	w := &QuorumWatcher{q: QuorumWatch{Voters: len(addrs), MinAlive: len(addrs), MinServing: len(addrs)},
		cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		var electionStart time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			alive, serving, leaders, unknown := pollVoters(ctx, addrs)
			if ctx.Err() != nil {
				return
			}
			w.record(alive, serving, leaders, unknown, &electionStart)
		}
	}()
	return w
}

func (w *QuorumWatcher) record(alive, serving, leaders, unknown int, electionStart *time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := &w.q
	majority := q.Voters/2 + 1
	q.Rounds++
	q.Unknown += unknown
	q.MinAlive, q.MinServing = min(q.MinAlive, alive), min(q.MinServing, serving)
	if alive < majority {
		q.Lost = append(q.Lost, fmt.Sprintf("%s: %d of %d alive", time.Now().Format("15:04:05.000"), alive, q.Voters))
	}
	if serving >= majority && leaders == 1 {
		*electionStart = time.Time{}
		return
	}
	q.NoLeaderRounds++
	if electionStart.IsZero() {
		*electionStart = time.Now()
	}
	q.LongestElection = max(q.LongestElection, time.Since(*electionStart))
}

// Snapshot returns what the watch has seen so far.
func (w *QuorumWatcher) Snapshot() QuorumWatch {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.q
	q.Lost = append([]string(nil), w.q.Lost...)
	return q
}

// Stop ends the watch and returns what it saw.
func (w *QuorumWatcher) Stop() QuorumWatch {
	w.cancel()
	<-w.done
	return w.Snapshot()
}

// pollVoters asks each member ruok and srvr at once.
func pollVoters(ctx context.Context, addrs []string) (alive, serving, leaders, unknown int) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, a := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := fourlw.Do(ctx, a, "ruok", 16)
			ok := err == nil && fourlw.ParseRuok(out)
			timedOut := err != nil && !errors.Is(err, fourlw.ErrConnRefused)
			var mode string
			if srvr, err := fourlw.Do(ctx, a, "srvr", 0); err == nil {
				if st, err := fourlw.ParseSrvr(srvr); err == nil {
					mode = st.Mode
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if ok || timedOut {
				alive++
			}
			if timedOut {
				unknown++
			}
			if mode == "leader" || mode == "follower" {
				serving++
			}
			if mode == "leader" {
				leaders++
			}
		}()
	}
	wg.Wait()
	return alive, serving, leaders, unknown
}
