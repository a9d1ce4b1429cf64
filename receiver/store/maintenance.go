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
	"encoding/json"
	"fmt"
	"time"
)

var bMaintenance = []byte("maintenance") // window id -> Window

// Matcher is one matcher of a maintenance window, spelled as in an
// Alertmanager silence.
type Matcher struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"isRegex"`
	// IsEqual false negates the matcher (!= or !~); absent means true.
	IsEqual *bool `json:"isEqual,omitempty"`
}

// Equal reports whether the matcher is = or =~ rather than != or !~.
func (m Matcher) Equal() bool { return m.IsEqual == nil || *m.IsEqual }

// Window is a maintenance window: restarts of alerts it matches wait
// until it ends.
type Window struct {
	ID        string    `json:"id"`
	Matchers  []Matcher `json:"matchers"`
	StartsAt  time.Time `json:"startsAt"`
	EndsAt    time.Time `json:"endsAt"`
	CreatedBy string    `json:"createdBy"`
	Comment   string    `json:"comment"`
	// FirstStartsAt is the start of the window's first version: an
	// extension keeps it, so that the whole span shows.
	FirstStartsAt time.Time `json:"firstStartsAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
	// Extensions counts the updates that moved EndsAt later.
	Extensions int `json:"extensions"`
}

// State is "pending" before StartsAt, "active" until EndsAt, then
// "expired".
func (w *Window) State(now time.Time) string {
	switch {
	case now.Before(w.StartsAt):
		return "pending"
	case now.Before(w.EndsAt):
		return "active"
	}
	return "expired"
}

// PutWindow stores a maintenance window.
func (t *Tx) PutWindow(w *Window) error { return put(t.tx.Bucket(bMaintenance), []byte(w.ID), w) }

// Window returns the window id, or nil.
func (t *Tx) Window(id string) (*Window, error) {
	return get[Window](t.tx.Bucket(bMaintenance), []byte(id))
}

// DeleteWindow removes a window.
func (t *Tx) DeleteWindow(id string) error { return t.tx.Bucket(bMaintenance).Delete([]byte(id)) }

// Windows returns every stored window, ordered by id.
func (t *Tx) Windows() ([]*Window, error) {
	var out []*Window
	err := t.tx.Bucket(bMaintenance).ForEach(func(k, v []byte) error {
		var w Window
		if err := json.Unmarshal(v, &w); err != nil {
			return fmt.Errorf("corrupt maintenance window %q: %w", k, err)
		}
		out = append(out, &w)
		return nil
	})
	return out, err
}
