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

package template

import (
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/receiver/payload"
)

func TestDefaultTexts(t *testing.T) {
	d := &Data{IncidentID: "i1", Kind: "restart", Text: "Restart r succeeded.", Alert: payload.Alert{
		Status: "resolved", Labels: map[string]string{"alertname": "ZooKeeperProcessMemberDown", "group": "g", "member": "m"},
		Annotations: map[string]string{"summary": "S", "description": "D"},
		StartsAt:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), EndsAt: time.Date(2026, 1, 2, 4, 0, 0, 0, time.UTC),
	}}
	if s := d.Subject(); s != "[RESTART] ZooKeeperProcessMemberDown group=g member=m" {
		t.Errorf("subject %q", s)
	}
	text := d.DefaultText()
	for _, want := range []string{"Restart r succeeded.", "Summary: S", "Description: D", "Started: 2026-01-02T03:04:05Z",
		"Ended: 2026-01-02T04:00:00Z", "  member = m", "Incident: i1"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if md := d.DefaultMarkdown(); !strings.HasPrefix(md, "### [RESTART]") || !strings.Contains(md, "**Restart r succeeded.**") {
		t.Errorf("markdown:\n%s", md)
	}
}
