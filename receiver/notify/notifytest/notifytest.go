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

// Package notifytest holds what the notifier tests share: loading a
// notifier's configuration, a firing alert to send, the CA file of a TLS
// sink and a DingTalk robot that checks signatures.
package notifytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/payload"
	tmpl "github.com/zkwatch/zkwatch/receiver/template"
)

// Notifier loads a configuration document and returns its first
// notifier, failing the test on any configuration error.
func Notifier(tb testing.TB, yaml string) *config.Notifier {
	tb.Helper()
	c, err := config.Load([]byte(yaml))
	if err != nil {
		tb.Fatalf("config: %v\n%s", err, yaml)
	}
	if len(c.Notifiers) == 0 {
		tb.Fatalf("config has no notifier:\n%s", yaml)
	}
	return &c.Notifiers[0]
}

// Firing returns a firing ZooKeeperDown alert for server with the given
// annotations, as incident id.
func Firing(id, server string, annotations map[string]string) *tmpl.Data {
	return &tmpl.Data{IncidentID: id, Kind: "firing", Alert: payload.Alert{
		Status: "firing", Labels: map[string]string{"alertname": "ZooKeeperDown", "server": server},
		Annotations: annotations, StartsAt: time.Now(),
	}}
}

// CAFile writes the certificate of a TLS test server, its own CA, to a
// PEM file for tls_config.ca_file.
func CAFile(tb testing.TB, srv *httptest.Server) string {
	tb.Helper()
	ca := filepath.Join(tb.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		tb.Fatal(err)
	}
	return ca
}

// Robot is a DingTalk custom robot for tests: it checks each request's
// timestamp and signature by DingTalk's published recipe, as the real
// robot does, and records the messages it accepts.
type Robot struct {
	URL string // with access_token=t; the robot's secret is Secret

	mu       sync.Mutex
	bodies   [][]byte
	times    []time.Time
	rejected int
	tooFast  int
	limit    int
	answer   string
	srv      *httptest.Server
}

// Limit makes the robot refuse, as DingTalk does with errcode 130101,
// messages beyond n in any minute.
func (r *Robot) Limit(n int) {
	r.mu.Lock()
	r.limit = n
	r.mu.Unlock()
}

// TooFast counts messages refused by the rate limit.
func (r *Robot) TooFast() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tooFast
}

// overLimit records a message and tells whether it exceeds the limit.
func (r *Robot) overLimit(now time.Time) bool {
	if r.limit == 0 {
		return false
	}
	recent := 0
	for _, t := range r.times {
		if now.Sub(t) < time.Minute {
			recent++
		}
	}
	if recent >= r.limit {
		r.tooFast++
		return true
	}
	r.times = append(r.times, now)
	return false
}

// RobotSign is DingTalk's documented signature: base64 of HMAC-SHA256
// over "timestamp\nsecret" keyed with the secret.
func RobotSign(timestamp, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// NewRobot starts a robot checking signatures made with secret.
func NewRobot(tb testing.TB, secret string) *Robot {
	r := &Robot{answer: `{"errcode":0,"errmsg":"ok"}`}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		q := req.URL.Query()
		ts := q.Get("timestamp")
		ms, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || time.Since(time.UnixMilli(ms)).Abs() > time.Hour {
			http.Error(w, "bad timestamp", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if q.Get("sign") != RobotSign(ts, secret) || q.Get("access_token") != "t" {
			r.rejected++
			_, _ = w.Write([]byte(`{"errcode":310000,"errmsg":"sign not match"}`))
			return
		}
		var b json.RawMessage
		if err := json.NewDecoder(req.Body).Decode(&b); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if r.overLimit(time.Now()) {
			_, _ = w.Write([]byte(`{"errcode":130101,"errmsg":"send too fast"}`))
			return
		}
		r.bodies = append(r.bodies, b)
		_, _ = w.Write([]byte(r.answer))
	}))
	tb.Cleanup(r.srv.Close)
	r.URL = r.srv.URL + "/robot/send?access_token=t"
	return r
}

// Bodies returns the accepted request bodies.
func (r *Robot) Bodies() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...)
}

// Rejected counts requests with a wrong signature.
func (r *Robot) Rejected() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rejected
}

// Answer sets the JSON the robot answers accepted requests with.
func (r *Robot) Answer(s string) {
	r.mu.Lock()
	r.answer = s
	r.mu.Unlock()
}

// Reset forgets the recorded bodies.
func (r *Robot) Reset() {
	r.mu.Lock()
	r.bodies = nil
	r.mu.Unlock()
}
