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

package fourlw

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

// find returns the field with key and labels, or nil.
func find(fields []Field, key string, labels ...Label) *Field {
	for i, f := range fields {
		if f.Key == key && (len(labels) == 0 && len(f.Labels) == 0 || reflect.DeepEqual(f.Labels, labels)) {
			return &fields[i]
		}
	}
	return nil
}

// TestParseMntrProviderFixtures parses mntr answers of servers running the
// Prometheus metrics provider: every labelled line becomes a field with its
// labels, none is dropped.
func TestParseMntrProviderFixtures(t *testing.T) {
	for _, tc := range []struct {
		file   string
		key    string
		labels []Label
		value  float64 // NaN: want NaN
	}{
		{"provider-3.8.0.mntr.txt", "zk_om_proposal_process_time_ms", []Label{{"quantile", "0.99"}}, math.NaN()},
		{"provider-3.8.0.mntr.txt", "zk_pending_session_queue_size_count", nil, 0},
		{"provider-3.8.0.mntr.txt", "zk_uptime", nil, 11438},
		{"provider-3.6.1.mntr.txt", "zk_jvm_threads_state", []Label{{"state", "RUNNABLE"}}, 15},
		{"provider-3.6.1.mntr.txt", "zk_write_per_namespace", []Label{{"key", "log_dir_event_notification"}, {"quantile", "0.5"}}, math.NaN()},
		{"provider-3.6.1.mntr.txt", "zk_write_per_namespace_sum", []Label{{"key", "cluster"}}, 64},
		{"provider-3.6.1.mntr.txt", "zk_jvm_memory_bytes_init", []Label{{"area", "nonheap"}}, 7667712},
		{"provider-spaces.mntr.txt", "zk_jvm_gc_collection_seconds_sum", []Label{{"gc", "PS MarkSweep"}}, 4},
		{"provider-spaces.mntr.txt", "zk_jvm_memory_pool_allocated_bytes_total", []Label{{"pool", "Code Cache"}}, 5},
		{"provider-spaces.mntr.txt", "zk_write_per_namespace", []Label{{"key", "solrcloud7"}, {"quantile", "0.5"}}, 141},
	} {
		data := fixture(t, tc.file)
		fields, err := ParseMntr(data)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		lines := 0
		for _, l := range strings.Split(string(data), "\n") {
			if strings.Contains(l, "\t") {
				lines++
			}
		}
		if len(fields) != lines {
			t.Errorf("%s: %d fields from %d mntr lines", tc.file, len(fields), lines)
		}
		f := find(fields, tc.key, tc.labels...)
		switch {
		case f == nil:
			t.Errorf("%s: no field %s%v", tc.file, tc.key, tc.labels)
		case !f.Numeric || math.IsNaN(tc.value) != math.IsNaN(f.Value) || !math.IsNaN(tc.value) && f.Value != tc.value:
			t.Errorf("%s: %s%v = %+v, want %v", tc.file, tc.key, tc.labels, f, tc.value)
		}
	}
}

