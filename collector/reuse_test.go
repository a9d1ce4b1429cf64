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
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// gatherValue gathers zk and returns name{server="addr"} (or the
// unlabelled name when addr is "").
func gatherValue(t *testing.T, zk *ZooKeeperCollector, name, addr string) float64 {
	t.Helper()
	mfs, err := zk.Gather(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			if addr == "" || (len(m.Label) == 1 && m.Label[0].GetValue() == addr) {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("%s{server=%q} not gathered", name, addr)
	return 0
}

// TestProbeReuse: with ProbeReuse, a scrape shortly after another shows
// the same probe (a changed answer is not seen yet) and says how old it
// is; once the period is over, the next scrape probes again.
func TestProbeReuse(t *testing.T) {
	servers, addrs := fakeEnsemble(t, "standalone")
	mntr := fixtureAnswers(t, "standalone")["mntr"]
	newNodes := bytes.Replace(mntr, []byte("zk_znode_count\t"), []byte("zk_znode_count\t7"), 1)
	for _, c := range []struct {
		reuse time.Duration
		fresh bool
	}{{time.Hour, false}, {0, true}} {
		t.Run(fmt.Sprint(c.reuse), func(t *testing.T) {
			servers[0].Set("mntr", mntr)
			zk, err := New(Config{Servers: addrs, Timeout: 5 * time.Second, ProbeReuse: c.reuse}, log.NewNopLogger(), "ensemble")
			if err != nil {
				t.Fatal(err)
			}
			defer zk.Close()
			before := gatherValue(t, zk, "zookeeper_znode_count", addrs[0])
			servers[0].Set("mntr", newNodes)
			after := gatherValue(t, zk, "zookeeper_znode_count", addrs[0])
			if (after != before) != c.fresh {
				t.Errorf("znode count %v, then %v after the answer changed (fresh probe wanted: %v)", before, after, c.fresh)
			}
			if c.reuse > 0 {
				if age := gatherValue(t, zk, "zookeeper_ensemble_probe_age_seconds", ""); age <= 0 || age > 60 {
					t.Errorf("probe age %v", age)
				}
			}
		})
	}
	// A short period: the change shows once it has passed.
	servers[0].Set("mntr", mntr)
	zk, err := New(Config{Servers: addrs, Timeout: 5 * time.Second, ProbeReuse: 50 * time.Millisecond}, log.NewNopLogger(), "ensemble")
	if err != nil {
		t.Fatal(err)
	}
	defer zk.Close()
	before := gatherValue(t, zk, "zookeeper_znode_count", addrs[0])
	servers[0].Set("mntr", newNodes)
	if err := zktest.WaitFor(10*time.Second, 10*time.Millisecond, func() error {
		if v := gatherValue(t, zk, "zookeeper_znode_count", addrs[0]); v == before {
			return fmt.Errorf("still %v", v)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}

// probingCollector stands for a collector that asks ZooKeeper: it blocks
// until release is closed.
type probingCollector struct {
	started chan struct{}
	release chan struct{}
	done    *atomic.Bool
}

func (p probingCollector) Update(context.Context, chan<- prometheus.Metric) error {
	close(p.started)
	<-p.release
	p.done.Store(true)
	return nil
}

// viewCollector stands for a watch collector: it records whether the
// probing collector had finished when it read its view.
type viewCollector struct {
	watchCollector
	probeDone *atomic.Bool
	sawDone   *atomic.Bool
}

func (v viewCollector) Update(context.Context, chan<- prometheus.Metric) error {
	v.sawDone.Store(v.probeDone.Load())
	return nil
}

// TestWatchViewReadAfterProbe: the watch collectors read their view after
// the collectors that ask ZooKeeper have finished, so an answer shows the
// view as of when it is sent.
func TestWatchViewReadAfterProbe(t *testing.T) {
	var done, saw atomic.Bool
	p := probingCollector{started: make(chan struct{}), release: make(chan struct{}), done: &done}
	zk := &ZooKeeperCollector{Collectors: map[string]Collector{"probe": p, "view": viewCollector{probeDone: &done, sawDone: &saw}},
		logger: log.NewNopLogger(), watcher: newWatcher(Config{}, log.NewNopLogger()), meta: newCollectorMeta([]string{"probe", "view"})}
	gathered := make(chan error)
	go func() {
		_, err := zk.Gather(context.Background())
		gathered <- err
	}()
	<-p.started
	close(p.release)
	if err := <-gathered; err != nil {
		t.Fatal(err)
	}
	if !saw.Load() {
		t.Error("the watch view was read before the probe finished")
	}
}
