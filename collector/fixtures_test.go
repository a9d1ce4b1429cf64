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
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/zkwatch/zkwatch/collector/internal/series"
	"github.com/zkwatch/zkwatch/internal/fourlw"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files of TestFixtureGolden")

// versionFixture is one server's answers in one ZooKeeper version: mntr,
// srvr and, from 3.5 on, the AdminServer's monitor and stat documents.
type versionFixture struct {
	name   string // also the golden files' name
	dir    string
	prefix string // of the file names in dir
}

// versionFixtures are written from ZooKeeper's code and documentation at
// the release tags (3.8.0 is the capture of the real server).
var versionFixtures = []versionFixture{
	{"3.4.14-leader", "testdata/versions/3.4.14-leader", ""},
	{"3.5.10-leader", "testdata/versions/3.5.10-leader", ""},
	{"3.6.4-follower", "testdata/versions/3.6.4-follower", ""},
	{"3.7.2-leader", "testdata/versions/3.7.2-leader", ""},
	{"3.8.0-leader", "../internal/fourlw/testdata", "leader."},
	{"3.9.2-leader", "testdata/versions/3.9.2-leader", ""},
}

func (f versionFixture) read(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, f.prefix+file))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return b
}

// volatileFamilies change from scrape to scrape and stay out of the golden
// files.
var volatileFamilies = map[string]bool{
	"zookeeper_probe_duration_seconds":            true,
	"zookeeper_last_seen_timestamp_seconds":       true,
	"zookeeper_scrape_collector_duration_seconds": true,
	"zookeeper_ensemble_probe_age_seconds":        true,
}

