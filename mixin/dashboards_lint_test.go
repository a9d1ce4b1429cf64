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

// The rules of grafana/dashboard-linter, checked on the rendered
// dashboards by our own code (the linter is not packaged here), plus what
// it leaves out: the unit of each panel against the quantity its query
// computes, and the columns of table panels.

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// rateIntervalMagic stands for $__rate_interval while linting, so that a
// range written as $__rate_interval can be told from any other.
const rateIntervalMagic = 8869990787 * time.Millisecond

var intervalVariable = regexp.MustCompile(`\$(__rate_interval|__interval|__range|\{__rate_interval\})`)

// parseLint parses a panel query with Grafana's interval variables
// replaced: the rate interval by rateIntervalMagic, the others by 5m.
// Label variables stay: "$job" is a valid PromQL string and regexp, so a
// matcher still names its variable.
func parseLint(expr string) (parser.Expr, error) {
	expr = intervalVariable.ReplaceAllStringFunc(expr, func(v string) string {
		if strings.Contains(v, "__rate_interval") {
			return model.Duration(rateIntervalMagic).String()
		}
		return "5m"
	})
	return promqlParser.ParseExpr(expr)
}

// eventsForm matches what lib/dashboard.libsonnet's events() writes for a
// counter S: ((S - last_over_time(S[1h] offset $__rate_interval)) >= 0) or S.
var eventsForm = regexp.MustCompile(`\(\((\w+\{[^{}]*\}) - last_over_time\((\w+\{[^{}]*\})\[1h\] offset \$__rate_interval\)\) >= 0\) or (\w+\{[^{}]*\})`)

// asIncrease rewrites the events form into the increase() it stands for,
// so that the counter rule sees a counter aggregated over
// $__rate_interval.
func asIncrease(expr string) string {
	return eventsForm.ReplaceAllStringFunc(expr, func(m string) string {
		s := eventsForm.FindStringSubmatch(m)
		if s[1] != s[2] || s[1] != s[3] {
			return m // not one counter: leave it for the rule to flag
		}
		return "increase(" + s[1] + "[$__rate_interval])"
	})
}

// queryPanels are the panel types the linter's panel rules apply to.
var queryPanels = []string{"stat", "singlestat", "graph", "table", "timeseries", "gauge"}

// TestDashboardLint holds every rendered dashboard to the rules of
// grafana/dashboard-linter, our units by quantity and named table columns.
func TestDashboardLint(t *testing.T) {
	for file, d := range loadDashboards(t) {
		t.Run(file, func(t *testing.T) {
			lintTemplates(t, d)
			jobVars, instanceVars := selectorVariables(d)
			for _, p := range allPanels(d.Panels) {
				if !slices.Contains(queryPanels, p.Type) {
					continue
				}
				lintPanel(t, p)
				for _, tg := range p.Targets {
					expr, err := parseLint(tg.Expr)
					if err != nil {
						t.Errorf("panel %q: %q: %v", p.Title, tg.Expr, err) // target-promql-rule
						continue
					}
					if err := requireMatchers(expr, jobVars, instanceVars); err != nil {
						t.Errorf("panel %q: %s: %v", p.Title, tg.Expr, err)
					}
					if err := rateInterval(expr); err != nil {
						t.Errorf("panel %q: %s: %v", p.Title, tg.Expr, err)
					}
					if err := countersAggregated(tg.Expr); err != nil {
						t.Errorf("panel %q: %v", p.Title, err)
					}
				}
			}
		})
	}
}

