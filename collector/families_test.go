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
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"

	"github.com/zkwatch/zkwatch/collector/internal/series"
	"github.com/zkwatch/zkwatch/internal/fourlw"
)

// text renders families in the text format, leaving out the series that
// change between two scrapes of fixed answers (durations, timestamps).
func text(t *testing.T, mfs []*dto.MetricFamily) string {
	t.Helper()
	var b bytes.Buffer
	for _, mf := range mfs {
		switch mf.GetName() {
		case "zookeeper_probe_duration_seconds", "zookeeper_last_seen_timestamp_seconds", "zookeeper_scrape_collector_duration_seconds":
			continue
		}
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// TestGatherMatchesRegistry scrapes the same fixture ensemble through a
// pedantic registry (every consistency check at every scrape) and through
// Gather's direct families: the exposition is identical, series for series.
func TestGatherMatchesRegistry(t *testing.T) {
	_, addrs := fakeEnsemble(t, "leader", "follower", "follower", "default-whitelist")
	zk := newTestCollector(t, addrs, 5*time.Second)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(zk)
	if _, err := reg.Gather(); err != nil { // conf is asked at the first scrape only
		t.Fatal(err)
	}
	want, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got, err := zk.Gather(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w, g := text(t, want), text(t, got)
	if w != g {
		wl, gl := strings.Split(w, "\n"), strings.Split(g, "\n")
		for i := 0; i < len(wl) && i < len(gl); i++ {
			if wl[i] != gl[i] {
				t.Fatalf("line %d differs:\nregistry: %s\nGather:   %s", i, wl[i], gl[i])
			}
		}
		t.Fatalf("registry %d lines, Gather %d lines", len(wl), len(gl))
	}
	if n := strings.Count(g, "\n"); n < 1000 {
		t.Errorf("only %d lines: the fixtures should give over 1,000", n)
	}
}

// TestFamiliesDropDuplicates: a server that repeats a key yields one
// series, the first, and a valid exposition.
func TestFamiliesDropDuplicates(t *testing.T) {
	var dc descCache
	fields := mntrFieldsOf(t, "zk_znode_count\t5\nzk_znode_count\t6\nzk_avg_latency\t2\n")
	sink := series.NewSink(false)
	mntrSamples("a:1", fields, &dc, sink.Buf())
	mfs := series.NewFamilies(false).Build(sink)
	if len(mfs) != 2 || len(mfs[1].Metric) != 1 || mfs[1].Metric[0].GetGauge().GetValue() != 5 {
		t.Fatalf("got %v", mfs)
	}
}

func mntrFieldsOf(t *testing.T, answer string) []fourlw.Field {
	t.Helper()
	fields, err := fourlw.ParseMntr([]byte(answer))
	if err != nil {
		t.Fatal(err)
	}
	return fields
}

func TestMergeFamilies(t *testing.T) {
	a, b := prometheus.NewRegistry(), prometheus.NewRegistry()
	a.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "b_metric", Help: "b"}))
	b.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "a_metric", Help: "a"}))
	ma, _ := a.Gather()
	mb, _ := b.Gather()
	mfs, err := MergeFamilies(ma, mb)
	if err != nil || len(mfs) != 2 || mfs[0].GetName() != "a_metric" || mfs[1].GetName() != "b_metric" {
		t.Fatalf("disjoint: %v %v", mfs, err)
	}
	// The same name in both with different help is reported, not merged
	// into an inconsistent family.
	c := prometheus.NewRegistry()
	c.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "a_metric", Help: "other"}))
	mc, _ := c.Gather()
	if _, err := MergeFamilies(mb, mc); err == nil {
		t.Error("inconsistent families merged without error")
	}
	// Interleaved sets of several families each, and a set out of order.
	fams := func(names ...string) []*dto.MetricFamily {
		var out []*dto.MetricFamily
		for _, n := range names {
			out = append(out, &dto.MetricFamily{Name: proto.String(n)})
		}
		return out
	}
	names := func(mfs []*dto.MetricFamily) string {
		var s []string
		for _, mf := range mfs {
			s = append(s, mf.GetName())
		}
		return strings.Join(s, " ")
	}
	for _, tc := range []struct {
		sets [][]*dto.MetricFamily
		want string
	}{
		{[][]*dto.MetricFamily{fams("b", "d", "f"), fams("a", "c", "e", "g"), fams("h")}, "a b c d e f g h"},
		{[][]*dto.MetricFamily{fams("x", "y"), nil, fams("a", "b")}, "a b x y"},
		{[][]*dto.MetricFamily{fams("c", "a"), fams("b")}, "a b c"},
	} {
		got, err := MergeFamilies(tc.sets...)
		if err != nil || names(got) != tc.want {
			t.Errorf("MergeFamilies = %q, %v; want %q", names(got), err, tc.want)
		}
	}
}

// TestGatherMatchesRegistryWatch compares both paths for the watch
// collectors: a group with present, departed and expected members, and
// member data.
func TestGatherMatchesRegistryWatch(t *testing.T) {
	e := watchEnsemble(t)
	servers := e.Addrs()
	actor := dial(t, servers)
	mkdirs(t, actor, "/monitor/web")
	cfg := writeFile(t, t.TempDir(), "watch.yml", "groups:\n  - path: /monitor/web\n    expected: [web-0, never]\n")
	for i, data := range []string{`{"host":"h0","ip":"10.0.0.1"}`, "h1:10.0.0.2", "", "h3:10.0.0.4"} {
		mustCreate(t, actor, fmt.Sprintf("/monitor/web/web-%d", i), data, zk.FlagEphemeral)
	}
	x := newWatchExporter(t, servers, watchFlags{configFile: cfg})
	x.waitFor(want{values: map[string]float64{`zookeeper_group_members{group="/monitor/web"}`: 4}})
	mustDelete(t, actor, "/monitor/web/web-3")
	x.waitFor(want{values: map[string]float64{`zookeeper_group_members{group="/monitor/web"}`: 3,
		`zookeeper_group_member_up{group="/monitor/web",member="web-3"}`: 0}})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(x.zc)
	want, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got, err := x.zc.Gather(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if w, g := text(t, want), text(t, got); w != g {
		t.Fatalf("registry:\n%s\nGather:\n%s", w, g)
	}
}

// mntrMetrics is one member's mntr series as metrics, as the
// prometheus.Collector path sends them.
func mntrMetrics(server string, fields []fourlw.Field, descs *descCache) []prometheus.Metric {
	b := series.NewSink(false).Buf()
	mntrSamples(server, fields, descs, b)
	out := make([]prometheus.Metric, len(b.Samples()))
	for i, s := range b.Samples() {
		out[i] = s.Metric()
	}
	return out
}