// scrapeText returns the ensemble collector's text exposition, without the
// volatile families, with server addresses replaced by zk1:2181.
func scrapeText(t *testing.T, cfg Config) []byte {
	t.Helper()
	zk, err := New(cfg, log.NewNopLogger(), "ensemble")
	if err != nil {
		t.Fatal(err)
	}
	defer zk.Close()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(zk)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, mf := range mfs {
		if volatileFamilies[mf.GetName()] {
			continue
		}
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return bytes.ReplaceAll(b.Bytes(), []byte(cfg.Servers[0]), []byte("zk1:2181"))
}

// adminServer serves a fixture's AdminServer documents.
func adminServer(t *testing.T, docs map[string][]byte) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, ok := docs[strings.TrimPrefix(r.URL.Path, "/commands/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestFixtureGolden compares the ensemble collector's output for every
// version fixture, over four-letter words and over the AdminServer, with
// testdata/golden/<fixture>-<transport>.prom. Regenerate them with
// go test ./collector/ -run TestFixtureGolden -update.
func TestFixtureGolden(t *testing.T) {
	for _, f := range versionFixtures {
		t.Run(f.name+"/4lw", func(t *testing.T) {
			srv, err := zktest.NewFakeServer(map[string][]byte{"mntr": f.read(t, "mntr.txt"), "srvr": f.read(t, "srvr.txt")})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			got := scrapeText(t, Config{Servers: []string{srv.Addr()}, Timeout: 5 * time.Second})
			compareGolden(t, filepath.Join("testdata", "golden", f.name+"-4lw.prom"), got)
		})
		monitor := f.read(t, "admin.monitor.json")
		if monitor == nil {
			continue // 3.4 has no AdminServer
		}
		t.Run(f.name+"/admin", func(t *testing.T) {
			addr := adminServer(t, map[string][]byte{"monitor": monitor, "stat": f.read(t, "admin.stat.json")})
			got := scrapeText(t, Config{Servers: []string{"zk1:2181"}, Timeout: 5 * time.Second, Transport: "admin",
				AdminPorts: map[string]string{"zk1:2181": addr}})
			compareGolden(t, filepath.Join("testdata", "golden", f.name+"-admin.prom"), got)
		})
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the scrape (run with -update after checking the change):\n%s", path, lineDiff(want, got))
	}
}

// lineDiff lists the lines only one side has.
func lineDiff(want, got []byte) string {
	count := map[string]int{}
	for _, l := range strings.Split(string(want), "\n") {
		count[l]++
	}
	for _, l := range strings.Split(string(got), "\n") {
		count[l]--
	}
	var b strings.Builder
	for l, n := range count {
		switch {
		case n > 0:
			b.WriteString("- " + l + "\n")
		case n < 0:
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}

// fixtureFields returns the fields of a fixture's mntr answer, and of its
// AdminServer monitor document when it has one.
func fixtureFields(t *testing.T, f versionFixture) map[string][]fourlw.Field {
	t.Helper()
	out := map[string][]fourlw.Field{}
	fields, err := fourlw.ParseMntr(f.read(t, "mntr.txt"))
	if err != nil {
		t.Fatal(err)
	}
	out["mntr"] = fields
	if doc := f.read(t, "admin.monitor.json"); doc != nil {
		addr := adminServer(t, map[string][]byte{"monitor": doc, "stat": f.read(t, "admin.stat.json")})
		p := fourlw.AdminProber{AdminAddr: func(string) string { return addr }}
		st := p.Probe(context.Background(), "zk1:2181", false)
		if st.Mntr == nil {
			t.Fatalf("%s: AdminServer monitor: %v", f.name, st.Err)
		}
		out["monitor"] = st.Mntr
	}
	return out
}

// fieldVersion returns the release in a zk_version value.
func fieldVersion(fields []fourlw.Field) string {
	for _, f := range fields {
		if f.Key == "zk_version" {
			v, _, _ := strings.Cut(f.Text, "-")
			return v
		}
	}
	return ""
}

// TestMntrKeyTypes checks every key of every version fixture against the
// type table: the key is in the table (or is part of a registered summary)
// for that version, and is classified with the table's type.
func TestMntrKeyTypes(t *testing.T) {
	for _, f := range versionFixtures {
		for source, fields := range fixtureFields(t, f) {
			version := fieldVersion(fields)
			if version == "" {
				t.Fatalf("%s %s: no zk_version", f.name, source)
			}
			var descs descCache
			infos := descs.classes("zk1:2181", fields, map[string]bool{})
			for i, field := range fields {
				checkKeyType(t, f.name+" "+source, version, field, infos[i])
			}
		}
	}
}

func checkKeyType(t *testing.T, where, version string, field fourlw.Field, fi *fieldInfo) {
	t.Helper()
	if summary, ok := registeredSummary(field.Key); ok {
		if fi == nil || fi.summary == nil || fi.summary.fam.Type() != dto.MetricType_SUMMARY {
			t.Errorf("%s: %s is part of the summary %s but is not exported in it", where, field.Key, summary)
		}
		if since := mntrSummaries[summary].since; versionLess(version, since) {
			t.Errorf("%s: summary %s is registered since %s, not in %s", where, summary, since, version)
		}
		return
	}
	table := strings.TrimPrefix(field.Key, "zk_")
	if v, set, ok := splitSet(table, mntrSets); ok && v != "" {
		table = set
	}
	k, ok := mntrKeys["zk_"+table]
	switch {
	case !ok:
		t.Errorf("%s: %s is not in the type table", where, field.Key)
		return
	case versionLess(version, k.since) || k.until != "" && versionLess(k.until, version):
		t.Errorf("%s: %s is known from %s to %q, not in %s", where, field.Key, k.since, k.until, version)
	}
	want := map[keyType]dto.MetricType{gaugeKey: dto.MetricType_GAUGE, counterKey: dto.MetricType_COUNTER}[k.typ]
	switch {
	case k.typ == textKey:
		if field.Numeric {
			t.Errorf("%s: %s is text in the table but numeric here", where, field.Key)
		}
	case !field.Numeric:
		t.Errorf("%s: %s = %q is not a number", where, field.Key, field.Text)
	case fi == nil || fi.fam == nil:
		t.Errorf("%s: %s is not exported", where, field.Key)
	case fi.fam.Type() != want:
		t.Errorf("%s: %s exported as %v, ZooKeeper registers a %v", where, field.Key, fi.fam.Type(), want)
	case k.typ == counterKey && !strings.HasSuffix(fi.fam.Name(), "_total"):
		t.Errorf("%s: counter %s exported as %s, without _total", where, field.Key, fi.fam.Name())
	}
}

// registeredSummary returns the summary (or summary set) a key
// zk_<part>_<name> belongs to.
func registeredSummary(key string) (string, bool) {
	for _, p := range summaryPrefixes {
		rest, ok := strings.CutPrefix(key, "zk_"+p+"_")
		if !ok {
			continue
		}
		if _, ok := mntrSummaries[rest]; ok {
			return rest, true
		}
		if _, set, ok := splitSet(rest, summarySets); ok {
			return set, true
		}
	}
	return "", false
}

// versionLess compares dotted release numbers ("3.4.13" < "3.6.0").
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, _ := strconv.Atoi(as[i])
		y, _ := strconv.Atoi(bs[i])
		if x != y {
			return x < y
		}
	}
	return len(as) < len(bs)
}

// mntrText returns the series of one mntr answer in the text format, for
// the families named.
func mntrText(t *testing.T, answer string, names ...string) string {
	t.Helper()
	fields, err := fourlw.ParseMntr([]byte(answer))
	if err != nil {
		t.Fatal(err)
	}
	var descs descCache
	buf := series.NewSink(false).Buf()
	mntrSamples("zk1:2181", fields, &descs, buf)
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var lines []string
	for _, s := range buf.Samples() {
		if !want[s.Desc.Name()] {
			continue
		}
		var l strings.Builder
		l.WriteString(s.Desc.Name() + " " + s.Desc.Type().String())
		for _, p := range s.Labels {
			l.WriteString(" " + p.GetName() + "=" + p.GetValue())
		}
		if s.Summary == nil {
			l.WriteString(" " + strconv.FormatFloat(s.Value, 'g', -1, 64))
		}
		lines = append(lines, l.String())
	}
	return strings.Join(lines, "\n")
}

// TestMntrCounterTypes: keys ZooKeeper registers with getCounter are
// counters with _total, among them zk_watch_bytes (3.7+) and the 3.9
// snapshot and restore counters, and counter sets keep their label.
func TestMntrCounterTypes(t *testing.T) {
	got := mntrText(t, "zk_watch_bytes\t2048\nzk_restore_error_count\t1\nzk_restore_rate_limited_count\t2\n"+
		"zk_snapshot_error_count\t3\nzk_snapshot_rate_limited_count\t4\nzk_app_quota_exceeded_error_per_namespace\t5\n",
		"zookeeper_watch_bytes_total", "zookeeper_restore_error_total", "zookeeper_restore_rate_limited_total",
		"zookeeper_snapshot_error_total", "zookeeper_snapshot_rate_limited_total",
		"zookeeper_quota_exceeded_error_per_namespace_total")
	want := `zookeeper_watch_bytes_total COUNTER server=zk1:2181 2048
zookeeper_restore_error_total COUNTER server=zk1:2181 1
zookeeper_restore_rate_limited_total COUNTER server=zk1:2181 2
zookeeper_snapshot_error_total COUNTER server=zk1:2181 3
zookeeper_snapshot_rate_limited_total COUNTER server=zk1:2181 4
zookeeper_quota_exceeded_error_per_namespace_total COUNTER namespace=app server=zk1:2181 5`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestMntrUnsetPlaceholders: -1 in the proposal and client response sizes
// means "no value yet" and gives no sample; a real size does. Other keys
// keep -1.
func TestMntrUnsetPlaceholders(t *testing.T) {
	names := []string{"zookeeper_last_proposal_size", "zookeeper_min_proposal_size", "zookeeper_max_proposal_size",
		"zookeeper_last_client_response_size", "zookeeper_min_client_response_size",
		"zookeeper_max_client_response_size", "zookeeper_observer_master_id"}
	unset := "zk_last_proposal_size\t-1\nzk_min_proposal_size\t-1\nzk_max_proposal_size\t-1\n" +
		"zk_last_client_response_size\t-1\nzk_min_client_response_size\t-1\nzk_max_client_response_size\t-1\n" +
		"zk_observer_master_id\t-1\n"
	if got, want := mntrText(t, unset, names...), "zookeeper_observer_master_id GAUGE server=zk1:2181 -1"; got != want {
		t.Errorf("placeholders: got\n%s\nwant\n%s", got, want)
	}
	set := "zk_last_proposal_size\t92\nzk_min_proposal_size\t0\nzk_max_client_response_size\t446\n"
	want := `zookeeper_last_proposal_size GAUGE server=zk1:2181 92
zookeeper_min_proposal_size GAUGE server=zk1:2181 0
zookeeper_max_client_response_size GAUGE server=zk1:2181 446`
	if got := mntrText(t, set, names...); got != want {
		t.Errorf("sizes: got\n%s\nwant\n%s", got, want)
	}
}

// TestMntrSets: summary sets keyed by server id (ack_latency too) and
// gauge sets keyed by namespace become labels, not names.
func TestMntrSets(t *testing.T) {
	got := mntrText(t, "zk_avg_2_ack_latency\t1.5\nzk_min_2_ack_latency\t1\nzk_max_2_ack_latency\t2\n"+
		"zk_cnt_2_ack_latency\t2\nzk_sum_2_ack_latency\t3\nzk_avg_quorum_ack_latency\t0\nzk_cnt_quorum_ack_latency\t0\n"+
		"zk_sum_quorum_ack_latency\t0\nzk_my_app_quota_count_limit_per_namespace\t100\n",
		"zookeeper_ack_latency_seconds", "zookeeper_ack_latency_max_seconds", "zookeeper_quorum_ack_latency_seconds",
		"zookeeper_quota_count_limit_per_namespace")
	want := `zookeeper_quota_count_limit_per_namespace GAUGE namespace=my_app server=zk1:2181 100
zookeeper_ack_latency_seconds SUMMARY learner_sid=2 server=zk1:2181
zookeeper_ack_latency_max_seconds GAUGE learner_sid=2 server=zk1:2181 0.002
zookeeper_quorum_ack_latency_seconds SUMMARY server=zk1:2181`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestMntrTableCoversRealServer checks the type table against the real
// ZooKeeper installed here: every key that its leader, follower and
// observer print in mntr and in the AdminServer's monitor is in the table
// for that version, with the table's type.
func TestMntrTableCoversRealServer(t *testing.T) {
	e := zktest.Start(t, 3, func(o *zktest.Options) { o.Observers = 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	states := map[string]bool{}
	for _, m := range e.Members {
		var fields []fourlw.Field
		// Wait until the member serves and knows its role.
		err := zktest.WaitFor(20*time.Second, 50*time.Millisecond, func() error {
			out, err := fourlw.Do(ctx, m.Addr(), "mntr", 0)
			if err != nil {
				return err
			}
			if fields, err = fourlw.ParseMntr(out); err != nil {
				return err
			}
			if mode := (&fourlw.Status{Mntr: fields}).Mode(); mode != "leader" && mode != "follower" && mode != "observer" {
				return fmt.Errorf("state %q", mode)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", m.Addr(), err)
		}
		st := (&fourlw.Status{Mntr: fields})
		states[st.Mode()] = true
		admin := fourlw.AdminProber{AdminAddr: func(string) string { return strings.TrimPrefix(m.AdminURL(), "http://") }}
		monitor := admin.Probe(ctx, m.Addr(), false)
		if monitor.Mntr == nil {
			t.Fatalf("%s: AdminServer monitor: %v", m.AdminURL(), monitor.Err)
		}
		for source, fields := range map[string][]fourlw.Field{"mntr": fields, "monitor": monitor.Mntr} {
			var descs descCache
			infos := descs.classes(m.Addr(), fields, map[string]bool{})
			for i, f := range fields {
				checkKeyType(t, st.Mode()+" "+source, st.Version(), f, infos[i])
			}
			t.Logf("%s %s: %d keys of %s checked", st.Mode(), source, len(fields), st.Version())
		}
	}
	if len(states) != 3 {
		t.Errorf("states seen %v, want a leader, a follower and an observer", states)
	}
}

// TestReadmeMntrTypes holds the README's mntr type table to the type
// table: its counter rows list exactly the counter keys, and its "-1"
// row exactly the keys whose -1 gives no sample.
func TestReadmeMntrTypes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	key := regexp.MustCompile("`(zk_[a-z0-9_<>{},]+)`")
	counters, unset := map[string]bool{}, map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, " | ")
		if len(cells) != 3 || !strings.HasPrefix(line, "| ") || !strings.Contains(line, "`zk_") {
			continue
		}
		for _, m := range key.FindAllStringSubmatch(cells[1], -1) {
			for _, k := range expandBraces(strings.ReplaceAll(m[1], "<namespace>_", "")) {
				switch {
				case strings.HasPrefix(cells[2], "counter"):
					counters[k] = true
				case strings.HasPrefix(cells[0], "| gauge, `-1`"):
					unset[k] = true
				}
			}
		}
	}
	for k, v := range mntrKeys {
		if (v.typ == counterKey) != counters[k] {
			t.Errorf("%s: counter in the type table %v, in the README %v", k, v.typ == counterKey, counters[k])
		}
		if v.unset != unset[k] {
			t.Errorf("%s: -1 gives no sample in the type table %v, in the README %v", k, v.unset, unset[k])
		}
		delete(counters, k)
		delete(unset, k)
	}
	for k := range counters {
		t.Errorf("README lists counter %s, which the type table lacks", k)
	}
	for k := range unset {
		t.Errorf("README lists %s with -1 placeholders, which the type table lacks", k)
	}
}

// expandBraces expands the first {a,b} of s, recursively.
func expandBraces(s string) []string {
	i := strings.IndexByte(s, '{')
	j := strings.IndexByte(s, '}')
	if i < 0 || j < i {
		return []string{s}
	}
	var out []string
	for _, alt := range strings.Split(s[i+1:j], ",") {
		out = append(out, expandBraces(s[:i]+alt+s[j+1:])...)
	}
	return out
}
