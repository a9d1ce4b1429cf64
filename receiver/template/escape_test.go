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
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/receiver/payload"
)

func TestEscapeJSON(t *testing.T) {
	evil := `x","to":"+19999999999`
	d := &Data{Alert: payload.Alert{Status: "firing", StartsAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		Labels: map[string]string{"alertname": evil, "n": "a\\b\n"}}}
	body := `{"to":"+1","text":"{{ .Status }} {{ .Labels.alertname }}","quoted":{{ .Labels.alertname | json }},` +
		`"all":"{{ range $k, $v := .Labels }}{{ $k }}={{ $v }};{{ end }}","if":"{{ if .Labels.n }}{{ .Labels.n }}{{ end }}","t":"{{ .StartsAt }}"}`
	tp, err := Parse("body", body)
	if err != nil {
		t.Fatal(err)
	}
	if !IsJSON(body) {
		t.Fatal("not recognised as JSON")
	}
	EscapeJSON(tp)
	out, err := Render(tp, d, "")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	want := map[string]string{"to": "+1", "text": "firing " + evil, "quoted": evil,
		"all": "alertname=" + evil + ";n=a\\b\n;", "if": "a\\b\n", "t": "2026-12-01 00:00:00 +0000 UTC"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}
	if len(m) != len(want) {
		t.Errorf("keys %v", m)
	}
}

func TestEscapeURL(t *testing.T) {
	tp, err := Parse("url", "http://gw/send?to=%2B1&text={{ .Labels.alertname }}&q={{ .Labels.alertname | urlquery }}")
	if err != nil {
		t.Fatal(err)
	}
	EscapeURL(tp)
	out, err := Render(tp, &Data{Alert: payload.Alert{Labels: map[string]string{"alertname": "y&to=+2 #z"}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if len(q["to"]) != 1 || q.Get("to") != "+1" || q.Get("text") != "y&to=+2 #z" || q.Get("q") != "y&to=+2 #z" {
		t.Errorf("%s: %v", out, q)
	}
}

func TestIsForm(t *testing.T) {
	for _, c := range []struct {
		body, contentType string
		want              bool
	}{
		{"to=%2B1&text={{ .Status }}", "", true},
		{"to=%2B1&text={{ .Status }}", "application/x-www-form-urlencoded; charset=utf-8", true},
		{"to=%2B1&text={{ .Status }}", "text/plain", false},
		{`{"to":"+1"}`, "", false},
		{"{{ .Status }} is the text", "", false},
		{"Alert: a=b", "", false},
		{"anything", "application/x-www-form-urlencoded", true},
	} {
		if got := IsForm(c.body, c.contentType); got != c.want {
			t.Errorf("IsForm(%q, %q) = %v", c.body, c.contentType, got)
		}
	}
}
