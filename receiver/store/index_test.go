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
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/receiver/payload"
)

// Listing walks the time index: it reads only the incidents it returns,
// so a limit of 1 never touches an old record (here a corrupt one, which
// the full scan used to fail on), and it keeps up with status changes,
// updates and expiry.
func TestIncidentsByTimeIndex(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	const n = 20000
	err = s.Update(func(tx *Tx) error {
		for i := range n {
			inc := incident(fmt.Sprintf("i%05d", i), base.Add(time.Duration(i)*time.Second))
			if i%2 == 0 {
				inc.Status = payload.StatusResolved
			}
			if err := tx.PutIncident(inc); err != nil {
				return err
			}
		}
		// An old record nobody should read for a short listing.
		return tx.tx.Bucket(bIncidents).Put([]byte("i00000"), []byte("{corrupt"))
	})
	if err != nil {
		t.Fatal(err)
	}
	list := func(f Filter) []*Incident {
		t.Helper()
		var out []*Incident
		start := time.Now()
		if err := s.View(func(tx *Tx) (err error) { out, err = tx.Incidents(f); return }); err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		t.Logf("%+v: %d incidents in %s", f, len(out), time.Since(start))
		return out
	}
	if got := list(Filter{Limit: 1}); len(got) != 1 || got[0].ID != fmt.Sprintf("i%05d", n-1) {
		t.Errorf("newest: %v", got)
	}
	if got := list(Filter{Status: payload.StatusFiring, Limit: 3}); len(got) != 3 || got[0].ID != "i19999" || got[2].ID != "i19995" {
		t.Errorf("firing: %v", ids(got))
	}
	if got := list(Filter{Since: base.Add((n - 10) * time.Second)}); len(got) != 10 {
		t.Errorf("since: %d", len(got))
	}
	// Updating moves an incident to the front; resolving takes it out of
	// the firing index.
	err = s.Update(func(tx *Tx) error {
		inc, err := tx.Incident("i00001")
		if err != nil {
			return err
		}
		inc.LastSeen = base.Add(n * time.Second)
		inc.Status = payload.StatusResolved
		return tx.PutIncident(inc)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := list(Filter{Limit: 1}); got[0].ID != "i00001" {
		t.Errorf("after update: %v", ids(got))
	}
	if got := list(Filter{Status: payload.StatusFiring, Limit: 1}); got[0].ID != "i19999" {
		t.Errorf("firing after resolving i00001: %v", ids(got))
	}
}

func ids(incs []*Incident) []string {
	var out []string
	for _, i := range incs {
		out = append(out, i.ID)
	}
	return out
}

// A store written before the time index existed gets it at Open.
func TestTimeIndexBuiltForOldStore(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	err = s.Update(func(tx *Tx) error {
		for i := range 5 {
			if err := tx.PutIncident(incident(fmt.Sprint("i", i), base.Add(time.Duration(i)*time.Minute))); err != nil {
				return err
			}
		}
		for _, b := range [][]byte{bByTime, bFiringByTime} {
			if err := tx.tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got []*Incident
	if err := s.View(func(tx *Tx) (err error) {
		got, err = tx.Incidents(Filter{Status: payload.StatusFiring, Limit: 2})
		return
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "i4" || got[1].ID != "i3" {
		t.Errorf("after rebuilding the index: %v", ids(got))
	}
}
