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

package payload

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestDecodeFixtures(t *testing.T) {
	b, err := os.ReadFile("testdata/firing.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Alerts) != 2 || m.Receiver != "zkwatch" || m.GroupKey == "" {
		t.Fatalf("decoded %+v", m)
	}
	a := m.Alerts[0]
	if a.Labels["member"] != "zk-2" || a.Fingerprint != "a1b2c3d4e5f60718" ||
		!a.StartsAt.Equal(time.Date(2026, 11, 25, 6, 0, 0, 123e6, time.UTC)) {
		t.Errorf("alert %+v", a)
	}
	r, err := os.ReadFile("testdata/resolved.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Decode(bytes.NewReader(r))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Alerts[0].Resolved() || res.Alerts[0].IncidentID() != a.IncidentID() {
		t.Error("resolved alert does not map to the firing alert's incident")
	}
	if m.Alerts[1].IncidentID() == a.IncidentID() {
		t.Error("different alerts share an incident id")
	}
}

func TestDecodeBadFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad-*.json")
	if len(files) < 10 {
		t.Fatalf("only %d bad fixtures", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Decode(bytes.NewReader(b))
		if !IsInvalid(err) {
			t.Errorf("%s: got %v, want a payload error", f, err)
		}
	}
}

func TestDecodeReaderErrorIsNotInvalid(t *testing.T) {
	boom := errors.New("boom")
	_, err := Decode(iotest.ErrReader(boom))
	if !errors.Is(err, boom) || IsInvalid(err) {
		t.Errorf("got %v", err)
	}
	// An error after a complete object must not be hidden either.
	r := iotest.DataErrReader(strings.NewReader(`{"version":"4"`))
	if _, err := Decode(r); !IsInvalid(err) {
		t.Errorf("truncated: got %v", err)
	}
}

func TestFingerprintFilledIn(t *testing.T) {
	m, err := Decode(strings.NewReader(`{"version":"4","alerts":[{"status":"firing","labels":{"b":"2","a":"1"},"startsAt":"2026-11-25T06:00:00Z"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Alerts[0].Fingerprint != Fingerprint(map[string]string{"a": "1", "b": "2"}) || m.Alerts[0].Fingerprint == "" {
		t.Errorf("fingerprint %q", m.Alerts[0].Fingerprint)
	}
	if Fingerprint(map[string]string{"a": "1b"}) == Fingerprint(map[string]string{"a1": "b"}) {
		t.Error("fingerprint is ambiguous")
	}
}

// FuzzDecodePayload checks that arbitrary bodies are either accepted as
// valid payloads or rejected with a payload error, never a panic.
func FuzzDecodePayload(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"version":"4","alerts":[{"status":"resolved","labels":{"x":"\u0000"},"startsAt":"2026-01-01T00:00:00Z","fingerprint":""}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(bytes.NewReader(b))
		if err != nil {
			if !IsInvalid(err) {
				t.Fatalf("non-payload error from an in-memory reader: %v", err)
			}
			return
		}
		if m.Version != Version || len(m.Alerts) == 0 {
			t.Fatalf("invalid payload accepted: %+v", m)
		}
		for _, a := range m.Alerts {
			if a.Fingerprint == "" || a.StartsAt.IsZero() || len(a.IncidentID()) != 21 {
				t.Fatalf("alert not normalised: %+v", a)
			}
		}
	})
}
