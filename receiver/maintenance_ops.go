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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/ha"
	"github.com/zkwatch/zkwatch/receiver/store"
	tmpl "github.com/zkwatch/zkwatch/receiver/template"
)

// Maintenance returns the receiver's maintenance windows.
func (r *Receiver) Maintenance() *Maintenance { return r.maintenance }

// Replicated tells whether windows are shared through ZooKeeper.
func (m *Maintenance) Replicated() bool { return m.shared != nil }

// List returns every window, the latest end first.
func (m *Maintenance) List() ([]*store.Window, error) {
	var ws []*store.Window
	err := m.store.View(func(tx *store.Tx) (err error) { ws, err = tx.Windows(); return })
	sort.SliceStable(ws, func(i, j int) bool { return ws[i].EndsAt.After(ws[j].EndsAt) })
	return ws, err
}

// Put creates a window, or updates the one req.ID names (ErrNoWindow when
// none). With replicas it is written to ZooKeeper first: a window the
// other replicas would not see is refused (an error wrapping
// ha.ErrUnavailable).
func (m *Maintenance) Put(req *WindowRequest) (*store.Window, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var old *store.Window
	if req.ID != "" {
		if err := m.store.View(func(tx *store.Tx) (err error) { old, err = tx.Window(req.ID); return }); err != nil {
			return nil, err
		}
		if old == nil {
			return nil, ErrNoWindow
		}
	}
	w, err := newWindow(req, old, m.config(), m.now())
	if err != nil {
		return nil, err
	}
	if m.shared != nil {
		data, _ := json.Marshal(w)
		if err := m.shared.PutWindow(w.ID, data); err != nil {
			return nil, fmt.Errorf("sharing the window with the other replicas: %w", err)
		}
	}
	if err := m.apply(map[string]*store.Window{w.ID: w}, nil); err != nil {
		return nil, err
	}
	level.Info(m.logger).Log("msg", "maintenance window set", "id", w.ID, "matchers", MatchersString(w.Matchers),
		"starts_at", w.StartsAt, "ends_at", w.EndsAt, "created_by", w.CreatedBy, "extensions", w.Extensions)
	return w, nil
}

// Delete ends the window id at once (ErrNoWindow when there is none).
func (m *Maintenance) Delete(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var w *store.Window
	if err := m.store.View(func(tx *store.Tx) (err error) { w, err = tx.Window(id); return }); err != nil {
		return err
	}
	if w == nil {
		return ErrNoWindow
	}
	if m.shared != nil {
		if err := m.shared.DeleteWindow(id); err != nil {
			return fmt.Errorf("deleting the window for the other replicas: %w", err)
		}
	}
	level.Info(m.logger).Log("msg", "maintenance window deleted", "id", id)
	return m.apply(nil, []string{id})
}

