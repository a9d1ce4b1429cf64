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
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/internal/zktest"
	"github.com/zkwatch/zkwatch/receiver"
	"github.com/zkwatch/zkwatch/receiver/notify/webhook"
	"github.com/zkwatch/zkwatch/receiver/receivertest"
	"github.com/zkwatch/zkwatch/receiver/store"
)

// env is a running receiver behind an httptest server.
type env struct {
	t   *testing.T
	rcv *receiver.Receiver
	st  *store.Store
	srv *httptest.Server
	reg *prometheus.Registry
}

func start(t *testing.T, cfgYAML string, setup ...func(*receiver.Receiver)) *env {
	t.Helper()
	r := receivertest.Start(t, cfgYAML, setup...)
	return &env{t: t, rcv: r.Receiver, st: r.Store, srv: r.Server, reg: r.Registry}
}

func (e *env) post(body string, header ...string) (int, string) {
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/webhook", strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *env) incident(id string) *store.Incident {
	var inc *store.Incident
	if err := e.st.View(func(tx *store.Tx) (err error) { inc, err = tx.Incident(id); return }); err != nil {
		e.t.Fatal(err)
	}
	return inc
}

func (e *env) incidents() []*store.Incident {
	var out []*store.Incident
	if err := e.st.View(func(tx *store.Tx) (err error) { out, err = tx.Incidents(store.Filter{}); return }); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) waitFor(what string, cond func() error) {
	e.t.Helper()
	if err := zktest.WaitFor(30*time.Second, 10*time.Millisecond, cond); err != nil {
		e.t.Fatalf("waiting for %s: %v", what, err)
	}
}

func (e *env) counter(name string, labels ...string) float64 {
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.Metric {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.Label {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	return 0
}

// sink is a webhook notifier endpoint that records messages.
type sink struct {
	mu     sync.Mutex
	msgs   []webhook.Message
	fail   int // answer 503 to this many requests first
	status int // if set, answer this status always
	srv    *httptest.Server
}

func newSink(t *testing.T) *sink {
	s := &sink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m webhook.Message
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.status != 0 {
			http.Error(w, "configured failure", s.status)
			return
		}
		if s.fail > 0 {
			s.fail--
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		s.msgs = append(s.msgs, m)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sink) kinds() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for _, m := range s.msgs {
		out[m.Kind]++
	}
	return out
}

func (s *sink) messages() []webhook.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]webhook.Message(nil), s.msgs...)
}

// alertJSON renders a one-alert webhook payload.
func alertJSON(status string, labels map[string]string, startsAt time.Time) string {
	a := map[string]any{
		"status": status, "labels": labels, "annotations": map[string]string{"summary": "test alert"},
		"startsAt": startsAt.UTC().Format(time.RFC3339Nano), "endsAt": "0001-01-01T00:00:00Z",
		"generatorURL": "http://prometheus/graph", "fingerprint": "",
	}
	b, _ := json.Marshal(map[string]any{
		"version": "4", "status": status, "receiver": "zkwatch", "groupKey": "{}:{}",
		"alerts": []any{a}, "groupLabels": map[string]string{}, "commonLabels": labels,
		"commonAnnotations": map[string]string{}, "externalURL": "http://am",
	})
	return string(b)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func expect(want int, got int, what string) error {
	if got != want {
		return fmt.Errorf("%s: got %d, want %d", what, got, want)
	}
	return nil
}