// lintTemplates applies uneditable-dashboard-rule, template-datasource-rule,
// template-job-rule, template-instance-rule (our instance variable is
// "ensemble", on the configured ensemble label) and
// template-on-time-change-reload.
func lintTemplates(t *testing.T, d dashboard) {
	t.Helper()
	if d.Editable {
		t.Errorf("editable: true; a provisioned mixin dashboard is changed in jsonnet (editable: false)")
	}
	vars := map[string]variable{}
	var datasources []string
	for _, v := range d.Templating.List {
		vars[v.Name] = v
		if v.Type == "datasource" {
			datasources = append(datasources, v.Name)
			if v.Name != "datasource" || v.Label != "Data source" || v.Query != "prometheus" {
				t.Errorf("datasource variable %q label %q query %v; want datasource, Data source, prometheus", v.Name, v.Label, v.Query)
			}
		}
		if v.Type == "query" && v.Refresh != 2 {
			t.Errorf("variable %s: refresh %d; want 2 (on time range change)", v.Name, v.Refresh)
		}
	}
	if len(datasources) != 1 {
		t.Errorf("datasource variables %v; want exactly one", datasources)
	}
	for name, label := range map[string]string{"job": "Job", "ensemble": "Ensemble"} {
		v, ok := vars[name]
		switch {
		case !ok:
			t.Errorf("no %s variable", name)
		case v.Type != "query" || v.Label != label:
			t.Errorf("variable %s: type %q label %q; want query, %s", name, v.Type, v.Label, label)
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		if v.Datasource.UID != "${datasource}" && v.Datasource.UID != "$datasource" {
			t.Errorf("variable %s: data source %q; want ${datasource}", v.Name, v.Datasource.UID)
		}
		if !v.Multi || !v.IncludeAll || v.AllValue != ".+" {
			t.Errorf("variable %s: multi %v includeAll %v allValue %q; want a multi-value variable whose All is .+", v.Name, v.Multi, v.IncludeAll, v.AllValue)
		}
	}
}

// lintPanel applies panel-title-description-rule, panel-datasource-rule,
// panel-no-targets-rule, the units of panel-units-rule against the
// quantity each query computes, and, for tables, named columns.
func lintPanel(t *testing.T, p panel) {
	t.Helper()
	if strings.TrimSpace(p.Title) == "" || strings.TrimSpace(p.Description) == "" {
		t.Errorf("panel %d: title %q, description %q: both are required", p.ID, p.Title, p.Description)
	}
	if ds, _ := p.Datasource.(map[string]any); ds == nil || ds["uid"] != "${datasource}" {
		t.Errorf("panel %q: data source %v; want the ${datasource} variable", p.Title, p.Datasource)
	}
	if len(p.Targets) == 0 {
		t.Errorf("panel %q has no targets", p.Title)
	}
	for _, tg := range p.Targets {
		if tg.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q target %s: data source %q; want ${datasource}", p.Title, tg.RefID, tg.Datasource.UID)
		}
	}
	if err := panelUnits(p); err != nil {
		t.Errorf("panel %q: %v", p.Title, err)
	}
	if p.Type == "table" {
		if err := tableColumns(p); err != nil {
			t.Errorf("table %q: %v", p.Title, err)
		}
	}
}

// selectorVariables returns the dashboard's job variables and instance
// variables: those listing values of the job and of the instance label.
func selectorVariables(d dashboard) (jobs, instances []string) {
	for _, v := range d.Templating.List {
		m := labelValuesQuery.FindStringSubmatch(v.Definition)
		if v.Type != "query" || m == nil {
			continue
		}
		switch m[2] {
		case "job":
			jobs = append(jobs, v.Name)
		case "instance":
			instances = append(instances, v.Name)
		}
	}
	return jobs, instances
}

var labelValuesQuery = regexp.MustCompile(`^label_values\((.*),\s*(\w+)\)$`)

// requireMatchers is target-job-rule and target-instance-rule: every
// selector matches job and instance on one of the dashboard's variables
// (job=~"$job", instance=~"$ensemble", ...).
func requireMatchers(expr parser.Expr, jobVars, instanceVars []string) error {
	for _, sel := range parser.ExtractSelectors(expr) {
		for label, vars := range map[string][]string{"job": jobVars, "instance": instanceVars} {
			if !hasVariableMatcher(sel, label, vars) {
				return fmt.Errorf("a selector lacks %s=~\"$<one of %v>\"", label, vars)
			}
		}
	}
	return nil
}

func hasVariableMatcher(sel []*labels.Matcher, label string, vars []string) bool {
	for _, m := range sel {
		for _, v := range vars {
			if m.Name == label && m.Type == labels.MatchRegexp && (m.Value == "$"+v || m.Value == "${"+v+"}") {
				return true
			}
		}
	}
	return false
}

// rateInterval is target-rate-interval-rule: rate() and irate() take
// $__rate_interval, which Grafana keeps at least four scrape intervals.
func rateInterval(expr parser.Expr) error {
	var err error
	parser.Inspect(expr, func(n parser.Node, path []parser.Node) error {
		ms, ok := n.(*parser.MatrixSelector)
		if !ok || ms.Range == rateIntervalMagic || len(path) == 0 || err != nil {
			return nil
		}
		if call, ok := path[len(path)-1].(*parser.Call); ok && (call.Func.Name == "rate" || call.Func.Name == "irate") {
			err = fmt.Errorf("%s over %s instead of $__rate_interval", call.Func.Name, model.Duration(ms.Range))
		}
		return nil
	})
	return err
}

