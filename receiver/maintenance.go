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
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/ha"
	"github.com/zkwatch/zkwatch/receiver/store"
	tmpl "github.com/zkwatch/zkwatch/receiver/template"
)

// WindowRequest is the body of POST /api/v1/maintenance, shaped like an
// Alertmanager silence. An ID updates (or extends) that window.
type WindowRequest struct {
	ID        string          `json:"id,omitempty"`
	Matchers  []store.Matcher `json:"matchers"`
	StartsAt  time.Time       `json:"startsAt"` // zero: now (or, on an update, unchanged)
	EndsAt    time.Time       `json:"endsAt"`
	CreatedBy string          `json:"createdBy"`
	Comment   string          `json:"comment"`
}

// InvalidWindowError is a window request refused for its content.
type InvalidWindowError struct{ msg string }

func (e *InvalidWindowError) Error() string { return e.msg }

func invalid(format string, a ...any) error { return &InvalidWindowError{fmt.Sprintf(format, a...)} }

// ErrNoWindow: no window has the id given.
var ErrNoWindow = errors.New("no such maintenance window")

// maintenanceReason starts the postponement reason of a restart waiting
// for a window; a change of windows makes such jobs look again at once.
const maintenanceReason = "in maintenance"

// maintenanceSync is how often replicas read the shared windows.
const maintenanceSync = time.Second

// Limits on one window, beyond the configured max_duration.
const (
	maxMatchers  = 32
	maxTextBytes = 1024
)

