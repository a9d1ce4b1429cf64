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

// Command report turns `go test -bench` output into the Markdown tables of
// bench/RESULTS.md: one section per area, then the raw output.
//
//	go run ./bench/report "Title=bench/file.tmp" ...
package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Result is one benchmark result line.
type Result struct {
	Name    string // without the Benchmark prefix and -GOMAXPROCS suffix
	Iters   int64
	Metrics []Metric // in the order reported
}

// Metric is one value/unit pair of a result line.
type Metric struct {
	Unit  string
	Value float64
}

// Get returns the value of unit and whether it was reported.
func (r Result) Get(unit string) (float64, bool) {
	for _, m := range r.Metrics {
		if m.Unit == unit {
			return m.Value, true
		}
	}
	return 0, false
}

// Area is the parsed output of one go test run.
type Area struct {
	Title   string
	Raw     string
	Results []Result
	Notes   []string // skips, failures and anchor messages
}

var procSuffix = regexp.MustCompile(`-\d+$`)

func shortName(s string) string {
	return procSuffix.ReplaceAllString(strings.TrimPrefix(s, "Benchmark"), "")
}

// parseValues reads "N v1 u1 v2 u2 ..." fields.
func parseValues(f []string) (int64, []Metric, bool) {
	if len(f) < 3 || len(f)%2 != 1 {
		return 0, nil, false
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0, nil, false
	}
	var ms []Metric
	for i := 1; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return 0, nil, false
		}
		ms = append(ms, Metric{f[i+1], v})
	}
	return n, ms, true
}

// Parse reads go test -bench output. A benchmark whose name line was split
// from its values by other output is still recognised.
func Parse(title string, r io.Reader) (*Area, error) {
	a := &Area{Title: title}
	var raw strings.Builder
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	pending := ""
	// notes collects the indented lines after "--- SKIP/FAIL" and the
	// anchor lines after "--- BENCH".
	section := ""
	for sc.Scan() {
		line := sc.Text()
		raw.WriteString(line + "\n")
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case strings.HasPrefix(f[0], "Benchmark"):
			section = ""
			if n, ms, ok := parseValues(f[1:]); ok {
				a.Results = append(a.Results, Result{shortName(f[0]), n, ms})
				pending = ""
			} else {
				pending = f[0] // its values follow other output
			}
		case pending != "":
			if n, ms, ok := parseValues(f); ok {
				a.Results = append(a.Results, Result{shortName(pending), n, ms})
				pending = ""
			}
		case f[0] == "---" && len(f) >= 3:
			section = f[1]
			if section == "SKIP:" || section == "FAIL:" {
				a.Notes = append(a.Notes, fmt.Sprintf("%s %s", strings.ToLower(strings.TrimSuffix(section, ":")), shortName(f[2])))
			}
		case strings.HasPrefix(line, " ") && section != "":
			msg := strings.TrimSpace(line)
			if section == "SKIP:" || section == "FAIL:" || strings.Contains(msg, "anchors:") {
				a.Notes = append(a.Notes, "  "+msg)
			}
		case strings.HasPrefix(line, "panic:") || strings.HasPrefix(line, "FAIL") && len(f) >= 2:
			section = ""
			a.Notes = append(a.Notes, line)
		default:
			section = ""
		}
	}
	a.Raw = raw.String()
	return a, sc.Err()
}

