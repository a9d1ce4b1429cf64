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

package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/receiver/payload"
)

func incident(id string, seen time.Time) *Incident {
	return &Incident{ID: id, Status: payload.StatusFiring, FirstSeen: seen, LastSeen: seen,
		Alert: payload.Alert{Labels: map[string]string{"alertname": "A", "pad": strings.Repeat("x", 2000)}}}
}

func TestPersistsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Batch(func(tx *Tx) error {
				if err := tx.PutIncident(incident(fmt.Sprint(i), now)); err != nil {
					return err
				}
				return tx.Enqueue(&OutboxItem{IncidentID: fmt.Sprint(i), Notifier: "n"})
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := s.Update(func(tx *Tx) error {
		return tx.PutJob(&RestartJob{IncidentID: "1", Rule: "r", Running: true})
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.View(func(tx *Tx) error {
		incs, err := tx.Incidents(Filter{})
		if err != nil || len(incs) != 20 {
			return fmt.Errorf("%d incidents, %v", len(incs), err)
		}
		items, err := tx.Outbox()
		if err != nil || len(items) != 20 || tx.OutboxLen() != 20 {
			return fmt.Errorf("%d outbox items, %v", len(items), err)
		}
		seqs := map[uint64]bool{}
		for _, it := range items {
			seqs[it.Seq] = true
		}
		if len(seqs) != 20 {
			return fmt.Errorf("sequence numbers not unique")
		}
		j, err := tx.Job("1/r")
		if err != nil || j == nil || !j.Running {
			return fmt.Errorf("job %+v, %v", j, err)
		}
		if c := tx.CountByStatus(); c["firing"] != 20 || c["resolved"] != 0 {
			return fmt.Errorf("counts %v", c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestHistoryIsBounded(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	inc := incident("a", time.Now())
	for range MaxNotifications + 10 {
		inc.Notifications = append(inc.Notifications, Notification{Notifier: "n"})
	}
	for range MaxRestarts + 10 {
		inc.Restarts = append(inc.Restarts, RestartAttempt{Rule: "r"})
	}
	if err := s.Update(func(tx *Tx) error { return tx.PutIncident(inc) }); err != nil {
		t.Fatal(err)
	}
	_ = s.View(func(tx *Tx) error {
		got, _ := tx.Incident("a")
		if len(got.Notifications) != MaxNotifications || len(got.Restarts) != MaxRestarts {
			t.Errorf("%d notifications, %d restarts", len(got.Notifications), len(got.Restarts))
		}
		return nil
	})
}

func TestExpireAndCompact(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	old := now.Add(-48 * time.Hour)
	err = s.Update(func(tx *Tx) error {
		for i := range 3000 {
			seen := old
			if i%100 == 0 {
				seen = now
			}
			inc := incident(fmt.Sprint(i), seen)
			if i%2 == 1 {
				inc.Status, inc.ResolvedAt = payload.StatusResolved, seen
			}
			if err := tx.PutIncident(inc); err != nil {
				return err
			}
		}
		if err := tx.SetLastRun("r/old", old); err != nil {
			return err
		}
		if err := tx.SetLastRun("r/new", now); err != nil {
			return err
		}
		return tx.PutJob(&RestartJob{IncidentID: "1", Rule: "r"})
	})
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.Expire(24*time.Hour, now)
	if err != nil || n != 2970 {
		t.Fatalf("expired %d, %v", n, err)
	}
	_ = s.View(func(tx *Tx) error {
		if c := tx.CountByStatus(); c["firing"] != 30 || c["resolved"] != 0 {
			t.Errorf("counts after expiry %v", c)
		}
		if j, _ := tx.Job("1/r"); j != nil {
			t.Error("job of an expired incident kept")
		}
		if !tx.LastRun("r/old").IsZero() || tx.LastRun("r/new").IsZero() {
			t.Error("cooldown records not expired by age")
		}
		return nil
	})
	s.Close()
	fi, _ := os.Stat(filepath.Join(dir, FileName))
	before, after, err := Compact(dir)
	if err != nil {
		t.Fatal(err)
	}
	if before != fi.Size() || after >= before/2 {
		t.Errorf("compaction %d -> %d bytes", before, after)
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_ = s.View(func(tx *Tx) error {
		incs, err := tx.Incidents(Filter{})
		if err != nil || len(incs) != 30 {
			t.Errorf("%d incidents after compaction, %v", len(incs), err)
		}
		return nil
	})
}

func TestCorruptRecordIsAnError(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_ = s.Update(func(tx *Tx) error { return tx.tx.Bucket(bIncidents).Put([]byte("x"), []byte("{not json")) })
	err = s.View(func(tx *Tx) error {
		_, err := tx.Incident("x")
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "corrupt record") {
		t.Errorf("got %v", err)
	}
}
