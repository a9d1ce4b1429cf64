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
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/zkwatch/zkwatch/internal/treecache"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

func TestSizeOf(t *testing.T) {
	v := &treecache.View{
		Exists: true, Total: 3,
		Root: treecache.Stat{DataLength: 10, NumChildren: 3},
		Children: map[string]*treecache.Node{
			"a": {DataLength: 900, NumChildren: 1},
			"b": {DataLength: 5, NumChildren: 7},
		},
	}
	if got, want := sizeOf(v), (subtreeSize{data: 900, children: 7}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := sizeOf(&treecache.View{}); got != (subtreeSize{}) {
		t.Errorf("absent root: got %+v", got)
	}
}

// TestGuardrailsRealEnsemble: a 900 KB member of a watched group shows as
// the group's largest data, within 20% of the default jute.maxbuffer (the
// values mixin/tests/load.yaml feeds the alert), and a watched queue's
// depth as its largest child count.
func TestGuardrailsRealEnsemble(t *testing.T) {
	e := zktest.Start(t, 3)
	c := dial(t, e.Addrs())
	mkdirs(t, c, "/monitor/big")
	mkdirs(t, c, "/queues/q")
	mustCreate(t, c, "/monitor/big/small", "0123456789", 0)
	for i := range 50 {
		mustCreate(t, c, fmt.Sprintf("/queues/q/item-%d", i), "", 0)
	}
	cfg := writeFile(t, t.TempDir(), "watch.yml", "groups:\n  - path: /monitor/big\nqueues:\n  - path: /queues/q\n")
	zc, err := New(Config{Servers: e.Addrs(), Timeout: 5 * time.Second, Watch: watchFlags{configFile: cfg}.options()},
		log.NewNopLogger(), "group", "queue", "guardrails")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(zc.Close)
	ex := &watchExporter{t: t, zc: zc}
	ex.waitFor(want{values: map[string]float64{
		`zookeeper_jute_maxbuffer_bytes`:                          DefaultJuteMaxBuffer,
		`zookeeper_watch_largest_data_bytes{root="/monitor/big"}`: 10,
		`zookeeper_watch_largest_children{root="/monitor/big"}`:   1,
		`zookeeper_watch_largest_children{root="/queues/q"}`:      50,
	}})
	const size = 900 << 10
	mustCreate(t, c, "/monitor/big/blob", strings.Repeat("x", size), 0)
	ex.waitFor(want{values: map[string]float64{
		`zookeeper_watch_largest_data_bytes{root="/monitor/big"}`: size,
		`zookeeper_watch_largest_children{root="/monitor/big"}`:   2,
	}})
	if share := float64(size) / DefaultJuteMaxBuffer; share <= 0.8 {
		t.Errorf("900 KB is %.3f of jute.maxbuffer, want above the alert's 0.8", share)
	}
	// A write that shrinks it is seen through the member's data watch.
	if _, err := c.Set("/monitor/big/blob", []byte("small again"), -1); err != nil {
		t.Fatal(err)
	}
	ex.waitFor(want{values: map[string]float64{`zookeeper_watch_largest_data_bytes{root="/monitor/big"}`: 11}})
}

// TestGuardrailsPolledSubtree: a subtree no watch collector follows is
// walked at the configured interval within its depth and node bounds, is
// not reported as a watched root, and its largest data follows a write.
func TestGuardrailsPolledSubtree(t *testing.T) {
	e := zktest.Start(t, 1)
	c := dial(t, e.Addrs())
	mkdirs(t, c, "/data/a/b/c") // c is 3 levels below /data
	mustCreate(t, c, "/data/a/b/c/deep", strings.Repeat("d", 5000), 0)
	mustCreate(t, c, "/data/a/b/blob", strings.Repeat("x", 1000), 0)
	mkdirs(t, c, "/data/wide")
	for i := range 30 {
		mustCreate(t, c, fmt.Sprintf("/data/wide/n-%d", i), "", 0)
	}
	cfg := writeFile(t, t.TempDir(), "watch.yml", `guardrails:
  interval: 1s
  subtrees:
    - path: /data
      max_depth: 3
      max_nodes: 100
    - path: /data/wide
      max_nodes: 5
`)
	zc, err := New(Config{Servers: e.Addrs(), Timeout: 5 * time.Second, Watch: watchFlags{configFile: cfg}.options()},
		log.NewNopLogger(), "session", "guardrails")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(zc.Close)
	ex := &watchExporter{t: t, zc: zc}
	// /data, a, b, c, blob, wide and its 30 children: 36 nodes; "deep"
	// (4 levels down) is not read.
	ex.waitFor(want{values: map[string]float64{
		`zookeeper_watch_largest_data_bytes{root="/data"}`:     1000,
		`zookeeper_watch_largest_children{root="/data"}`:       30,
		`zookeeper_guardrails_polled_nodes{root="/data"}`:      36,
		`zookeeper_guardrails_truncated{root="/data"}`:         0,
		`zookeeper_guardrails_polled_nodes{root="/data/wide"}`: 5,
		`zookeeper_guardrails_truncated{root="/data/wide"}`:    1,
	}, absent: []string{`zookeeper_watch_synced{root="/data"}`}})
	if _, err := c.Set("/data/a/b/blob", []byte(strings.Repeat("y", 2000)), -1); err != nil {
		t.Fatal(err)
	}
	ex.waitFor(want{values: map[string]float64{`zookeeper_watch_largest_data_bytes{root="/data"}`: 2000}})
}
