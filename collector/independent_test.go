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
	"testing"

	"github.com/go-zookeeper/zk"
)

// TestTwoExportersInOneProcess runs two exporters with different watch
// options against one ensemble: each sees only its own groups, reloading
// one leaves the other alone, and closing one leaves the other working.
// With package-level flags and a shared watcher this was impossible.
func TestTwoExportersInOneProcess(t *testing.T) {
	e := watchEnsemble(t)
	servers := e.Addrs()
	actor := dial(t, servers)
	mkdirs(t, actor, "/a/web")
	mkdirs(t, actor, "/b/web")
	mustCreate(t, actor, "/a/web/x", "", zk.FlagEphemeral)
	mustCreate(t, actor, "/b/web/y", "", zk.FlagEphemeral)
	mustCreate(t, actor, "/b/web/z", "", zk.FlagEphemeral)

	cfgDir := t.TempDir()
	cfgB := writeFile(t, cfgDir, "b.yml", "groups:\n  - path: /web\n")
	a := newWatchExporter(t, servers, watchFlags{groups: []string{"/web"}, chroot: "/a"})
	b := newWatchExporter(t, servers, watchFlags{configFile: cfgB, chroot: "/b"})
	a.waitFor(want{values: map[string]float64{`zookeeper_group_members{group="/web"}`: 1}})
	b.waitFor(want{values: map[string]float64{`zookeeper_group_members{group="/web"}`: 2}})

	// Reload b with another group: a is untouched.
	mkdirs(t, actor, "/b/db")
	writeFile(t, cfgDir, "b.yml", "groups:\n  - path: /db\n")
	if err := b.zc.Reload(); err != nil {
		t.Fatal(err)
	}
	b.waitFor(want{values: map[string]float64{`zookeeper_group_members{group="/db"}`: 0},
		absent: []string{`zookeeper_group_members{group="/web"}`}})
	if err := a.check(want{values: map[string]float64{`zookeeper_group_members{group="/web"}`: 1},
		absent: []string{`zookeeper_group_members{group="/db"}`}}); err != nil {
		t.Errorf("a after b's reload: %v", err)
	}
	// An invalid file fails b's reload only; a reloads fine (nothing changed).
	writeFile(t, cfgDir, "b.yml", "groups:\n  - path: relative\n")
	if err := b.zc.Reload(); err == nil {
		t.Error("b reloaded an invalid file")
	}
	if err := a.zc.Reload(); err != nil {
		t.Errorf("a's reload failed because of b's file: %v", err)
	}

	// Closing b leaves a's session and view working.
	b.zc.Close()
	mustCreate(t, actor, "/a/web/x2", "", zk.FlagEphemeral)
	a.waitFor(want{values: map[string]float64{`zookeeper_group_members{group="/web"}`: 2}})
}