// countersAggregated is target-counter-agg-rule: a counter (_total) is
// only read through rate(), irate() or increase() (or lib's events(),
// which stands for an increase).
func countersAggregated(raw string) error {
	expr, err := parseLint(asIncrease(raw))
	if err != nil {
		return err
	}
	parser.Inspect(expr, func(n parser.Node, path []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok || !strings.HasSuffix(vs.Name, "_total") || err != nil {
			return nil
		}
		if len(path) >= 2 {
			_, ranged := path[len(path)-1].(*parser.MatrixSelector)
			call, called := path[len(path)-2].(*parser.Call)
			if ranged && called && slices.Contains([]string{"rate", "irate", "increase"}, call.Func.Name) {
				return nil
			}
		}
		err = fmt.Errorf("counter %s is not aggregated with rate, irate or increase in %s", vs.Name, raw)
		return nil
	})
	return err
}

// Quantities a query can compute, and the Grafana units that show each.
// Metrics are in base units, so a duration is shown in s, never ms.
var unitsOf = map[string][]string{
	"count":            {"short", "none"},
	"duration":         {"s", "dtdurations"},
	"share":            {"percentunit"},
	"per second":       {"ops", "reqps", "rps", "wps", "iops", "pps", "cps"},
	"bytes":            {"bytes", "decbytes"},
	"bytes per second": {"Bps", "binBps"},
	"timestamp":        {"dateTimeAsIso", "dateTimeFromNow"},
}

// metricQuantity is what a series measures, by its name's unit suffix; a
// recording rule (level:metric:operations) by its metric and operation.
func metricQuantity(name string) string {
	if parts := strings.Split(name, ":"); len(parts) == 3 {
		q, op := metricQuantity(parts[1]), parts[2]
		switch {
		case strings.HasPrefix(op, "rate"):
			return rateOf(q)
		case op == "ratio":
			return "share"
		}
		return q
	}
	switch {
	case strings.HasSuffix(name, "_timestamp_seconds"), name == "zookeeper_znode_mtime_seconds":
		return "timestamp"
	case strings.HasSuffix(name, "_seconds"), strings.HasSuffix(name, "_seconds_sum"), strings.HasSuffix(name, "_seconds_total"):
		return "duration"
	case strings.HasSuffix(name, "_bytes"), strings.HasSuffix(name, "_bytes_total"):
		return "bytes"
	case strings.HasSuffix(name, "_ratio"):
		return "share"
	}
	return "count"
}

// rateOf is the quantity of a counter's per-second rate: seconds per
// second are a share of time.
func rateOf(q string) string {
	return map[string]string{"duration": "share", "bytes": "bytes per second", "count": "per second"}[q]
}

// quantity infers what an expression computes.
func quantity(e parser.Expr) (string, error) {
	switch n := e.(type) {
	case *parser.ParenExpr:
		return quantity(n.Expr)
	case *parser.UnaryExpr:
		return quantity(n.Expr)
	case *parser.StepInvariantExpr:
		return quantity(n.Expr)
	case *parser.NumberLiteral:
		return "number", nil
	case *parser.VectorSelector:
		return metricQuantity(n.Name), nil
	case *parser.MatrixSelector:
		return quantity(n.VectorSelector)
	case *parser.AggregateExpr:
		if n.Op == parser.COUNT || n.Op == parser.GROUP {
			return "count", nil
		}
		return quantity(n.Expr)
	case *parser.Call:
		return callQuantity(n)
	case *parser.BinaryExpr:
		return binaryQuantity(n)
	}
	return "", fmt.Errorf("cannot tell the quantity of %s", e)
}

func callQuantity(n *parser.Call) (string, error) {
	switch n.Func.Name {
	case "time":
		return "timestamp", nil
	case "changes", "resets", "count_over_time":
		return "count", nil
	}
	if len(n.Args) == 0 {
		return "", fmt.Errorf("cannot tell the quantity of %s", n)
	}
	q, err := quantity(n.Args[0])
	if err != nil {
		return "", err
	}
	switch n.Func.Name {
	case "rate", "irate":
		if r := rateOf(q); r != "" {
			return r, nil
		}
		return "", fmt.Errorf("rate of a %s in %s", q, n)
	case "increase", "delta", "idelta", "last_over_time", "max_over_time", "min_over_time", "avg_over_time",
		"clamp_min", "clamp_max", "clamp", "abs", "round", "ceil", "floor":
		return q, nil
	}
	return "", fmt.Errorf("cannot tell the quantity of %s", n)
}

