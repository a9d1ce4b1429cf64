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
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Record is one POST the sink received.
type Record struct {
	At   time.Time
	Path string
	Body []byte
}

// Sink is an HTTP server on 127.0.0.1 that records what is posted to it:
// the receiver's webhook notifications (/notify) and a copy of every
// Alertmanager payload (/alertmanager).
type Sink struct {
	srv     *http.Server
	addr    string
	mu      sync.Mutex
	records []Record
	changed chan struct{}
}

// NewSink starts a sink.
func NewSink() (*Sink, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Sink{addr: l.Addr().String(), changed: make(chan struct{})}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.handle), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

// URL is the sink's base URL.
func (s *Sink) URL() string { return "http://" + s.addr }

// Close stops the sink.
func (s *Sink) Close() { _ = s.srv.Close() }

func (s *Sink) handle(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil || r.Method != http.MethodPost {
		http.Error(w, "POST a body", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.records = append(s.records, Record{At: time.Now(), Path: r.URL.Path, Body: body})
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// Records returns what was posted to path.
func (s *Sink) Records(path string) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, r := range s.records {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// Notification is the part of a receiver webhook notification the demo
// reads.
type Notification struct {
	Kind   string `json:"kind"`
	Status string `json:"status"`
	Title  string `json:"title"`
	Text   string `json:"text"`
	Alert  struct {
		Labels map[string]string `json:"labels"`
	} `json:"alert"`
}

// WaitNotification waits for a notification at /notify received after
// since that satisfies match.
func (s *Sink) WaitNotification(since time.Time, timeout time.Duration, match func(Notification) bool) (time.Time, error) {
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		changed := s.changed
		records := append([]Record(nil), s.records...)
		s.mu.Unlock()
		for _, r := range records {
			if r.Path != "/notify" || r.At.Before(since) {
				continue
			}
			var n Notification
			if json.Unmarshal(r.Body, &n) == nil && match(n) {
				return r.At, nil
			}
		}
		select {
		case <-changed:
		case <-deadline:
			return time.Time{}, fmt.Errorf("no matching notification within %s", timeout)
		}
	}
}
