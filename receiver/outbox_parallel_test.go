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
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/receiver/notify/webhook"
)

// stallSink hangs on every request until the sender gives up, keeping
// the most requests it had at once, in all and for retries (a member
// seen before).
type stallSink struct {
	mu                sync.Mutex
	seen              map[string]int
	now, nowRetry     int
	most, mostRetry   int
	requests, retried int
	srv               *httptest.Server
}

func newStallSink(t *testing.T) *stallSink {
	s := &stallSink{seen: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m webhook.Message
		_ = json.NewDecoder(r.Body).Decode(&m)
		member := m.Alert.Labels["member"]
		s.mu.Lock()
		retry := s.seen[member] > 0
		s.seen[member]++
		s.requests++
		s.now++
		s.most = max(s.most, s.now)
		if retry {
			s.retried++
			s.nowRetry++
			s.mostRetry = max(s.mostRetry, s.nowRetry)
		}
		s.mu.Unlock()
		<-r.Context().Done()
		s.mu.Lock()
		s.now--
		if retry {
			s.nowRetry--
		}
		s.mu.Unlock()
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// Deliveries to one notifier run in parallel, at most 16 at once, and
// retries take at most 8 of those slots, so that messages a destination
// keeps hanging on leave room for new ones.
func TestOutboxParallelBounds(t *testing.T) {
	s := newStallSink(t)
	e := start(t, fmt.Sprintf(`
global: {notify_timeout: 1s, retry_initial_backoff: 10ms, retry_max_backoff: 20ms}
notifiers:
  - {name: hook, webhook: {url: %q}}
routes:
  - notifiers: [hook]
`, s.srv.URL))
	// One payload: the 24 messages are queued at once.
	var alerts []any
	for i := range 24 {
		var p struct{ Alerts []any }
		must(t, json.Unmarshal([]byte(alertJSON("firing", memberLabels(fmt.Sprint("zk-", i)), time.Now())), &p))
		alerts = append(alerts, p.Alerts...)
	}
	body, _ := json.Marshal(map[string]any{"version": "4", "status": "firing", "receiver": "zkwatch", "groupKey": "{}:{}",
		"alerts": alerts, "groupLabels": map[string]string{}, "commonLabels": map[string]string{}, "externalURL": "http://am"})
	if code, msg := e.post(string(body)); code != 200 {
		t.Fatal(code, msg)
	}
	e.waitFor("24 retries", func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.retried < 24 {
			return fmt.Errorf("%d requests, %d retries", s.requests, s.retried)
		}
		return nil
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Logf("at most %d deliveries and %d retries at once", s.most, s.mostRetry)
	if s.most != 16 || s.mostRetry > 8 || s.mostRetry < 2 {
		t.Errorf("at most %d deliveries and %d retries at once, want 16 and 2..8", s.most, s.mostRetry)
	}
}
