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

package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
goarch: amd64
pkg: github.com/zkwatch/zkwatch/bench
cpu: Some CPU
BenchmarkSideBySide3Members-2   	       1	15155712642 ns/op	         9.858 carlpett-ms	        36.80 carlpett-p99-ms	       185.0 carlpett-samples	         2.670 carlpett/mntr	         3.692 mntr-max-ms	        18.95 mntr-max-p99-ms	        14.03 zkwatch-ms	        48.30 zkwatch-p99-ms	      1144 zkwatch-samples	         3.800 zkwatch/mntr
--- BENCH: BenchmarkSideBySide3Members-2
    anchors_test.go:326: 3-member ensemble 127.0.0.1:1,127.0.0.1:2,127.0.0.1:3 ready in 3.722s
    anchors_test.go:290: anchors: exporter binaries not found in x (set ZKWATCH_ANCHORS): measuring zookeeper_exporter and the mntr floor only
BenchmarkSideBySide5Members-2   	zookeeper says hello
       1	25155712642 ns/op	         5.5 mntr-max-ms	        7.25 mntr-max-p99-ms	        6.5 zkwatch-ms	        9 zkwatch-p99-ms	      1500 zkwatch-samples	         1.18 zkwatch/mntr
BenchmarkFixtureScrape-2   	   12345	     98765 ns/op	   40000 B/op	     500 allocs/op
--- SKIP: BenchmarkOther-2
    x_test.go:10: ZooKeeper not installed
--- FAIL: BenchmarkBroken-2
    y_test.go:20: round 3: boom
FAIL
FAIL	github.com/zkwatch/zkwatch/bench	40.1s
`

func TestParseAndWrite(t *testing.T) {
	a, err := Parse("Side by side", strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Results) != 3 {
		t.Fatalf("results: %+v", a.Results)
	}
	r := a.Results[0]
	if r.Name != "SideBySide3Members" || r.Iters != 1 || len(r.Metrics) != 11 {
		t.Errorf("first result: %+v", r)
	}
	if v, ok := r.Get("zkwatch/mntr"); !ok || v != 3.8 {
		t.Errorf("zkwatch/mntr = %v, %v", v, ok)
	}
	if v, ok := a.Results[1].Get("zkwatch-ms"); a.Results[1].Name != "SideBySide5Members" || !ok || v != 6.5 {
		t.Errorf("split result line: %+v", a.Results[1])
	}
	if a.Results[2].Iters != 12345 {
		t.Errorf("fixture: %+v", a.Results[2])
	}
	notes := strings.Join(a.Notes, "\n")
	for _, want := range []string{"anchors: exporter binaries not found", "skip Other", "ZooKeeper not installed", "fail Broken", "round 3: boom", "FAIL\tgithub.com"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if strings.Contains(notes, "ready in") {
		t.Errorf("notes keep ordinary log lines:\n%s", notes)
	}

	var out strings.Builder
	Write(&out, []*Area{{Title: "Pivot", Results: a.Results[:2]}, {Title: "Plain", Results: a.Results[2:], Raw: "raw text\n"}})
	got := out.String()
	for _, want := range []string{
		"## Pivot\n",
		"| Exporter | SideBySide3Members median ms | p99 ms | × mntr | SideBySide5Members median ms | p99 ms | × mntr |",
		"| zkwatch | 14.0 | 48.3 | 3.80 | 6.50 | 9.00 | 1.18 |",
		"| mntr-max | 3.69 | 19.0 | — | 5.50 | 7.25 | — |",
		"Samples per scrape: SideBySide3Members: carlpett 185, zkwatch 1144; SideBySide5Members: zkwatch 1500.",
		"| Benchmark | Iterations | ns/op | B/op | allocs/op |",
		"| FixtureScrape | 12345 | 98765 | 40000 | 500 |",
		"### Plain\n\n```\nraw text\n```\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Index(got, "| zkwatch |") > strings.Index(got, "| mntr-max |") {
		t.Errorf("zkwatch should come first:\n%s", got)
	}
	// carlpett is absent from the 5-member run, so it is not a pivot row.
	if strings.Contains(got, "| carlpett |") {
		t.Errorf("partial exporter shown:\n%s", got)
	}
}

func TestWideTableTransposed(t *testing.T) {
	r := Result{Name: "Wide", Iters: 1}
	for i := 0; i < maxColumns+2; i++ {
		r.Metrics = append(r.Metrics, Metric{Unit: "u" + string(rune('a'+i)), Value: float64(i)})
	}
	var out strings.Builder
	writeTable(&out, []Result{r})
	if !strings.Contains(out.String(), "| Benchmark | Metric | Value |") || !strings.Contains(out.String(), "| Wide | ub | 1.00 |") {
		t.Errorf("wide table:\n%s", out.String())
	}
}

func TestFormat(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 0.0306: "0.0306", 0.539: "0.539", 2.305: "2.31", 14.03: "14.0",
		99.96: "100.0", 185: "185", 12345.6: "12346", -3.5: "-3.50", 0.000012345: "0.0000123"} {
		if got := format(v); got != want {
			t.Errorf("format(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestParseValues(t *testing.T) {
	for _, bad := range [][]string{{}, {"1"}, {"x", "1", "ns/op"}, {"1", "y", "ns/op"}, {"1", "2"}} {
		if _, _, ok := parseValues(bad); ok {
			t.Errorf("parseValues(%q) accepted", bad)
		}
	}
}

func TestPivotRatioToMntrSrvr(t *testing.T) {
	in := "BenchmarkSideBySide3Members-2 1 1 ns/op 2 zkwatch-ms 3 zkwatch-p99-ms 2 zkwatch/mntr 1.5 zkwatch/mntr+srvr 1 mntr-max-ms 2 mntr-max-p99-ms\n"
	var b strings.Builder
	a, err := Parse("x", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	writePivot(&b, a.Results, []string{"zkwatch", "mntr-max"})
	for _, want := range []string{"| × mntr | × mntr+srvr |", "| zkwatch | 2.00 | 3.00 | 2.00 | 1.50 |", "| mntr-max | 1.00 | 2.00 | — | — |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}