func TestLabelledKey(t *testing.T) {
	for key, want := range map[string][]Label{
		`zk_jvm_threads_state{state="RUNNABLE"}`:       {{"state", "RUNNABLE"}},
		`zk_a{gc="G1 Young Generation"}`:               {{"gc", "G1 Young Generation"}},
		`zk_a{k="x",quantile="0.5"}`:                   {{"k", "x"}, {"quantile", "0.5"}},
		`zk_a{pool="CodeHeap 'non-nmethods'"}`:         {{"pool", "CodeHeap 'non-nmethods'"}},
		`zk_a{v="a,b"}`:                                {{"v", "a,b"}},
		`zk_a{v="say "hi""}`:                           {{"v", `say "hi"`}},
		`zk_a{v="x",}`:                                 {{"v", "x"}},
		`zk_a{v=""}`:                                   {{"v", ""}},
		`zk_a{v="a",w="b,c="d"}`:                       {{"v", "a"}, {"w", `b,c="d`}},
		`zk_jvm_info{version="1.8",vendor="Oracle C"}`: {{"version", "1.8"}, {"vendor", "Oracle C"}},
	} {
		name, labels, ok := labelledKey([]byte(key))
		if !ok || !reflect.DeepEqual(labels, want) || !bytes.HasPrefix([]byte(key), name) {
			t.Errorf("%s: %q %v %v, want %v", key, name, labels, ok, want)
		}
	}
	for _, key := range []string{
		`zk_a{}`, `zk_a{v=1}`, `zk_a{v="1"`, `zk_a{__v="1"}`, `zk_a{v="1",v="2"}`, `a{v="1"}`, `zk_{v="1"}`,
		`zk_a{1v="1"}`, `zk_a b{v="1"}`, `zk_a{v="1"}x`, "zk_a{v=\"\xff\"}",
		`zk_a{` + strings.Repeat(`v="1",`, 1) + strings.Repeat("x", 2000) + `="1"}`,
	} {
		if name, labels, ok := labelledKey([]byte(key)); ok {
			t.Errorf("%q accepted as %q %v", key, name, labels)
		}
	}
}

// FuzzLabelledKey checks that an accepted key has a valid name, valid and
// distinct label names, and prints back to a key that parses the same.
func FuzzLabelledKey(f *testing.F) {
	for _, n := range []string{"provider-3.8.0.mntr.txt", "provider-3.6.1.mntr.txt", "provider-spaces.mntr.txt"} {
		for _, l := range strings.Split(string(fixture(f, n)), "\n") {
			if k, _, ok := strings.Cut(l, "\t"); ok {
				f.Add([]byte(k))
			}
		}
	}
	f.Add([]byte(`zk_a{v="a",w="b,c="d"}`))
	f.Fuzz(func(t *testing.T, key []byte) {
		name, labels, ok := labelledKey(key)
		if !ok {
			return
		}
		if !validKey(name) || len(labels) == 0 || len(labels) > maxLabels {
			t.Fatalf("%q: name %q, %d labels", key, name, len(labels))
		}
		seen := map[string]bool{}
		var b strings.Builder
		b.Write(name)
		for i, l := range labels {
			if !validLabelName([]byte(l.Name)) || seen[l.Name] {
				t.Fatalf("%q: label name %q", key, l.Name)
			}
			seen[l.Name] = true
			sep := ","
			if i == 0 {
				sep = "{"
			}
			fmt.Fprintf(&b, `%s%s="%s"`, sep, l.Name, l.Value)
		}
		b.WriteString("}")
		name2, labels2, ok := labelledKey([]byte(b.String()))
		if !ok || !bytes.Equal(name, name2) || !reflect.DeepEqual(labels, labels2) {
			t.Fatalf("%q parsed as %q %v, printed as %q, parsed again as %q %v", key, name, labels, b.String(), name2, labels2)
		}
	})
}

// TestMonitorLabelledKeys: the AdminServer's /commands/monitor carries the
// metrics provider's keys too, without the zk_ prefix.
func TestMonitorLabelledKeys(t *testing.T) {
	fields := monitorFields(map[string]any{
		`jvm_threads_state{state="RUNNABLE"}`:                     json.Number("15.0"),
		`jvm_gc_collection_seconds_sum{gc="G1 Young Generation"}`: json.Number("0.25"),
		`bad{`:         json.Number("1"),
		"server_state": "leader",
	})
	if f := find(fields, "zk_jvm_threads_state", Label{"state", "RUNNABLE"}); f == nil || f.Value != 15 {
		t.Errorf("threads state: %+v in %+v", f, fields)
	}
	if f := find(fields, "zk_jvm_gc_collection_seconds_sum", Label{"gc", "G1 Young Generation"}); f == nil || f.Value != 0.25 {
		t.Errorf("gc sum: %+v in %+v", f, fields)
	}
	if len(fields) != 3 {
		t.Errorf("%d fields, want 3 (the malformed key dropped): %+v", len(fields), fields)
	}
}
