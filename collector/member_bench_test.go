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

package collector

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zkwatch/zkwatch/collector/internal/series"
	"github.com/zkwatch/zkwatch/internal/fourlw"
)

// BenchmarkMemberMntr measures one member's share of a scrape once its
// mntr answer is in: parsing the captured 3.8 leader answer and building
// its series, the work between a member's answer and the exposition.
func BenchmarkMemberMntr(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "internal", "fourlw", "testdata", "leader.mntr.txt"))
	if err != nil {
		b.Fatal(err)
	}
	var descs descCache
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		fields, err := fourlw.ParseMntr(data)
		if err != nil {
			b.Fatal(err)
		}
		sink := series.NewSink(true)
		buf := sink.Buf()
		mntrSamples("127.0.0.1:2181", fields, &descs, buf)
		n = len(buf.Samples())
		sink.Release()
		fourlw.ReleaseFields(fields)
	}
	if n == 0 {
		b.Fatal("no series")
	}
}

// TestFieldLayoutReuse checks that a member's series are those of a fresh
// classification whether its answer repeats the last one's keys (the
// layout is reused) or not: the leader's answer, the follower's, one
// without the zk_cnt_ keys (summaries become plain gauges), and back.
func TestFieldLayoutReuse(t *testing.T) {
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join("..", "internal", "fourlw", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	leader, follower := read("leader.mntr.txt"), read("follower.mntr.txt")
	var noCnt []byte
	for _, line := range bytes.SplitAfter(leader, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte("zk_cnt_")) {
			noCnt = append(noCnt, line...)
		}
	}
	render := func(descs *descCache, answer []byte) string {
		fields, err := fourlw.ParseMntr(answer)
		if err != nil {
			t.Fatal(err)
		}
		b := series.NewSink(false).Buf()
		mntrSamples("127.0.0.1:2181", fields, descs, b)
		var out []string
		for _, s := range b.Samples() {
			out = append(out, fmt.Sprintf("%s %v %v %v", s.Desc.Name(), s.Labels, s.Value, s.Summary))
		}
		return strings.Join(out, "\n")
	}
	var kept descCache
	for i, answer := range [][]byte{leader, leader, follower, follower, noCnt, noCnt, leader} {
		if got, want := render(&kept, answer), render(&descCache{}, answer); got != want {
			t.Fatalf("answer %d: series differ from a fresh classification:\n%s\nwant\n%s", i, got, want)
		}
	}
}