func binaryQuantity(n *parser.BinaryExpr) (string, error) {
	l, err := quantity(n.LHS)
	if err != nil {
		return "", err
	}
	if n.Op.IsComparisonOperator() && !n.ReturnBool {
		return l, nil // a filter keeps the left side's values
	}
	r, err := quantity(n.RHS)
	if err != nil {
		return "", err
	}
	switch {
	case n.Op == parser.LAND || n.Op == parser.LUNLESS:
		return l, nil // a filter by another vector
	case r == "number" && n.Op != parser.POW:
		return l, nil
	case l == "number" && (n.Op == parser.ADD || n.Op == parser.SUB || n.Op == parser.MUL):
		return r, nil
	case n.Op == parser.SUB && l == "timestamp" && r == "timestamp":
		return "duration", nil
	case (n.Op == parser.SUB || n.Op == parser.ADD || n.Op == parser.LOR) && l == r:
		return l, nil
	case n.Op == parser.DIV && l == r:
		return "share", nil
	case n.Op == parser.DIV && (l == "share" && r == "per second" || l == "duration" && r == "count"):
		return "duration", nil // time spent per event
	}
	return "", fmt.Errorf("%s %s %s in %s", l, n.Op, r, n)
}

// panelUnits checks each query's quantity against the unit it is shown
// in: the panel's, or for a table the unit of the query's value column.
func panelUnits(p panel) error {
	seen := map[string]string{}
	for _, tg := range p.Targets {
		expr, err := parseLint(tg.Expr)
		if err != nil {
			return err
		}
		q, err := quantity(expr)
		if err != nil {
			return err
		}
		unit := p.FieldConfig.Defaults.Unit
		if p.Type == "table" {
			header, shown := valueHeader(p, tg.RefID)
			if !shown {
				continue
			}
			unit = overrideUnit(p, header, unit)
		}
		if q == "number" {
			q = "count"
		}
		if !slices.Contains(unitsOf[q], unit) {
			return fmt.Errorf("%s computes a %s, shown in unit %q; want one of %v", tg.Expr, q, unit, unitsOf[q])
		}
		seen[q] = tg.RefID
	}
	if len(seen) > 1 && p.Type != "table" {
		return fmt.Errorf("queries of different quantities %v share one unit", seen)
	}
	return nil
}

// organize returns a table panel's organize transformation options.
func organize(p panel) (exclude map[string]bool, rename map[string]string, ok bool) {
	for _, tr := range p.Transformations {
		if tr.ID == "organize" {
			return tr.Options.ExcludeByName, tr.Options.RenameByName, true
		}
	}
	return nil, nil, false
}

// valueName is the column Grafana makes of a table query's value.
func valueName(p panel, refID string) string {
	if len(p.Targets) == 1 {
		return "Value"
	}
	return "Value #" + refID
}

// valueHeader is the header of a table query's value column, and whether
// the column is shown.
func valueHeader(p panel, refID string) (string, bool) {
	exclude, rename, _ := organize(p)
	name := valueName(p, refID)
	return rename[name], !exclude[name]
}

func overrideUnit(p panel, header, unit string) string {
	for _, o := range p.FieldConfig.Overrides {
		if o.Matcher.ID != "byName" || o.Matcher.Options != header {
			continue
		}
		for _, prop := range o.Properties {
			if s, ok := prop.Value.(string); ok && prop.ID == "unit" {
				unit = s
			}
		}
	}
	return unit
}

// tableColumns checks that a table's queries are instant tables whose
// columns are known (each query aggregates by explicit labels), merged
// into one row per label set, and that every column is either hidden or
// renamed: no "Value #A", no raw label name.
func tableColumns(p panel) error {
	exclude, rename, ok := organize(p)
	if !ok {
		return fmt.Errorf("no organize transformation to name and hide columns")
	}
	if len(p.Targets) > 1 && p.Transformations[0].ID != "merge" {
		return fmt.Errorf("first transformation %q; want merge, to join the queries on their labels", p.Transformations[0].ID)
	}
	cols, err := tableColumnNames(p)
	if err != nil {
		return err
	}
	headers := map[string]string{}
	for _, c := range cols {
		if exclude[c] {
			continue
		}
		h := rename[c]
		if strings.TrimSpace(h) == "" {
			return fmt.Errorf("column %q is shown under its raw name; rename or hide it", c)
		}
		if other, dup := headers[h]; dup && other != c {
			return fmt.Errorf("columns %q and %q share the header %q", other, c, h)
		}
		headers[h] = c
	}
	return nil
}

