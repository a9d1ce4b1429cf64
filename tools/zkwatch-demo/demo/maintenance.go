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

package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// MaintenanceWindow is how long the scenario's maintenance window lasts:
// long enough for the alert to fire and its restart to be postponed on a
// busy machine (4-5 s in the kill step), short enough to watch it end.
const MaintenanceWindow = 25 * time.Second

// MaintenanceStep is the timeline of a crash of the demo process inside a
// maintenance window of the receivers.
type MaintenanceStep struct {
	WindowID  string
	Opened    time.Time // the window was posted and both replicas hold it
	WindowEnd time.Time // its endsAt
	Killed    time.Time
	Firing    time.Time
	Notified  time.Time
	// Notification is the title of the firing notification, Note its
	// "In maintenance until ..." line.
	Notification, Note string
	Postponed          time.Time // a replica recorded the restart as postponed
	PostponedReason    string
	// RestartsWhileOpen counts restarts of the demo process that ran before
	// the window's end (there must be none); Restarted is when the first
	// one after it ran, as restart-app recorded it.
	RestartsWhileOpen int
	Restarted         time.Time
	Back              time.Time
	Resolved          time.Time
}

// MaintenanceStep opens a maintenance window on the demo process, crashes
// it, and follows the alert, the notification (which must say "in
// maintenance"), the postponed restart, the window's end by itself, the
// restart, the member's return and the resolution.
func (s *Stack) MaintenanceStep(ctx context.Context) (*MaintenanceStep, error) {
	st := &MaintenanceStep{}
	labels := map[string]string{"group": Group, "member": Member}
	restartsBefore := len(Restarts(s.opts.Dir))
	if err := s.openWindow(ctx, st); err != nil {
		return st, err
	}
	st.Killed = time.Now()
	if err := KillApp(s.opts.Dir); err != nil {
		return st, fmt.Errorf("kill demo process: %w", err)
	}
	var n Notification
	var err error
	if st.Firing, st.Notified, n, err = s.waitAlerted(ctx, "ZooKeeperProcessMemberDown", labels, st.Killed); err != nil {
		return st, err
	}
	st.Notification, st.Note = n.Title, maintenanceLine(n.Text)
	if st.Note == "" {
		return st, fmt.Errorf("the firing notification does not say it is in maintenance: %q", n.Title)
	}
	if err := s.waitPostponed(ctx, st); err != nil {
		return st, err
	}
	if err := s.waitRestartAfterWindow(st, restartsBefore); err != nil {
		return st, err
	}
	if st.Back, err = s.waitQuery(ctx, fmt.Sprintf(`zookeeper_group_member_up{group=%q,member=%q} == 1`, Group, Member)); err != nil {
		return st, fmt.Errorf("member back: %w", err)
	}
	if st.Resolved, err = s.Sink.WaitNotification(st.Killed, stageTimeout, notificationOf("ZooKeeperProcessMemberDown", "resolved", labels)); err != nil {
		return st, fmt.Errorf("resolved notification: %w", err)
	}
	return st, nil
}

// maintenanceLine is the "In maintenance until ..." line of a
// notification's text, or "".
func maintenanceLine(text string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "In maintenance until ") {
			return l
		}
	}
	return ""
}