// format shows v with three significant digits, without exponent, and
// whole numbers of 100 and more as they are.
func format(v float64) string {
	a := math.Abs(v)
	switch {
	case v == 0:
		return "0"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	digits := 2 - int(math.Floor(math.Log10(a)))
	p := math.Pow(10, float64(digits))
	return strconv.FormatFloat(math.Round(v*p)/p, 'f', digits, 64)
}

func row(w io.Writer, cells ...string) {
	fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
}

func header(w io.Writer, cells ...string) {
	row(w, cells...)
	sep := make([]string, len(cells))
	for i := range sep {
		sep[i] = "---"
	}
	sep[0] = ":--"
	for i := 1; i < len(sep); i++ {
		sep[i] = "--:"
	}
	row(w, sep...)
}

// pivotNames returns X for every "X-ms" unit that has an "X-p99-ms"
// companion in every result, in the order first reported; side-by-side
// results are shown as one row per X.
func pivotNames(rs []Result) []string {
	if len(rs) == 0 {
		return nil
	}
	var names []string
	for _, m := range rs[0].Metrics {
		x, ok := strings.CutSuffix(m.Unit, "-ms")
		if !ok || strings.HasSuffix(x, "-p99") {
			continue
		}
		all := true
		for _, r := range rs {
			_, ok1 := r.Get(x + "-ms")
			_, ok2 := r.Get(x + "-p99-ms")
			all = all && ok1 && ok2
		}
		if all {
			names = append(names, x)
		}
	}
	if len(names) < 2 {
		return nil
	}
	// Ours first, then its breakdown, the other exporters, the bare
	// four-letter-word rounds last; in each group as reported (by name).
	rank := func(x string) int {
		switch {
		case x == "zkwatch":
			return 0
		case strings.HasPrefix(x, "zkwatch-"):
			return 1
		case strings.HasPrefix(x, "mntr"):
			return 3
		}
		return 2
	}
	sort.SliceStable(names, func(i, j int) bool { return rank(names[i]) < rank(names[j]) })
	return names
}

func writePivot(w io.Writer, rs []Result, names []string) {
	// The ratio to the mntr+srvr round, when reported.
	both := false
	for _, r := range rs {
		for _, m := range r.Metrics {
			both = both || strings.HasSuffix(m.Unit, "/mntr+srvr")
		}
	}
	cells := []string{"Exporter"}
	for _, r := range rs {
		cells = append(cells, r.Name+" median ms", "p99 ms", "× mntr")
		if both {
			cells = append(cells, "× mntr+srvr")
		}
	}
	header(w, cells...)
	for _, x := range names {
		cells := []string{x}
		for _, r := range rs {
			med, _ := r.Get(x + "-ms")
			p99, _ := r.Get(x + "-p99-ms")
			ratio, ratio2 := "—", "—"
			if v, ok := r.Get(x + "/mntr"); ok {
				ratio = format(v)
			}
			if v, ok := r.Get(x + "/mntr+srvr"); ok {
				ratio2 = format(v)
			}
			cells = append(cells, format(med), format(p99), ratio)
			if both {
				cells = append(cells, ratio2)
			}
		}
		row(w, cells...)
	}
	var extra []string
	for _, r := range rs {
		var parts []string
		for _, m := range r.Metrics {
			if x, ok := strings.CutSuffix(m.Unit, "-samples"); ok {
				parts = append(parts, fmt.Sprintf("%s %s", x, format(m.Value)))
			}
		}
		if len(parts) > 0 {
			extra = append(extra, r.Name+": "+strings.Join(parts, ", "))
		}
	}
	if len(extra) > 0 {
		fmt.Fprintf(w, "\nSamples per scrape: %s.\n", strings.Join(extra, "; "))
	}
}

// maxColumns is the widest table written; wider results are transposed.
const maxColumns = 8

func writeTable(w io.Writer, rs []Result) {
	var units []string
	seen := map[string]bool{}
	for _, r := range rs {
		for _, m := range r.Metrics {
			if m.Unit == "ns/op" && r.Iters == 1 {
				continue // the whole run of a benchmark that reports its own figures
			}
			if !seen[m.Unit] {
				seen[m.Unit] = true
				units = append(units, m.Unit)
			}
		}
	}
	if len(units) > maxColumns {
		row(w, "Benchmark", "Metric", "Value")
		row(w, ":--", ":--", "--:")
		for _, r := range rs {
			for _, u := range units {
				if v, ok := r.Get(u); ok {
					row(w, r.Name, u, format(v))
				}
			}
		}
		return
	}
	header(w, append([]string{"Benchmark", "Iterations"}, units...)...)
	for _, r := range rs {
		cells := []string{r.Name, strconv.FormatInt(r.Iters, 10)}
		for _, u := range units {
			if v, ok := r.Get(u); ok && !(u == "ns/op" && r.Iters == 1) {
				cells = append(cells, format(v))
			} else {
				cells = append(cells, "")
			}
		}
		row(w, cells...)
	}
}

// Write renders the areas' sections and then their raw output.
func Write(w io.Writer, areas []*Area) {
	for _, a := range areas {
		fmt.Fprintf(w, "## %s\n\n", a.Title)
		if len(a.Notes) > 0 {
			fmt.Fprintf(w, "```\n%s\n```\n\n", strings.Join(a.Notes, "\n"))
		}
		switch names := pivotNames(a.Results); {
		case len(a.Results) == 0:
			fmt.Fprintf(w, "No benchmark results; see the raw output.\n\n")
			continue
		case names != nil:
			writePivot(w, a.Results, names)
		default:
			writeTable(w, a.Results)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "## Raw output\n")
	for _, a := range areas {
		fmt.Fprintf(w, "\n### %s\n\n```\n%s```\n", a.Title, a.Raw)
	}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: report TITLE=FILE ...")
		os.Exit(2)
	}
	var areas []*Area
	for _, arg := range os.Args[1:] {
		title, file, ok := strings.Cut(arg, "=")
		if !ok {
			fmt.Fprintf(os.Stderr, "report: %q is not TITLE=FILE\n", arg)
			os.Exit(2)
		}
		f, err := os.Open(file)
		if err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
		a, err := Parse(title, f)
		f.Close()
		if err != nil {
			fmt.Fprintf(os.Stderr, "report: %s: %v\n", file, err)
			os.Exit(1)
		}
		areas = append(areas, a)
	}
	Write(os.Stdout, areas)
}
