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
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunks"
)

// eventTarget is a panel query that counts a counter's events per
// interval (not a per-second rate), and the series it reads.
type eventTarget struct {
	panel, expr string
	counter     string
	labels      []string // label names the counter needs to be selected and grouped
}

// eventTargets finds every query that reads a counter through increase()
// or lib's events(): the panels that count events, where one event
// matters.
func eventTargets(t *testing.T) []eventTarget {
	var out []eventTarget
	for file, d := range loadDashboards(t) {
		for _, p := range allPanels(d.Panels) {
			for _, tg := range p.Targets {
				expr, err := parseLint(asIncrease(tg.Expr))
				if err != nil {
					t.Fatalf("%s: %v", tg.Expr, err)
				}
				if et, ok := increasedCounter(expr); ok {
					et.panel, et.expr = file+"/"+p.Title, tg.Expr
					out = append(out, et)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].panel+out[i].expr < out[j].panel+out[j].expr })
	return out
}

// increasedCounter returns the counter an expression takes the increase
// of, with the labels its selector matches and its aggregations group by.
func increasedCounter(expr parser.Expr) (eventTarget, bool) {
	var et eventTarget
	names := map[string]bool{}
	parser.Inspect(expr, func(n parser.Node, path []parser.Node) error {
		switch n := n.(type) {
		case *parser.AggregateExpr:
			for _, l := range n.Grouping {
				names[l] = true
			}
		case *parser.Call:
			if n.Func.Name != "increase" {
				return nil
			}
			vs := n.Args[0].(*parser.MatrixSelector).VectorSelector.(*parser.VectorSelector)
			if !strings.HasSuffix(vs.Name, "_total") {
				return nil // the _sum and _count of an average
			}
			et.counter = vs.Name
			for _, m := range vs.LabelMatchers {
				if m.Name != model.MetricNameLabel {
					names[m.Name] = true
				}
			}
		}
		return nil
	})
	for l := range names {
		et.labels = append(et.labels, l)
	}
	sort.Strings(et.labels)
	return et, et.counter != ""
}

// listQueryable serves the given series (sorted by labels) to the PromQL
// engine.
func listQueryable(all []storage.Series) storage.Queryable {
	return &storage.MockQueryable{MockQuerier: &storage.MockQuerier{
		SelectMockFunction: func(_ bool, _ *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
			var out []storage.Series
			for _, s := range all {
				match := true
				for _, m := range ms {
					match = match && m.Matches(s.Labels().Get(m.Name))
				}
				if match {
					out = append(out, s)
				}
			}
			return &seriesSet{series: out}
		},
	}}
}

// counterSeries is the counter at 15 s intervals from time 0 with the
// given values; NaN stands for a failed scrape (a stale marker).
func counterSeries(et eventTarget, values []float64) storage.Series {
	b := labels.NewScratchBuilder(len(et.labels) + 1)
	b.Add(model.MetricNameLabel, et.counter)
	for _, l := range et.labels {
		b.Add(l, "x")
	}
	b.Sort()
	samples := make([]chunks.Sample, len(values))
	for i, v := range values {
		if math.IsNaN(v) {
			v = math.Float64frombits(value.StaleNaN)
		}
		samples[i] = floatSample{int64(i) * 15000, v}
	}
	return storage.NewListSeries(b.Labels(), samples)
}

// evalEvents evaluates the panel query every 15 s over the counter's
// values, with $__rate_interval at 1m (Grafana's least for a 15 s scrape
// interval), and returns the values of every step from the second minute
// on (before, the counter has no history to compare with).
func evalEvents(t *testing.T, et eventTarget, values []float64) []float64 {
	t.Helper()
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1000000, Timeout: 10 * time.Second, LookbackDelta: 5 * time.Minute})
	defer engine.Close()
	expr := substituteVariables(rateIntervalOneMinute.Replace(et.expr))
	end := time.Unix(int64(15*(len(values)-1)), 0)
	q, err := engine.NewRangeQuery(context.Background(), listQueryable([]storage.Series{counterSeries(et, values)}), nil, expr, time.Unix(60, 0), end, 15*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	defer q.Close()
	res := q.Exec(context.Background())
	m, err := res.Matrix()
	if res.Err != nil || err != nil {
		t.Fatalf("%s: %v %v", expr, res.Err, err)
	}
	var vals []float64
	for _, s := range m {
		for _, p := range s.Floats {
			vals = append(vals, p.F)
		}
	}
	return vals
}

var rateIntervalOneMinute = strings.NewReplacer("${__rate_interval}", "1m", "$__rate_interval", "1m")

// TestEventPanelsCountAcrossScrapeGaps: a panel that counts events shows
// an event whose step falls in a scrape gap longer than $__rate_interval
// (failed scrapes leave stale markers), and counts a restarted counter
// from zero, never negative. increase() over $__rate_interval shows
// neither window holding the step: the expiration is lost.
func TestEventPanelsCountAcrossScrapeGaps(t *testing.T) {
	targets := eventTargets(t)
	if len(targets) == 0 {
		t.Fatal("no panel counts events")
	}
	for _, et := range targets {
		t.Run(et.panel+"/"+et.counter, func(t *testing.T) {
			// 0 for a minute, six failed scrapes (90 s), then 1.
			stale := math.NaN()
			gap := evalEvents(t, et, []float64{0, 0, 0, 0, stale, stale, stale, stale, stale, stale, 1, 1, 1, 1, 1, 1, 1, 1})
			if err := checkEvents(gap); err != nil {
				t.Errorf("one event across a scrape gap: %v (%s)", err, et.expr)
			}
			// The process restarts: 3 → 0, then one event.
			restart := evalEvents(t, et, []float64{3, 3, 3, 3, 3, 0, 0, 0, 1, 1, 1, 1, 1, 1})
			if err := checkEvents(restart); err != nil {
				t.Errorf("one event after a counter reset: %v (%s)", err, et.expr)
			}
		})
	}
}

// checkEvents wants the single event counted: values between 0 and 1,
// and 1 at some step.
func checkEvents(vals []float64) error {
	most := math.Inf(-1)
	for _, v := range vals {
		if math.IsNaN(v) || v < 0 || v > 1 {
			return fmt.Errorf("a step shows %v events, want 0 or 1 (all: %v)", v, vals)
		}
		most = math.Max(most, v)
	}
	if most != 1 {
		return fmt.Errorf("no step shows the event (values %v)", vals)
	}
	return nil
}
