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

package web_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/receiver"
	"github.com/zkwatch/zkwatch/receiver/ha"
	"github.com/zkwatch/zkwatch/receiver/payload"
	"github.com/zkwatch/zkwatch/receiver/receivertest"
	"github.com/zkwatch/zkwatch/receiver/store"
)

// named is a coordinator that only has a name.
type named struct{ ha.Single }

func (named) Replica() string { return "a" }

func getPage(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// Both pages say which replica serves them; the incident page shows who
// ran each restart and sent each message; durations read as people write
// them; an attempt that ran no command here shows no exit code or
// duration instead of "0" and "0s".
func TestPagesNameReplicaAndShowDurations(t *testing.T) {
	env := receivertest.Start(t, "notifiers: []\n", func(r *receiver.Receiver) { r.SetCoordinator(named{}, time.Minute) })
	labels := map[string]string{"alertname": "ZooKeeperProcessMemberDown", "member": "zk-1"}
	a := payload.Alert{Status: "firing", Labels: labels, StartsAt: time.Now().Add(-time.Hour), Fingerprint: payload.Fingerprint(labels)}
	inc := &store.Incident{ID: a.IncidentID(), Status: "firing", Alert: a, FirstSeen: time.Now(), LastSeen: time.Now(),
		Notifications: []store.Notification{{Notifier: "ding", Kind: "firing", Outcome: "success", Attempts: 1, At: time.Now(), Replica: "b"}},
		Restarts: []store.RestartAttempt{
			{Rule: "member", Attempt: 1, Outcome: "abandoned", Replica: "c", At: time.Now()},
			{Rule: "member", Attempt: 2, Outcome: "success", Argv: []string{"/bin/restart", "zk-1"}, Duration: 53881758 * time.Nanosecond,
				Replica: "b", At: time.Now()},
		}}
	if err := env.Store.Update(func(tx *store.Tx) error { return tx.PutIncident(inc) }); err != nil {
		t.Fatal(err)
	}
	home := getPage(t, env.Server.URL+"/")
	if !strings.Contains(home, `<span id="replica">replica a</span>`) {
		t.Errorf("status page does not name its replica:\n%s", home)
	}
	page := getPage(t, env.Server.URL+"/incidents/"+inc.ID)
	for _, want := range []string{
		`<span id="replica">replica a</span>`,
		`<th>Replica</th>`,
		`<td class="replica">b</td>`,
		`<td class="replica">c</td><td class="command"></td><td class="exit"></td>`,
		`<td class="exit">0</td>`,
		`<td class="duration">53.9 ms</td>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("incident page lacks %q", want)
		}
	}
	for _, page := range []string{home, page} {
		if strings.Contains(page, "53.881758ms") || strings.Contains(page, "<td>0s</td>") {
			t.Errorf("raw Go durations on a page:\n%s", page)
		}
	}
}

// The status page tells when the watchdog alert last arrived, and that it
// is missing once the receiver has said so.
func TestStatusPageShowsWatchdog(t *testing.T) {
	env := receivertest.Start(t, "notifiers: []\n")
	if page := getPage(t, env.Server.URL+"/"); !strings.Contains(page, `<p id="watchdog">Watchdog (Watchdog): not seen yet.</p>`) {
		t.Errorf("before any arrival:\n%s", page)
	}
	last := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	if err := env.Store.Update(func(tx *store.Tx) error {
		return tx.PutWatchdog(store.WatchdogState{LastSeen: last, Missing: true, Episode: last.UnixMilli()})
	}); err != nil {
		t.Fatal(err)
	}
	page := getPage(t, env.Server.URL+"/")
	if !strings.Contains(page, `last arrival 2026-12-01 09:00:00 &#43;00:00 UTC, <span class="failure">missing</span>.`) {
		t.Errorf("missing watchdog not shown:\n%s", page)
	}
}
