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

// Package payload decodes and validates Alertmanager webhook payloads
// (version 4).
package payload

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"
)

// Version is the only webhook payload version Alertmanager sends today.
const Version = "4"

// Message is the body Alertmanager's webhook notifier posts.
type Message struct {
	Version           string  `json:"version"`
	GroupKey          string  `json:"groupKey"`
	TruncatedAlerts   uint64  `json:"truncatedAlerts"`
	Receiver          string  `json:"receiver"`
	Status            string  `json:"status"`
	Alerts            []Alert `json:"alerts"`
	GroupLabels       KV      `json:"groupLabels"`
	CommonLabels      KV      `json:"commonLabels"`
	CommonAnnotations KV      `json:"commonAnnotations"`
	ExternalURL       string  `json:"externalURL"`
}

// Alert is one alert of a Message; it is also the data templates see.
type Alert struct {
	Status       string    `json:"status"`
	Labels       KV        `json:"labels"`
	Annotations  KV        `json:"annotations"`
	StartsAt     time.Time `json:"startsAt"`
	EndsAt       time.Time `json:"endsAt"`
	GeneratorURL string    `json:"generatorURL"`
	Fingerprint  string    `json:"fingerprint"`
}

// Alert statuses.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// Error is a payload that can never be accepted (HTTP 400).
type Error struct{ Reason string }

func (e *Error) Error() string { return e.Reason }

func bad(format string, args ...any) error { return &Error{fmt.Sprintf(format, args...)} }

// IsInvalid tells whether err means the payload itself is unacceptable.
func IsInvalid(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// Decode reads one webhook payload from r and validates it. Errors of type
// *Error describe input that can never succeed; other errors come from r
// (for example http.MaxBytesError).
func Decode(r io.Reader) (*Message, error) {
	// Any decoding failure while the reader itself is fine is the input's
	// fault, whatever type encoding/json or time gives the error.
	er := &errReader{r: r}
	dec := json.NewDecoder(er)
	var m Message
	if err := dec.Decode(&m); err != nil {
		switch {
		case er.err != nil:
			return nil, er.err
		case errors.Is(err, io.EOF):
			return nil, bad("empty body")
		}
		return nil, bad("malformed JSON: %v", err)
	}
	// Anything after the object is garbage, but the reader's own errors
	// (size limit) must still surface as such.
	if _, err := dec.Token(); err != io.EOF {
		if er.err != nil {
			return nil, er.err
		}
		return nil, bad("malformed JSON: trailing data after payload")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// errReader remembers the first error of its reader other than io.EOF.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// Validate checks the version and every alert, and fills in missing
// fingerprints from the labels.
func (m *Message) Validate() error {
	if m.Version != Version {
		return bad("unsupported payload version %q, want %q", m.Version, Version)
	}
	if len(m.Alerts) == 0 {
		return bad("payload has no alerts")
	}
	for i := range m.Alerts {
		a := &m.Alerts[i]
		if a.Status != StatusFiring && a.Status != StatusResolved {
			return bad("alert %d: status %q is neither firing nor resolved", i, a.Status)
		}
		if len(a.Labels) == 0 {
			return bad("alert %d: no labels", i)
		}
		for k := range a.Labels {
			if k == "" {
				return bad("alert %d: empty label name", i)
			}
		}
		if a.StartsAt.IsZero() {
			return bad("alert %d: missing startsAt", i)
		}
		if a.StartsAt.After(maxStartsAt) {
			return bad("alert %d: startsAt %s is after %s", i, a.StartsAt.Format(time.RFC3339), maxStartsAt.Format(time.RFC3339))
		}
		if a.Fingerprint == "" {
			a.Fingerprint = Fingerprint(a.Labels)
		}
		if len(a.Fingerprint) > 128 {
			return bad("alert %d: fingerprint longer than 128 bytes", i)
		}
	}
	return nil
}

// Fingerprint derives a stable id from a label set, for payloads that lack
// Alertmanager's own fingerprint.
func Fingerprint(labels map[string]string) string {
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, k := range names {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(labels[k]))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// maxStartsAt bounds startsAt so that its milliseconds fit the 11 hex
// digits that start an incident id (which end in the year 2527).
var maxStartsAt = time.Date(2500, 1, 1, 0, 0, 0, 0, time.UTC)

// IncidentID is the unique id of the incident an alert belongs to: one
// alert fingerprint and one startsAt. Alertmanager's retries and repeats of
// the same alert map to the same id. The id starts with startsAt in hex
// milliseconds, so ids sort by start time and recent incidents sit
// together in the store.
func (a *Alert) IncidentID() string {
	h := sha256.Sum256([]byte(a.Fingerprint + "|" + a.StartsAt.UTC().Format(time.RFC3339Nano)))
	ms := a.StartsAt.UnixMilli()
	if ms < 0 {
		ms = 0
	}
	return fmt.Sprintf("%011x%s", ms, hex.EncodeToString(h[:5]))
}

// Resolved tells whether the alert is resolved.
func (a *Alert) Resolved() bool { return a.Status == StatusResolved }
