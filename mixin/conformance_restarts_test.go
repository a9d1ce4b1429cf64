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

package mixin_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// Restart cells: routine restarts must fire nothing, neither while they
// run nor in the hour after. A sequence cell records the real scrapes of
// the restarts in promtool's 1m steps: the healthy scrape, then for each
// restart one scrape with the member down (the most a scrape interval of
// a minute can see of a restart that takes seconds) and the scrape once it
// is back, and finally that scrape held for quietMargin beyond the longest
// range plus "for" of the shipped rules, so an hour of quiet takes no
// hour. Every rule is evaluated at every minute and must stay silent.

const (
	// betweenRestarts is how long the ensemble stays healed between two
	// restarts of a sequence, in samples.
	betweenRestarts = 2
	// quietMargin is how far the quiet phase outlasts the longest window.
	quietMargin = 10 * time.Minute
)

// sequence collects the scrapes of a sequence of restarts on one run.
type sequence struct {
	r       *run
	healthy func() truth
	down    func(member int) truth
	steps   []step
}

// sequence starts a sequence on the run's healthy scrape; healthy and down
// give the truth of the healed ensemble and of the ensemble with one member
// down.
func (r *run) sequence(healthy func() truth, down func(int) truth) *sequence {
	return &sequence{r: r, healthy: healthy, down: down, steps: []step{{r.healthy, beforeSamples}}}
}

// restart kills member i, or the leader when i is negative (waiting for
// its successor), records one scrape of it down, starts it again and
// records the healed ensemble.
func (s *sequence) restart(t *testing.T, i int) {
	t.Helper()
	e := s.r.ens
	if i < 0 {
		i = killLeader(t, e)
	} else {
		e.Kill(i)
	}
	down := withLeader(t, func() truth { return s.down(i) })
	s.steps = append(s.steps, step{s.r.scrapeUntil(t, fmt.Sprintf("member %d down for a restart", i+1), down), 1})
	if err := e.Start(i); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitHealthy(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	s.r.healthy = s.r.scrapeUntil(t, fmt.Sprintf("member %d restarted", i+1), withLeader(t, s.healthy))
	s.steps = append(s.steps, step{s.r.healthy, betweenRestarts})
}

// withLeader returns the truth once it names a leader: the truth asks the
// members who leads, and a probe that times out on a busy machine would
// make it expect an ensemble without one.
func withLeader(t *testing.T, want func() truth) truth {
	t.Helper()
	var w truth
	if err := zktest.WaitFor(60*time.Second, 100*time.Millisecond, func() error {
		if w = want(); w.ensemble["leaders"] != 1 {
			return errors.New("no member reports being leader")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return w
}

// record adds the sequence as a cell whose last scrape is held until the
// longest window of the rules has passed.
func (s *sequence) record(t *testing.T, fault string) {
	t.Helper()
	s.steps[len(s.steps)-1].n = int((longestWindow(t) + quietMargin) / time.Minute)
	s.r.m.cells = append(s.r.m.cells, &cell{
		config: s.r.config, fault: fault + ", then quiet", addrs: s.r.addrs, steps: s.steps, quiet: true,
	})
}

// longestWindow is the longest range plus "for" of the shipped alerts:
// how long a restart can still weigh on an alert.
func longestWindow(t *testing.T) time.Duration {
	longest := time.Duration(0)
	for _, r := range alertRules(t) {
		expr, err := promqlParser.ParseExpr(r.Expr)
		if err != nil {
			t.Fatalf("%s: %v", r.Alert, err)
		}
		_, window := restartSensitive(expr)
		longest = max(longest, window+time.Duration(r.For))
	}
	return longest
}

// quietChecks evaluates rule r at every minute of the cell's timeline: it
// fires nothing (an always-firing rule fires itself only).
func (c *cell) quietChecks(r rulefmt.Rule) []map[string]any {
	n := 0
	for _, st := range c.timeline() {
		n += st.n
	}
	checks := make([]map[string]any, 0, n)
	for m := range n {
		checks = append(checks, map[string]any{"eval_time": fmt.Sprintf("%dm", m), "alertname": r.Alert, "exp_alerts": alwaysFiring(r)})
	}
	return checks
}

// runRestarts puts a 3-member run through a member restart, a rolling
// restart of every member one by one, and the leader restarted twice,
// each a cell of its own.
func runRestarts(t *testing.T, r *run) {
	begin := time.Now()
	defer func() { t.Logf("restart cells ran in %s", time.Since(begin).Round(time.Second)) }()
	healthy := func() truth { return r.expect(2, 0, "") }
	down := func(i int) truth { return r.expect(2, 0, "", i) }

	s := r.sequence(healthy, down)
	s.restart(t, (r.ens.Leader()+1)%3)
	s.record(t, "member restarted")

	s = r.sequence(healthy, down)
	leader := r.ens.Leader()
	for _, i := range []int{(leader + 1) % 3, (leader + 2) % 3, leader} { // followers first, as operators do
		s.restart(t, i)
	}
	s.record(t, "rolling restart of every member")

	s = r.sequence(healthy, down)
	s.restart(t, -1)
	s.restart(t, -1)
	s.record(t, "leader restarted twice")
}