var (
	labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	windowID  = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// Maintenance keeps the maintenance windows in the store and, with
// replicas, in ZooKeeper, where they are the shared truth: each replica
// copies them into its store every maintenanceSync.
type Maintenance struct {
	store  *store.Store
	config func() *config.Config
	now    func() time.Time
	logger log.Logger
	wake   func() // the scheduler, when windows change
	shared ha.Windows
	mu     sync.Mutex // one change at a time, so that a sync cannot undo a write
}

func newMaintenance(st *store.Store, cfg func() *config.Config, wakeScheduler func(), reg prometheus.Registerer,
	logger log.Logger, now func() time.Time) *Maintenance {
	m := &Maintenance{store: st, config: cfg, now: now, logger: log.With(logger, "component", "maintenance"), wake: wakeScheduler}
	if reg != nil {
		reg.MustRegister(&maintenanceCollector{m: m})
	}
	return m
}

// compiledMatcher is a Matcher ready to test a value.
type compiledMatcher struct {
	name  string
	re    *regexp.Regexp // nil: equality with value
	value string
	equal bool
}

func (c compiledMatcher) matches(v string) bool {
	ok := v == c.value
	if c.re != nil {
		ok = c.re.MatchString(v)
	}
	return ok == c.equal
}

// compileMatchers checks matchers against cfg and compiles them. Each must
// name a label some restart rule vets: a window must not hang on a label
// that nothing checked, and an unvetted label never reaches the match.
func compileMatchers(ms []store.Matcher, cfg *config.Config) ([]compiledMatcher, error) {
	if len(ms) == 0 {
		return nil, invalid("at least one matcher is required")
	}
	if len(ms) > maxMatchers {
		return nil, invalid("%d matchers, more than %d", len(ms), maxMatchers)
	}
	out := make([]compiledMatcher, len(ms))
	nonEmpty := false
	for i, m := range ms {
		if !labelName.MatchString(m.Name) {
			return nil, invalid("matchers[%d]: %q is not a label name", i, m.Name)
		}
		if !cfg.Vetted(m.Name) {
			return nil, invalid("matchers[%d]: label %q is not vetted by any restart rule; windows match on vetted labels only "+
				"(a rule's allow, or the labels its command uses)", i, m.Name)
		}
		c := compiledMatcher{name: m.Name, value: m.Value, equal: m.Equal()}
		if m.IsRegex {
			re, err := regexp.Compile("^(?:" + m.Value + ")$")
			if err != nil {
				return nil, invalid("matchers[%d]: %v", i, err)
			}
			c.re = re
		}
		nonEmpty = nonEmpty || !c.matches("")
		out[i] = c
	}
	if !nonEmpty {
		return nil, invalid("at least one matcher must not match the empty value, or the window would match every alert")
	}
	return out, nil
}

// newWindow validates req (old is the window it updates, if any) and
// returns the window to store, without side effects.
func newWindow(req *WindowRequest, old *store.Window, cfg *config.Config, now time.Time) (*store.Window, error) {
	if _, err := compileMatchers(req.Matchers, cfg); err != nil {
		return nil, err
	}
	switch {
	case strings.TrimSpace(req.CreatedBy) == "":
		return nil, invalid("createdBy is required")
	case strings.TrimSpace(req.Comment) == "":
		return nil, invalid("comment is required: say why")
	case len(req.CreatedBy) > maxTextBytes || len(req.Comment) > maxTextBytes:
		return nil, invalid("createdBy and comment are limited to %d bytes", maxTextBytes)
	}
	if old != nil && old.State(now) == "expired" {
		old = nil // as Alertmanager: an expired window is not revived, a new one is made
	}
	w := &store.Window{Matchers: req.Matchers, StartsAt: req.StartsAt, EndsAt: req.EndsAt, CreatedBy: req.CreatedBy,
		Comment: req.Comment, UpdatedAt: now}
	if w.StartsAt.IsZero() {
		w.StartsAt = now
		if old != nil {
			w.StartsAt = old.StartsAt
		}
	}
	switch {
	case req.EndsAt.IsZero():
		return nil, invalid("endsAt is required")
	case !w.EndsAt.After(now):
		return nil, invalid("endsAt %s is in the past", w.EndsAt.UTC().Format(time.RFC3339))
	case !w.EndsAt.After(w.StartsAt):
		return nil, invalid("endsAt %s is not after startsAt %s", w.EndsAt.UTC().Format(time.RFC3339), w.StartsAt.UTC().Format(time.RFC3339))
	}
	from := w.StartsAt
	if from.Before(now) {
		from = now
	}
	if d := w.EndsAt.Sub(from); d > cfg.Maintenance.MaxDuration {
		return nil, invalid("the window lasts %s from when it takes effect, more than maintenance.max_duration (%s)",
			tmpl.Duration(d), tmpl.Duration(cfg.Maintenance.MaxDuration))
	}
	if old == nil {
		w.ID, w.FirstStartsAt = newWindowID(), w.StartsAt
		return w, nil
	}
	w.ID, w.FirstStartsAt, w.Extensions = old.ID, old.FirstStartsAt, old.Extensions
	if w.StartsAt.Before(w.FirstStartsAt) {
		w.FirstStartsAt = w.StartsAt
	}
	if w.EndsAt.After(old.EndsAt) {
		w.Extensions++
	}
	return w, nil
}

func newWindowID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// PastMax reports whether w, counted from its first start, lasts longer
// than max: it was extended past the maximum a single window may have.
func PastMax(w *store.Window, max time.Duration) bool { return w.EndsAt.Sub(w.FirstStartsAt) > max }

// matchWindow reports whether w matches the vetted label values.
func matchWindow(w *store.Window, vetted map[string]string, cfg *config.Config) bool {
	ms, err := compileMatchers(w.Matchers, cfg)
	if err != nil {
		return false // a label no longer vetted after a reload
	}
	for _, m := range ms {
		if !m.matches(vetted[m.name]) {
			return false
		}
	}
	return true
}

// noteFor returns what a firing notification says of the active window
// among ws that matches the alert's labels (the one ending last), or nil.
// The labels are matched as they are, as an Alertmanager silence matches
// them; the matchers name vetted labels only.
func noteFor(ws []*store.Window, labels map[string]string, cfg *config.Config, now time.Time) *store.WindowNote {
	var best *store.Window
	for _, w := range ws {
		if w.State(now) == "active" && (best == nil || w.EndsAt.After(best.EndsAt)) && matchWindow(w, labels, cfg) {
			best = w
		}
	}
	if best == nil {
		return nil
	}
	return &store.WindowNote{ID: best.ID, EndsAt: best.EndsAt, CreatedBy: best.CreatedBy, Comment: best.Comment}
}