// apply stores put and deletes del in one commit; restarts postponed for
// maintenance then look at the windows again at once.
func (m *Maintenance) apply(put map[string]*store.Window, del []string) error {
	if len(put)+len(del) == 0 {
		return nil
	}
	now := m.now()
	err := m.store.Update(func(tx *store.Tx) error {
		for _, w := range put {
			if err := tx.PutWindow(w); err != nil {
				return err
			}
		}
		for _, id := range del {
			if err := tx.DeleteWindow(id); err != nil {
				return err
			}
		}
		jobs, err := tx.Jobs()
		if err != nil {
			return err
		}
		for _, j := range jobs {
			if strings.HasPrefix(j.Postponed, maintenanceReason) && j.NextAt.After(now) {
				j.NextAt = now
				if err := tx.PutJob(j); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil {
		m.wake()
	}
	return err
}

// Matching returns the active window matching the labels rule vets, the
// one ending last, or nil.
func (m *Maintenance) Matching(rule *config.Restart, labels map[string]string, now time.Time) *store.Window {
	d, err := rule.VettedData(labels)
	if err != nil {
		return nil // refused before any window counts
	}
	ws, err := m.List()
	if err != nil {
		level.Error(m.logger).Log("msg", "reading maintenance windows", "err", err)
		return nil
	}
	cfg := m.config()
	for _, w := range ws { // latest end first
		if w.State(now) == "active" && matchWindow(w, d.Labels, cfg) {
			return w
		}
	}
	return nil
}

// Run copies the shared windows (with replicas) and deletes windows that
// ended longer than the storage retention ago, until ctx ends.
func (m *Maintenance) Run(ctx context.Context) {
	t := time.NewTicker(maintenanceSync)
	defer t.Stop()
	logged := "" // the sync error last logged, so that a lasting one logs once
	for {
		err := m.sync()
		switch {
		case err != nil && !errors.Is(err, ha.ErrUnavailable) && err.Error() != logged:
			level.Warn(m.logger).Log("msg", "reading the shared maintenance windows; the stored ones stay in force", "err", err)
			logged = err.Error()
		case err == nil && logged != "":
			level.Info(m.logger).Log("msg", "reading the shared maintenance windows again")
			logged = ""
		}
		m.expire()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sync makes the store's windows those in ZooKeeper. Without ZooKeeper
// the stored ones stay in force.
func (m *Maintenance) sync() error {
	if m.shared == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	remote, err := m.shared.Windows()
	if err != nil {
		return err
	}
	local, err := m.List()
	if err != nil {
		return err
	}
	put, del := map[string]*store.Window{}, []string(nil)
	have := map[string][]byte{}
	for _, w := range local {
		have[w.ID], _ = json.Marshal(w)
		if _, ok := remote[w.ID]; !ok {
			del = append(del, w.ID)
		}
	}
	for id, data := range remote {
		var w store.Window
		if err := json.Unmarshal(data, &w); err != nil || w.ID != id || !windowID.MatchString(id) {
			level.Warn(m.logger).Log("msg", "ignoring a malformed shared maintenance window", "id", id, "err", err)
			continue
		}
		if b, _ := json.Marshal(&w); !bytes.Equal(b, have[id]) {
			put[id] = &w
		}
	}
	return m.apply(put, del)
}

// expire deletes windows that ended more than the retention ago; until
// then they are listed as expired.
func (m *Maintenance) expire() {
	ws, err := m.List()
	if err != nil {
		return
	}
	cutoff := m.now().Add(-m.config().Storage.Retention)
	for _, w := range ws {
		if w.EndsAt.Before(cutoff) {
			if err := m.Delete(w.ID); err != nil && !errors.Is(err, ErrNoWindow) {
				level.Debug(m.logger).Log("msg", "deleting an old maintenance window", "id", w.ID, "err", err)
			}
		}
	}
}

// MatchersString spells matchers as Alertmanager does: {a="b", c=~"d"}.
func MatchersString(ms []store.Matcher) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		op := "="
		if !m.Equal() {
			op = "!"
		}
		if m.IsRegex {
			op += "~"
		} else if !m.Equal() {
			op += "="
		}
		parts[i] = fmt.Sprintf("%s%s%q", m.Name, op, m.Value)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// inMaintenance postpones j until the end of the window matching it, if
// any, recording and reporting the postponement once per window version.
func (s *Scheduler) inMaintenance(j *store.RestartJob, inc *store.Incident, rule *config.Restart) bool {
	if s.windows == nil {
		return false
	}
	now := s.now()
	w := s.windows.Matching(rule, inc.Alert.Labels, now)
	if w == nil {
		return false
	}
	until := w.EndsAt.In(s.config().Global.Location()).Format(tmpl.TimeFormat)
	reason := fmt.Sprintf("%s until %s: window %s by %s (%s)", maintenanceReason, until, w.ID, w.CreatedBy, w.Comment)
	report := fmt.Sprintf("Restart %s postponed: %s until %s, window %s by %s: %s.", rule.Name, maintenanceReason, until,
		w.ID, w.CreatedBy, w.Comment)
	s.postponeReport(j, rule.Name, reason, report, w.EndsAt.Sub(now))
	return true
}

// maintenanceCollector counts the windows at scrape time.
type maintenanceCollector struct{ m *Maintenance }

var (
	windowsDesc = prometheus.NewDesc(namespace+"_maintenance_windows",
		"Maintenance windows by state: active (restarts of matching alerts are postponed) or pending (not started yet).", []string{"state"}, nil)
	pastMaxDesc = prometheus.NewDesc(namespace+"_maintenance_windows_past_max_duration",
		"Active or pending maintenance windows extended past maintenance.max_duration, counted from their first start.", nil, nil)
)

func (c *maintenanceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- windowsDesc
	ch <- pastMaxDesc
}

func (c *maintenanceCollector) Collect(ch chan<- prometheus.Metric) {
	ws, err := c.m.List()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(windowsDesc, err)
		return
	}
	now, max := c.m.now(), c.m.config().Maintenance.MaxDuration
	n := map[string]int{"active": 0, "pending": 0}
	past := 0
	for _, w := range ws {
		st := w.State(now)
		if st == "expired" {
			continue
		}
		n[st]++
		if PastMax(w, max) {
			past++
		}
	}
	for st, v := range n {
		ch <- prometheus.MustNewConstMetric(windowsDesc, prometheus.GaugeValue, float64(v), st)
	}
	ch <- prometheus.MustNewConstMetric(pastMaxDesc, prometheus.GaugeValue, float64(past))
}
