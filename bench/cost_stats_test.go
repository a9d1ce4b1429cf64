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

package bench

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Pure helpers of BenchmarkExporterCostToZooKeeper (cost_test.go): the
// summary of the interleaved runs and the reading of what the servers saw.

// costRun is one measured load run.
type costRun struct {
	rep     int
	cond    string  // "off" or setup@interval
	tput    float64 // completed operations per second
	p99     float64 // ms
	srvCPU  float64 // CPU seconds of all members during the run
	load1   float64 // 1-min load average at the start
	scrapes int
	errs    int // failed operations and scrapes
}

// costChange is one condition's change against the off runs of the same
// repetition, in percent: median over repetitions and the extremes.
type costChange struct {
	cond                       string
	tput, p99, cpu             float64
	tputLo, tputHi             float64
	p99Lo, p99Hi, cpuLo, cpuHi float64
	reps                       int
}

// costNoise is the run-to-run noise: the largest change between the two
// off runs of one repetition, in percent (absolute values).
type costNoise struct{ tput, p99, cpu float64 }

func pct(x, base float64) float64 {
	if base == 0 {
		return math.NaN()
	}
	return (x/base - 1) * 100
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func extremes(v []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

// summarizeCost compares every condition with the mean of the off runs of
// its own repetition (pairing within a repetition follows the drift of the
// machine's other load), and takes the noise band from off against off.
func summarizeCost(runs []costRun) ([]costChange, costNoise, error) {
	offs := map[int][]costRun{}
	for _, r := range runs {
		if r.cond == "off" {
			offs[r.rep] = append(offs[r.rep], r)
		}
	}
	var noise costNoise
	for rep, o := range offs {
		if len(o) < 2 {
			return nil, noise, fmt.Errorf("repetition %d has %d off runs, want at least 2", rep, len(o))
		}
		noise.tput = math.Max(noise.tput, math.Abs(pct(o[1].tput, o[0].tput)))
		noise.p99 = math.Max(noise.p99, math.Abs(pct(o[1].p99, o[0].p99)))
		noise.cpu = math.Max(noise.cpu, math.Abs(pct(o[1].srvCPU, o[0].srvCPU)))
	}
	type series struct{ tput, p99, cpu []float64 }
	by := map[string]*series{}
	var conds []string
	for _, r := range runs {
		o, ok := offs[r.rep]
		if r.cond == "off" {
			continue
		}
		if !ok {
			return nil, noise, fmt.Errorf("repetition %d has no off run", r.rep)
		}
		var base costRun
		for _, x := range o {
			base.tput += x.tput / float64(len(o))
			base.p99 += x.p99 / float64(len(o))
			base.srvCPU += x.srvCPU / float64(len(o))
		}
		s := by[r.cond]
		if s == nil {
			s = &series{}
			by[r.cond] = s
			conds = append(conds, r.cond)
		}
		s.tput = append(s.tput, pct(r.tput, base.tput))
		s.p99 = append(s.p99, pct(r.p99, base.p99))
		s.cpu = append(s.cpu, pct(r.srvCPU, base.srvCPU))
	}
	out := make([]costChange, 0, len(conds))
	for _, c := range conds {
		s := by[c]
		ch := costChange{cond: c, tput: median(s.tput), p99: median(s.p99), cpu: median(s.cpu), reps: len(s.tput)}
		ch.tputLo, ch.tputHi = extremes(s.tput)
		ch.p99Lo, ch.p99Hi = extremes(s.p99)
		ch.cpuLo, ch.cpuHi = extremes(s.cpu)
		out = append(out, ch)
	}
	return out, noise, nil
}

// costOrder is the order of one repetition's runs: off, the first half of
// the shuffled conditions, off again, the second half. perm is a
// permutation of conds' indexes.
func costOrder(conds []string, perm []int) []string {
	out := []string{"off"}
	for i, k := range perm {
		if i == (len(perm)+1)/2 {
			out = append(out, "off")
		}
		out = append(out, conds[k])
	}
	if len(perm) < 2 {
		out = append(out, "off")
	}
	return out
}

var (
	fourlwLine  = regexp.MustCompile(`Processing (\w+) command from (\S+)`)
	sessionLine = regexp.MustCompile(`Established session 0x[0-9a-f]+ with negotiated timeout \d+ for client (\S+)`)
	memberHead  = regexp.MustCompile(`^--- member (\d+) log ---$`)
)

// serverTally is what the members logged in a window: four-letter words
// served (by word), distinct client connections they came on, and
// sessions established.
type serverTally struct {
	words    map[string]int
	conns    int
	sessions int
}

// tallyServerLog reads the log lines NIOServerCnxn and ZooKeeperServer
// write at INFO for each four-letter word and each new session.
func tallyServerLog(lines []string) serverTally {
	t := serverTally{words: map[string]int{}}
	seen := map[string]bool{}
	for _, l := range lines {
		if m := fourlwLine.FindStringSubmatch(l); m != nil {
			t.words[m[1]]++
			if !seen[m[2]] {
				seen[m[2]] = true
				t.conns++
			}
		} else if m := sessionLine.FindStringSubmatch(l); m != nil {
			t.sessions++
			if !seen[m[1]] {
				seen[m[1]] = true
				t.conns++
			}
		}
	}
	return t
}

// splitMemberLogs splits zktest's LogTail output into each member's lines.
func splitMemberLogs(s string) map[int][]string {
	out := map[int][]string{}
	id := -1
	for _, l := range strings.Split(s, "\n") {
		if m := memberHead.FindStringSubmatch(l); m != nil {
			id, _ = strconv.Atoi(m[1])
			out[id] = []string{}
			continue
		}
		if id >= 0 && l != "" {
			out[id] = append(out[id], l)
		}
	}
	return out
}

// logWindow returns the lines each member logged after before was taken.
func logWindow(before, after map[int][]string) []string {
	var out []string
	for id, lines := range after {
		if n := len(before[id]); n <= len(lines) {
			out = append(out, lines[n:]...)
		}
	}
	return out
}

// mntrValue returns the value of key in an mntr answer.
func mntrValue(out []byte, key string) (float64, error) {
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && f[0] == key {
			return strconv.ParseFloat(f[1], 64)
		}
	}
	return 0, fmt.Errorf("mntr answer lacks %s", key)
}

// formatWords renders word counts per scrape, sorted: "mntr 3, srvr 3".
func formatWords(words map[string]int, scrapes int) string {
	var keys []string
	for k, n := range words {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.3g", k, float64(words[k])/float64(scrapes))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
