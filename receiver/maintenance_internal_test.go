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
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/store"
)

const maintenanceConfig = `
maintenance: {max_duration: 2h}
restarts:
  - name: member
    match: {alertname: ZooKeeperProcessMemberDown}
    command: ["/bin/echo", "{{ .Labels.member }}"]
    allow: {group: "^/monitor/[a-z]+$"}
`

func mustConfig(t *testing.T, y string) *config.Config {
	t.Helper()
	cfg, err := config.Load([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func eq(b bool) *bool { return &b }

// Every malformed window is refused with a reason that names the fault.
func TestNewWindowRefusesBadWindows(t *testing.T) {
	cfg := mustConfig(t, maintenanceConfig)
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	ok := store.Matcher{Name: "member", Value: "web-1"}
	for _, c := range []struct {
		name string
		req  WindowRequest
		want string
	}{
		{"no matchers", WindowRequest{EndsAt: now.Add(time.Hour)}, "at least one matcher"},
		{"bad label name", WindowRequest{Matchers: []store.Matcher{{Name: "a-b", Value: "x"}}, EndsAt: now.Add(time.Hour)}, "not a label name"},
		{"unvetted label", WindowRequest{Matchers: []store.Matcher{{Name: "instance", Value: "web-1"}}, EndsAt: now.Add(time.Hour)}, "not vetted"},
		{"bad regex", WindowRequest{Matchers: []store.Matcher{{Name: "member", Value: "(", IsRegex: true}}, EndsAt: now.Add(time.Hour)}, "missing closing"},
		{"matches everything", WindowRequest{Matchers: []store.Matcher{{Name: "member", Value: ".*", IsRegex: true}}, EndsAt: now.Add(time.Hour)}, "empty value"},
		{"negative only", WindowRequest{Matchers: []store.Matcher{{Name: "member", Value: "x", IsEqual: eq(false)}}, EndsAt: now.Add(time.Hour)}, "empty value"},
		{"no endsAt", WindowRequest{Matchers: []store.Matcher{ok}}, "endsAt is required"},
		{"endsAt past", WindowRequest{Matchers: []store.Matcher{ok}, EndsAt: now.Add(-time.Second)}, "in the past"},
		{"endsAt before startsAt", WindowRequest{Matchers: []store.Matcher{ok}, StartsAt: now.Add(time.Hour), EndsAt: now.Add(30 * time.Minute)}, "not after startsAt"},
		{"too long", WindowRequest{Matchers: []store.Matcher{ok}, EndsAt: now.Add(2*time.Hour + time.Second)}, "more than maintenance.max_duration (2 h)"},
		{"too long from a later start", WindowRequest{Matchers: []store.Matcher{ok}, StartsAt: now.Add(time.Hour), EndsAt: now.Add(3*time.Hour + time.Second)}, "max_duration"},
	} {
		req := c.req
		if req.CreatedBy == "" {
			req.CreatedBy, req.Comment = "alice", "kernel upgrade"
		}
		_, err := newWindow(&req, nil, cfg, now)
		var inv *InvalidWindowError
		if !errors.As(err, &inv) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an InvalidWindowError with %q", c.name, err, c.want)
		}
	}
	for _, who := range [][2]string{{"", "why"}, {"alice", " "}} {
		req := WindowRequest{Matchers: []store.Matcher{ok}, EndsAt: now.Add(time.Hour), CreatedBy: who[0], Comment: who[1]}
		if _, err := newWindow(&req, nil, cfg, now); err == nil {
			t.Errorf("createdBy %q, comment %q accepted", who[0], who[1])
		}
	}
}

// A window starts now when startsAt is left out; an extension keeps its id
// and first start and counts itself, and a window extended past
// max_duration (each version within it) is flagged.
func TestNewWindowExtension(t *testing.T) {
	cfg := mustConfig(t, maintenanceConfig)
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	req := WindowRequest{Matchers: []store.Matcher{{Name: "member", Value: "web-1"}}, EndsAt: now.Add(2 * time.Hour), CreatedBy: "alice", Comment: "disk"}
	w, err := newWindow(&req, nil, cfg, now)
	if err != nil {
		t.Fatal(err)
	}
	if !w.StartsAt.Equal(now) || !w.FirstStartsAt.Equal(now) || !windowID.MatchString(w.ID) || PastMax(w, cfg.Maintenance.MaxDuration) {
		t.Fatalf("new window %+v", w)
	}
	later := now.Add(90 * time.Minute)
	req.ID, req.EndsAt = w.ID, later.Add(2*time.Hour)
	ext, err := newWindow(&req, w, cfg, later)
	if err != nil {
		t.Fatal(err)
	}
	if ext.ID != w.ID || !ext.StartsAt.Equal(now) || !ext.FirstStartsAt.Equal(now) || ext.Extensions != 1 {
		t.Errorf("extension %+v", ext)
	}
	if !PastMax(ext, cfg.Maintenance.MaxDuration) {
		t.Error("a window spanning 3h30m with max_duration 2h is not flagged")
	}
	// An expired window is not revived: the request makes a new one.
	expired := *w
	expired.EndsAt = now.Add(time.Minute)
	fresh, err := newWindow(&req, &expired, cfg, later)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.ID == w.ID || fresh.Extensions != 0 || !fresh.FirstStartsAt.Equal(later) {
		t.Errorf("request on an expired window gave %+v", fresh)
	}
}

// Windows match on the labels the rule vets only: a matcher on a label the
// rule does not vet never matches, even when the alert carries it.
func TestMatchWindowOnVettedLabels(t *testing.T) {
	cfg := mustConfig(t, maintenanceConfig+`
  - name: other
    match: {alertname: Other}
    command: ["/bin/true"]
    allow: {instance: "^[a-z0-9-]+$"}
`)
	member := cfg.RestartRule("member")
	labels := map[string]string{"alertname": "ZooKeeperProcessMemberDown", "member": "web-1", "group": "/monitor/web", "instance": "web-1"}
	vetted, err := member.VettedData(labels)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ms   []store.Matcher
		want bool
	}{
		{[]store.Matcher{{Name: "member", Value: "web-1"}}, true},
		{[]store.Matcher{{Name: "member", Value: "web-2"}}, false},
		{[]store.Matcher{{Name: "member", Value: "web-.*", IsRegex: true}}, true},
		{[]store.Matcher{{Name: "member", Value: "web", IsRegex: true}}, false}, // anchored
		{[]store.Matcher{{Name: "member", Value: "web-1"}, {Name: "group", Value: "/monitor/db"}}, false},
		{[]store.Matcher{{Name: "member", Value: "web-1"}, {Name: "group", Value: "/monitor/db", IsEqual: eq(false)}}, true},
		// instance is vetted by another rule, not by member: it does not count here.
		{[]store.Matcher{{Name: "instance", Value: "web-1"}}, false},
	} {
		if got := matchWindow(&store.Window{Matchers: c.ms}, vetted.Labels, cfg); got != c.want {
			t.Errorf("%s: %v, want %v", MatchersString(c.ms), got, c.want)
		}
	}
}

func TestMatchersString(t *testing.T) {
	got := MatchersString([]store.Matcher{{Name: "a", Value: "b"}, {Name: "c", Value: "d.*", IsRegex: true},
		{Name: "e", Value: "f", IsEqual: eq(false)}, {Name: "g", Value: "h", IsRegex: true, IsEqual: eq(false)}})
	if want := `{a="b", c=~"d.*", e!="f", g!~"h"}`; got != want {
		t.Errorf("%s, want %s", got, want)
	}
}

// The metrics count active and pending windows, and windows extended past
// max_duration; expired windows count in neither.
func TestMaintenanceMetrics(t *testing.T) {
	cfg := mustConfig(t, maintenanceConfig)
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	reg := prometheus.NewRegistry()
	m := newMaintenance(st, func() *config.Config { return cfg }, func() {}, reg, log.NewNopLogger(), func() time.Time { return now })
	expect := func(active, pending, past int) {
		t.Helper()
		want := strings.NewReader(strings.NewReplacer("{A}", strconv.Itoa(active), "{P}", strconv.Itoa(pending), "{X}", strconv.Itoa(past)).Replace(`
# HELP zkwatch_receiver_maintenance_windows Maintenance windows by state: active (restarts of matching alerts are postponed) or pending (not started yet).
# TYPE zkwatch_receiver_maintenance_windows gauge
zkwatch_receiver_maintenance_windows{state="active"} {A}
zkwatch_receiver_maintenance_windows{state="pending"} {P}
# HELP zkwatch_receiver_maintenance_windows_past_max_duration Active or pending maintenance windows extended past maintenance.max_duration, counted from their first start.
# TYPE zkwatch_receiver_maintenance_windows_past_max_duration gauge
zkwatch_receiver_maintenance_windows_past_max_duration {X}
`))
		if err := testutil.GatherAndCompare(reg, want); err != nil {
			t.Error(err)
		}
	}
	expect(0, 0, 0)
	member := []store.Matcher{{Name: "member", Value: "web-1"}}
	w, err := m.Put(&WindowRequest{Matchers: member, EndsAt: now.Add(2 * time.Hour), CreatedBy: "alice", Comment: "disk"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Put(&WindowRequest{Matchers: member, StartsAt: now.Add(time.Hour), EndsAt: now.Add(90 * time.Minute), CreatedBy: "bob", Comment: "later"}); err != nil {
		t.Fatal(err)
	}
	expect(1, 1, 0)
	now = now.Add(100 * time.Minute) // the second window has expired
	if _, err := m.Put(&WindowRequest{ID: w.ID, Matchers: member, EndsAt: now.Add(2 * time.Hour), CreatedBy: "alice", Comment: "still the disk"}); err != nil {
		t.Fatal(err)
	}
	expect(1, 0, 1)
	now = now.Add(3 * time.Hour)
	expect(0, 0, 0)
}