// tableColumnNames lists the columns a table's queries make before the
// transformations: Time, their labels and their values.
func tableColumnNames(p panel) ([]string, error) {
	cols := []string{"Time"}
	for _, tg := range p.Targets {
		if tg.Format != "table" || !tg.Instant {
			return nil, fmt.Errorf("target %s: format %q instant %v; want an instant query in table format", tg.RefID, tg.Format, tg.Instant)
		}
		expr, err := parseLint(tg.Expr)
		if err != nil {
			return nil, err
		}
		agg, ok := expr.(*parser.AggregateExpr)
		if !ok || agg.Without || len(agg.Grouping) == 0 {
			return nil, fmt.Errorf("target %s: %s does not aggregate by explicit labels, so its columns are unknown", tg.RefID, tg.Expr)
		}
		for _, l := range agg.Grouping {
			if !slices.Contains(cols, l) {
				cols = append(cols, l)
			}
		}
		cols = append(cols, valueName(p, tg.RefID))
	}
	return cols, nil
}

// TestDashboardLintRulesCatch feeds each rule a query or panel that breaks
// it, and the events form the counter rule must accept.
func TestDashboardLintRulesCatch(t *testing.T) {
	const sel = `{job=~"$job", instance=~"$ensemble"}`
	parse := func(expr string) parser.Expr {
		e, err := parseLint(expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return e
	}
	ts := func(unit string, exprs ...string) panel {
		p := panel{Type: "timeseries", Title: "x"}
		p.FieldConfig.Defaults.Unit = unit
		for i, e := range exprs {
			p.Targets = append(p.Targets, target{Expr: e, RefID: string(rune('A' + i))})
		}
		return p
	}
	table := ts("none", "max by (server, state) (zookeeper_server_state"+sel+" == 1)", "max by (server) (zookeeper_up"+sel+")")
	table.Type = "table"
	for i := range table.Targets {
		table.Targets[i].Format, table.Targets[i].Instant = "table", true
	}
	table.Transformations = make([]transformation, 2)
	table.Transformations[0].ID, table.Transformations[1].ID = "merge", "organize"
	table.Transformations[1].Options.RenameByName = map[string]string{"server": "Server", "state": "Role", "Value #B": "Answers"}
	table.Transformations[1].Options.ExcludeByName = map[string]bool{"Time": true}
	bare := table
	bare.Targets = []target{{Expr: "zookeeper_up" + sel, RefID: "A", Format: "table", Instant: true}}

	for name, err := range map[string]error{
		"fixed rate window":          rateInterval(parse("rate(zookeeper_packets_sent_total" + sel + "[5m])")),
		"raw counter":                countersAggregated("zookeeper_packets_sent_total" + sel),
		"no instance variable":       requireMatchers(parse(`zookeeper_up{job=~"$job"}`), []string{"job"}, []string{"ensemble"}),
		"fixed job":                  requireMatchers(parse(`zookeeper_up{job="zk", instance=~"$ensemble"}`), []string{"job"}, []string{"ensemble"}),
		"seconds per second in s":    panelUnits(ts("s", "rate(zookeeper_fsynctime_seconds_sum"+sel+"[$__rate_interval])")),
		"age in short":               panelUnits(ts("short", "time() - zookeeper_group_member_since_timestamp_seconds"+sel)),
		"rate in short":              panelUnits(ts("short", "rate(zookeeper_packets_sent_total"+sel+"[$__rate_interval])")),
		"two quantities, one unit":   panelUnits(ts("s", "zookeeper_fsynctime_max_seconds"+sel, "rate(zookeeper_fsynctime_seconds_sum"+sel+"[$__rate_interval])")),
		"Value #A shown unnamed":     tableColumns(table),
		"table without aggregation":  tableColumns(bare),
		"events of unequal counters": countersAggregated(eventsOf("zookeeper_packets_sent_total"+sel, "zookeeper_packets_received_total"+sel)),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := countersAggregated(eventsOf("zookeeper_packets_sent_total"+sel, "zookeeper_packets_sent_total"+sel)); err != nil {
		t.Errorf("events form refused: %v", err)
	}
}

// eventsOf writes lib's events form with counter a as the newest sample
// and b as the sample before the interval.
func eventsOf(a, b string) string {
	return fmt.Sprintf("sum by (instance) (((%s - last_over_time(%s[1h] offset $__rate_interval)) >= 0) or %s)", a, b, a)
}
