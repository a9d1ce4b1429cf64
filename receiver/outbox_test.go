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

package receiver

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/receiver/store"
)

// Retries are spread over ±20% so that deliveries failing together do not
// retry in lockstep.
func TestBackoffJitter(t *testing.T) {
	seen := map[time.Duration]bool{}
	for range 200 {
		d := jitter(backoff(time.Second, time.Minute, 3))
		if d < 3200*time.Millisecond || d >= 4800*time.Millisecond {
			t.Fatalf("jittered 4s backoff = %s", d)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Errorf("only %d distinct backoffs in 200", len(seen))
	}
}

func TestClassifyDelivery(t *testing.T) {
	now := time.Now()
	fail := errors.New("502")
	for _, c := range []struct {
		name              string
		attempts          int
		created           time.Time
		err               error
		retry             bool
		outcome, deadPart string
	}{
		{"success", 0, now, nil, false, OutcomeSuccess, ""},
		{"rejected", 0, now, fail, false, OutcomeFailure, "rejected"},
		{"retry", 1, now, fail, true, OutcomeRetry, ""},
		{"out of attempts", 4, now, fail, true, OutcomeFailure, "retry_max_attempts"},
		{"too old", 1, now.Add(-2 * time.Hour), fail, true, OutcomeFailure, "retry_max_age"},
	} {
		it := &store.OutboxItem{Attempts: c.attempts, Created: c.created}
		outcome, dead := classify(it, c.err, c.retry, 5, time.Hour, now)
		if outcome != c.outcome || (c.deadPart == "") != (dead == "") || !strings.Contains(dead, c.deadPart) {
			t.Errorf("%s: %s %q", c.name, outcome, dead)
		}
	}
}
