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

package receiver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/internal/zktest"
	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/payload"
	"github.com/zkwatch/zkwatch/receiver/store"
)

// A flood of due restart jobs starts at most maxActiveJobs goroutines:
// the first scan takes the bound at once, and the rest wait in the store.
func TestSchedulerBoundsActiveJobs(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Load([]byte(fmt.Sprintf(`
global: {restart_concurrency: 1}
restarts:
  - name: member
    match: {alertname: M}
    command: ["/bin/sh", "-c", "while [ ! -e go ]; do sleep 0.02; done"]
    workdir: %q
`, dir)))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	const jobs = 2 * maxActiveJobs
	err = st.Update(func(tx *store.Tx) error {
		for i := range jobs {
			labels := map[string]string{"alertname": "M", "member": fmt.Sprint("m", i)}
			inc := &store.Incident{ID: fmt.Sprint("i", i), Status: payload.StatusFiring, FirstSeen: now, LastSeen: now,
				Alert: payload.Alert{Status: payload.StatusFiring, Labels: labels}}
			if err := tx.PutIncident(inc); err != nil {
				return err
			}
			if err := tx.PutJob(&store.RestartJob{IncidentID: inc.ID, Rule: "member", NextAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	counter := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x"}, []string{"rule", "outcome"})
	s := newScheduler(st, func() *config.Config { return cfg }, func() {}, counter, log.NewNopLogger(), time.Now)
	s.SetConcurrency(1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() {
		_ = os.WriteFile(filepath.Join(dir, "go"), nil, 0o600)
		cancel()
		<-done
	}()
	active := func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.active)
	}
	if err := zktest.WaitFor(30*time.Second, 5*time.Millisecond, func() error {
		if n := active(); n < maxActiveJobs {
			return fmt.Errorf("%d active", n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n := active(); n != maxActiveJobs {
		t.Errorf("%d jobs handled at once, want at most %d", n, maxActiveJobs)
	}
}