// openWindow posts a window on the demo process to the first replica and
// waits until both replicas hold it as active (they share it through
// ZooKeeper).
func (s *Stack) openWindow(ctx context.Context, st *MaintenanceStep) error {
	body, _ := json.Marshal(map[string]any{
		"matchers": []map[string]any{
			{"name": "group", "value": Group, "isRegex": false},
			{"name": "member", "value": Member, "isRegex": false},
		},
		"endsAt":    time.Now().Add(MaintenanceWindow).UTC().Format(time.RFC3339Nano),
		"createdBy": "zkwatch-demo", "comment": "the demo's maintenance of its process",
	})
	var win struct {
		ID     string    `json:"id"`
		EndsAt time.Time `json:"endsAt"`
	}
	// 503: the replica's ZooKeeper session is not live (it reconnects
	// after the roll), so the window could not be shared yet.
	err := zktest.WaitFor(stageTimeout, 200*time.Millisecond, func() error {
		code, err := postJSON(ctx, s.Receiver+"/api/v1/maintenance", body, &win)
		if err != nil && code != http.StatusServiceUnavailable {
			return zktest.Permanent(err)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("open the maintenance window: %w", err)
	}
	st.WindowID, st.WindowEnd = win.ID, win.EndsAt
	err = zktest.WaitFor(stageTimeout, 50*time.Millisecond, func() error {
		for _, u := range []string{s.Receiver, s.Receiver2} {
			var list struct {
				Windows []struct {
					ID     string                 `json:"id"`
					Status struct{ State string } `json:"status"`
				} `json:"windows"`
			}
			if err := s.getJSON(ctx, u+"/api/v1/maintenance", &list); err != nil {
				return err
			}
			active := false
			for _, w := range list.Windows {
				active = active || (w.ID == win.ID && w.Status.State == "active")
			}
			if !active {
				return fmt.Errorf("%s does not hold window %s as active yet", u, win.ID)
			}
		}
		return nil
	})
	st.Opened = time.Now()
	return err
}

// waitPostponed waits until a replica records the restart of the demo
// process as postponed for maintenance.
func (s *Stack) waitPostponed(ctx context.Context, st *MaintenanceStep) error {
	return zktest.WaitFor(stageTimeout, 50*time.Millisecond, func() error {
		if time.Now().After(st.WindowEnd) {
			return zktest.Permanent(fmt.Errorf("the window ended before a replica recorded the restart as postponed (a machine too busy for a %s window?)", MaintenanceWindow))
		}
		for _, u := range []string{s.Receiver, s.Receiver2} {
			var list struct {
				Incidents []struct {
					Status   string `json:"status"`
					Restarts []struct {
						Outcome string    `json:"outcome"`
						Reason  string    `json:"reason"`
						At      time.Time `json:"at"`
					} `json:"restarts"`
				} `json:"incidents"`
			}
			if err := s.getJSON(ctx, u+"/api/v1/incidents?alertname=ZooKeeperProcessMemberDown&status=firing", &list); err != nil {
				return err
			}
			for _, inc := range list.Incidents {
				for _, r := range inc.Restarts {
					if inc.Status == "firing" && r.Outcome == "postponed" && strings.Contains(r.Reason, st.WindowID) {
						st.Postponed, st.PostponedReason = r.At, r.Reason
						return nil
					}
				}
			}
		}
		return fmt.Errorf("no restart recorded as postponed for window %s yet", st.WindowID)
	})
}

// waitRestartAfterWindow waits for the restart of the demo process,
// counting those restart-app recorded before the window's end.
func (s *Stack) waitRestartAfterWindow(st *MaintenanceStep, before int) error {
	return zktest.WaitFor(time.Until(st.WindowEnd)+stageTimeout, 20*time.Millisecond, func() error {
		st.RestartsWhileOpen = 0
		for _, l := range Restarts(s.opts.Dir)[before:] {
			at, err := time.Parse(time.RFC3339Nano, strings.Fields(l)[0])
			if err != nil {
				return zktest.Permanent(fmt.Errorf("restarts.log: %q: %w", l, err))
			}
			if at.Before(st.WindowEnd) {
				st.RestartsWhileOpen++
				continue
			}
			if st.Restarted.IsZero() {
				st.Restarted = at
			}
		}
		switch {
		case st.RestartsWhileOpen > 0:
			return zktest.Permanent(fmt.Errorf("the demo process was restarted %d times while the window was open", st.RestartsWhileOpen))
		case st.Restarted.IsZero():
			return fmt.Errorf("no restart after the window yet")
		}
		return nil
	})
}

// PrintMaintenance writes the maintenance step's timeline.
func PrintMaintenance(w io.Writer, st *MaintenanceStep) {
	fmt.Fprintf(w, "\n== maintenance window on the demo process %s/%s, then kill it (alert ZooKeeperProcessMemberDown)\n", Group, Member)
	rel := func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return fmt.Sprintf("%s  %+7.2fs", t.Format("15:04:05.000"), t.Sub(st.Killed).Seconds())
	}
	if st.WindowID == "" {
		fmt.Fprintf(w, "  no window opened\n")
		return
	}
	fmt.Fprintf(w, "  window opened      %s  (window %s until %s, on both replicas)\n", rel(st.Opened), st.WindowID, st.WindowEnd.Local().Format("15:04:05.000"))
	fmt.Fprintf(w, "  killed             %s\n", rel(st.Killed))
	fmt.Fprintf(w, "  alert firing       %s\n", rel(st.Firing))
	fmt.Fprintf(w, "  notified           %s  %s\n", rel(st.Notified), st.Notification)
	fmt.Fprintf(w, "                     %s\n", st.Note)
	fmt.Fprintf(w, "  restart postponed  %s  (%s)\n", rel(st.Postponed), st.PostponedReason)
	fmt.Fprintf(w, "  window ended       %s  (restarts while it was open: %d)\n", rel(st.WindowEnd), st.RestartsWhileOpen)
	fmt.Fprintf(w, "  restart ran        %s  (zkwatch_receiver restart hook)\n", rel(st.Restarted))
	fmt.Fprintf(w, "  member back        %s\n", rel(st.Back))
	fmt.Fprintf(w, "  resolved           %s\n", rel(st.Resolved))
}

// postJSON posts body to u and decodes a 2xx answer into v; it returns
// the answer's status.
func postJSON(ctx context.Context, u string, body []byte, v any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("POST %s: HTTP %d: %.300s", u, resp.StatusCode, bytes.TrimSpace(data))
	}
	return resp.StatusCode, json.Unmarshal(data, v)
}
