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

package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/agent/supervise"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

// BenchmarkRegisterLatency measures, over 100 supervised runs per
// iteration, how long after the child starts its member node is visible to
// another client, and how long after the child exits the deletion is seen.
func BenchmarkRegisterLatency(b *testing.B) {
	ens := zktest.Start(b, 1)
	obs := observer(b, ens.Servers())
	m := NewMetrics(nil)
	s := dial(b, ens.Servers(), m)
	if err := zktest.WaitFor(waitLong, 10*time.Millisecond, func() error {
		if st := s.State(); !st.Live() {
			return fmt.Errorf("agent %v", st)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	const runs = 100
	var reg, unreg []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := 0; j < runs; j++ {
			path := fmt.Sprintf("/bench/app/m%d-%d", i, j)
			r1, r2 := benchRun(b, obs, s, m, path)
			reg, unreg = append(reg, r1), append(unreg, r2)
		}
	}
	b.StopTimer()
	b.ReportMetric(quantile(reg, 0.5), "reg-p50-ms")
	b.ReportMetric(quantile(reg, 0.99), "reg-p99-ms")
	b.ReportMetric(quantile(unreg, 0.5), "unreg-p50-ms")
	b.ReportMetric(quantile(unreg, 0.99), "unreg-p99-ms")
}

func benchRun(b *testing.B, obs *zk.Conn, s *Session, m *Metrics, path string) (time.Duration, time.Duration) {
	ok, _, created, err := obs.ExistsW(path)
	if err != nil || ok {
		b.Fatalf("exists %s: %v %v", path, ok, err)
	}
	started := make(chan *supervise.Process, 1)
	// The child runs until told to exit, so that a slow machine cannot make
	// it exit before it was registered.
	flag := filepath.Join(b.TempDir(), "exit")
	cfg := RegisterConfig{Path: path, Supervise: &supervise.Config{
		Args:    []string{"sh", "-c", `while [ ! -e "$0" ]; do sleep 0.005; done`, flag},
		OnStart: func(p *supervise.Process) { started <- p }}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := RunRegister(context.Background(), s, cfg, m, nil); err != nil {
			b.Error(err)
		}
	}()
	p := <-started
	exited := make(chan time.Time, 1)
	go func() { _ = supervise.WaitExit(context.Background(), p.Pid); exited <- time.Now() }()
	var regLat time.Duration
	select {
	case <-created:
		regLat = time.Since(p.Started)
	case <-time.After(waitLong):
		b.Fatal("node not created")
	}
	ok, _, deleted, err := obs.ExistsW(path)
	if err != nil || !ok {
		b.Fatalf("node gone before the child exited: %v", err)
	}
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	var unregLat time.Duration
	select {
	case <-deleted:
		unregLat = time.Since(<-exited)
	case <-time.After(waitLong):
		b.Fatal("node not deleted")
	}
	<-done
	return regLat, unregLat
}

// quantile returns the q-quantile of ds in milliseconds.
func quantile(ds []time.Duration, q float64) float64 {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	i := int(q*float64(len(s)-1) + 0.5)
	return float64(s[i]) / float64(time.Millisecond)
}
