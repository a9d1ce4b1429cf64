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
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/store"
)

// The watchdog pages once when the alert goes missing and once when it is
// back, whatever the number of checks in between, and a restart of the
// receiver neither repeats nor forgets the outage.
func TestWatchdogStep(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	const window = 5 * time.Minute
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	missing := store.WatchdogState{LastSeen: at(0), Missing: true, Episode: at(0).UnixMilli()}
	for _, tc := range []struct {
		name     string
		st       store.WatchdogState
		lastSeen time.Time
		started  time.Time
		now      time.Time
		want     store.WatchdogState
		kind     string
	}{
		{"arrival", store.WatchdogState{}, at(0), at(-time.Hour), at(0), store.WatchdogState{LastSeen: at(0)}, ""},
		{"within the window", store.WatchdogState{LastSeen: at(0)}, at(0), at(-time.Hour), at(window - time.Millisecond),
			store.WatchdogState{LastSeen: at(0)}, ""},
		{"missing", store.WatchdogState{LastSeen: at(0)}, at(0), at(-time.Hour), at(window), missing, store.KindWatchdogMissing},
		{"still missing: no second page", missing, at(0), at(-time.Hour), at(time.Hour), missing, ""},
		{"back", missing, at(time.Hour), at(-time.Hour), at(time.Hour),
			store.WatchdogState{LastSeen: at(time.Hour), Episode: at(0).UnixMilli()}, store.KindWatchdogBack},
		{"never arrived: counted from the start", store.WatchdogState{}, time.Time{}, at(0), at(window),
			store.WatchdogState{Missing: true}, store.KindWatchdogMissing},
		{"never arrived, within the window", store.WatchdogState{}, time.Time{}, at(0), at(window - time.Second), store.WatchdogState{}, ""},
		{"first arrival after never", store.WatchdogState{Missing: true}, at(time.Hour), at(0), at(time.Hour),
			store.WatchdogState{LastSeen: at(time.Hour)}, store.KindWatchdogBack},
		{"restarted long after the last arrival: counted from the start", store.WatchdogState{LastSeen: at(0)}, time.Time{},
			at(time.Hour), at(time.Hour + window - time.Second), store.WatchdogState{LastSeen: at(0)}, ""},
		{"restarted while missing: no second page", missing, time.Time{}, at(time.Hour), at(2 * time.Hour), missing, ""},
	} {
		got, kind := watchdogStep(tc.st, tc.lastSeen, tc.started, tc.now, window)
		if got != tc.want || kind != tc.kind {
			t.Errorf("%s: got %+v %q, want %+v %q", tc.name, got, kind, tc.want, tc.kind)
		}
	}
}

// Each watchdog notifier gets one message naming the outage, without an
// incident page to link to.
func TestWatchdogItems(t *testing.T) {
	cfg := &config.Watchdog{AlertName: "Watchdog", MissingAfter: 90 * time.Second, Notifiers: []string{"ding", "sms"}}
	last := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	st := store.WatchdogState{LastSeen: last, Missing: true, Episode: last.UnixMilli()}
	items := watchdogItems(cfg, store.KindWatchdogMissing, st, last.Add(2*time.Minute))
	if len(items) != 2 || items[0].Notifier != "ding" || items[1].Notifier != "sms" {
		t.Fatalf("items %+v", items)
	}
	it := items[0]
	if it.IncidentID != "watchdog-"+strconv.FormatInt(last.UnixMilli(), 10) || it.Alert.Status != "firing" || it.Alert.Labels["alertname"] != "Watchdog" {
		t.Errorf("item %+v", it)
	}
	if !strings.Contains(it.Text, "has not arrived for 1 min 30 s (last at 2026-12-01 09:00:00 +00:00 UTC)") {
		t.Errorf("text %q", it.Text)
	}
	d := messageData(it, "http://receiver", time.UTC)
	if d.IncidentURL != "" || !strings.Contains(d.DefaultText(), "[FIRING] Watchdog") {
		t.Errorf("incident link %q, text %q", d.IncidentURL, d.DefaultText())
	}
	back := watchdogItems(cfg, store.KindWatchdogBack, store.WatchdogState{LastSeen: last.Add(time.Hour), Episode: st.Episode}, last.Add(time.Hour))
	if back[0].IncidentID != it.IncidentID || back[0].Alert.Status != "resolved" || !strings.Contains(back[0].Text, "arrives again") {
		t.Errorf("back %+v", back[0])
	}
}
