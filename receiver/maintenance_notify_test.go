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

package receiver_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/receiver"
	"github.com/zkwatch/zkwatch/receiver/notify/webhook"
	"github.com/zkwatch/zkwatch/receiver/store"
)

// TestFiringNotificationInMaintenance: the firing notification of an alert
// an active window matches says "in maintenance" with the window's end and
// comment, while its restart is postponed; an alert outside the window and
// the resolved notification say nothing of it.
func TestFiringNotificationInMaintenance(t *testing.T) {
	s := newSink(t)
	e := start(t, restartConfig(s.srv.URL, `
  - name: member
    match: {alertname: ZooKeeperProcessMemberDown}
    command: ["/bin/true", "{{ .Labels.member }}"]
    allow: {member: "^[a-z0-9-]+$"}
`))
	w, err := e.rcv.Maintenance().Put(&receiver.WindowRequest{Matchers: []store.Matcher{{Name: "member", Value: "zk-1"}},
		EndsAt: time.Now().Add(time.Hour), CreatedBy: "alice", Comment: "disk swap"})
	must(t, err)
	startsAt := time.Now()
	for _, m := range []string{"zk-1", "zk-2"} {
		if code, msg := e.post(alertJSON("firing", memberLabels(m), startsAt)); code != 200 {
			t.Fatal(code, msg)
		}
	}
	firing := func(member string) (webhook.Message, error) {
		for _, m := range s.messages() {
			if m.Kind == "firing" && m.Alert.Labels["member"] == member {
				return m, nil
			}
		}
		return webhook.Message{}, fmt.Errorf("no firing notification for %s", member)
	}
	e.waitFor("firing notifications", func() error {
		if _, err := firing("zk-1"); err != nil {
			return err
		}
		_, err := firing("zk-2")
		return err
	})
	in, _ := firing("zk-1")
	until := "In maintenance until " + w.EndsAt.UTC().Format("2006-01-02 15:04:05 -07:00 MST") + ": window " + w.ID + " by alice: disk swap."
	if !strings.HasSuffix(in.Title, "(in maintenance)") || !strings.Contains(in.Text, until) ||
		in.Alerts[0].Maintenance == nil || in.Alerts[0].Maintenance.ID != w.ID || in.Alerts[0].Maintenance.Comment != "disk swap" {
		t.Errorf("notification of the alert in the window: title %q, text %q, alerts %+v; want %q", in.Title, in.Text, in.Alerts, until)
	}
	if out, _ := firing("zk-2"); strings.Contains(out.Title+out.Text, "maintenance") || out.Alerts[0].Maintenance != nil {
		t.Errorf("notification of the alert outside the window: %+v", out)
	}
	e.waitFor("restart postponed", func() error {
		inc := e.incident(incidentID(memberLabels("zk-1"), startsAt))
		if len(inc.Restarts) == 0 || inc.Restarts[0].Outcome != "postponed" {
			return fmt.Errorf("restarts %+v", inc.Restarts)
		}
		return nil
	})

	if code, msg := e.post(alertJSON("resolved", memberLabels("zk-1"), startsAt)); code != 200 {
		t.Fatal(code, msg)
	}
	e.waitFor("resolved notification", func() error {
		for _, m := range s.messages() {
			if m.Kind == "resolved" && m.Alert.Labels["member"] == "zk-1" {
				if strings.Contains(m.Title+m.Text, "aintenance") || m.Alerts[0].Maintenance != nil {
					t.Errorf("resolved notification says maintenance: %+v", m)
				}
				return nil
			}
		}
		return fmt.Errorf("no resolved notification")
	})
}
