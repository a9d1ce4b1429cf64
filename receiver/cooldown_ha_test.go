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
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/receiver"
	"github.com/zkwatch/zkwatch/receiver/ha"
)

// Issue 21, item 13: a replica that only observed another replica's
// failed attempt does not start the target's cooldown, so it runs the
// next attempt after the backoff instead of postponing it for the
// cooldown; a success would.
func TestObservedFailureStartsNoCooldown(t *testing.T) {
	s := newSink(t)
	runs := filepath.Join(t.TempDir(), "runs")
	c := &scripted{records: map[ha.Key]string{}, details: map[ha.Key][]byte{}, down: time.Now(),
		answer: func(k ha.Key) (ha.Result, error) {
			if k.Attempt == 1 {
				return ha.Result{Owner: "other", Outcome: "failure"}, nil
			}
			return won(k)
		}}
	e := start(t, restartConfig(s.srv.URL, fmt.Sprintf(`
  - name: member
    match: {alertname: ZooKeeperProcessMemberDown}
    command: ["/bin/sh", "-c", "echo run >> %s"]
    max_attempts: 2
    backoff: 100ms
    cooldown: 1h
`, runs)), func(r *receiver.Receiver) { r.SetCoordinator(c, time.Hour) })
	startsAt := time.Now()
	if code, msg := e.post(alertJSON("firing", memberLabels("zk-1"), startsAt)); code != 200 {
		t.Fatal(code, msg)
	}
	id := incidentID(memberLabels("zk-1"), startsAt)
	e.waitFor("second attempt run here", func() error {
		for _, a := range e.incident(id).Restarts {
			if strings.Contains(a.Reason, "cooldown") {
				return fmt.Errorf("postponed by a cooldown another replica's failure started: %+v", a)
			}
		}
		return expect(1, countLines(t, runs), "runs")
	})
}
