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

package config

import (
	"strings"
	"testing"
	"time"
)

// Every way a template can reach a value that no allow regex vetted is
// refused when the configuration loads.
func TestArgvOnlyPlainLabels(t *testing.T) {
	for _, arg := range []string{
		"{{ .Alert.Labels.member }}",
		`{{ index .Labels "member" }}`,
		"{{ $.Labels.member }}",
		"{{ (.Labels).member }}",
		"{{ with .Labels }}{{ .member }}{{ end }}",
		"{{ range .Labels }}{{ . }}{{ end }}",
		"{{ if .Labels.member }}x{{ end }}",
		"{{ .Annotations.summary }}",
		"{{ .Fingerprint }}",
		"{{ .GeneratorURL }}",
		"{{ .Labels.member | printf \"%s\" }}",
		"{{ $x := .Labels.member }}{{ $x }}",
		"{{ .Labels }}",
		`{{ "literal" }}`,
		`{{ define "x" }}{{ .Labels.member }}{{ end }}`,
	} {
		yml := `restarts: [{name: r, match: {alertname: X}, command: ["/bin/echo", ` + quote(arg) + `]}]`
		_, err := Load([]byte(yml))
		if err == nil {
			t.Errorf("%s: accepted", arg)
			continue
		}
		if !strings.Contains(err.Error(), "only plain text and {{ .Labels.NAME }}") && !strings.Contains(err.Error(), "template") {
			t.Errorf("%s: unclear error %v", arg, err)
		}
	}
	c, err := Load([]byte(`restarts: [{name: r, match: {alertname: X}, command: ["/bin/echo", "--member={{ .Labels.member }}/{{.Labels.group}}", "plain"]}]`))
	if err != nil {
		t.Fatal(err)
	}
	r := &c.Restarts[0]
	if !r.Templated() {
		t.Error("not templated")
	}
	// The data holds the vetted labels and nothing else.
	d, err := r.VettedData(map[string]string{"member": "zk-1", "group": "g", "other": "$(reboot)"})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Labels) != 2 || d.Labels["member"] != "zk-1" || d.Labels["group"] != "g" {
		t.Errorf("vetted data %v", d.Labels)
	}
	if _, err := r.VettedData(map[string]string{"member": "x; reboot", "group": "g"}); err == nil {
		t.Error("unvetted value passed")
	}
}

func quote(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}

// Without a cooldown, a flapping alert restarted one target back to back.
func TestDefaultCooldown(t *testing.T) {
	c, err := Load([]byte(`restarts: [{name: r, match: {alertname: X}, command: ["/bin/true"]}]`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Restarts[0].Cooldown != 5*time.Minute {
		t.Errorf("default cooldown %s", c.Restarts[0].Cooldown)
	}
	c, err = Load([]byte(`restarts: [{name: r, match: {alertname: X}, command: ["/bin/true"], cooldown: 0s}]`))
	if err != nil || c.Restarts[0].Cooldown != 0 {
		t.Errorf("explicit 0s: %v", err)
	}
}

// SMS url and JSON body templates escape their values; a {{ template }}
// call there, whose output could not be escaped, is refused.
func TestSMSTemplateCallRefused(t *testing.T) {
	_, err := Load([]byte(`notifiers: [{name: s, sms: {url: "http://gw/send", body: '{{ define "x" }}{{ .Status }}{{ end }}{"text":"{{ template "x" . }}"}'}}]`))
	if err == nil || !strings.Contains(err.Error(), "cannot be escaped") {
		t.Errorf("template call in a JSON body: %v", err)
	}
	if _, err := Load([]byte(`notifiers: [{name: s, sms: {url: "http://gw/send", body: 'plain {{ template "x" . }}{{ define "x" }}{{ .Status }}{{ end }}'}}]`)); err != nil {
		t.Errorf("template call in a text body: %v", err)
	}
}
