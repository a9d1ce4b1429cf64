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

package receiver

import (
	"testing"

	"github.com/zkwatch/zkwatch/receiver/config"
)

// The configuration's kinds and the constructors name the same kinds, and
// every kind's example configuration builds a notifier of that kind.
func TestNotifierKindsAgree(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range config.Kinds {
		seen[k.Name] = true
		if notifierKinds[k.Name] == nil {
			t.Errorf("config kind %q has no constructor in notifierKinds", k.Name)
		}
	}
	for name := range notifierKinds {
		if !seen[name] {
			t.Errorf("notifierKinds builds %q, which config.Kinds lacks", name)
		}
	}
	cfg, err := config.Load([]byte(`
notifiers:
  - {name: w, webhook: {url: "http://127.0.0.1:1/hook"}}
  - {name: e, email: {smarthost: "127.0.0.1:25", from: a@example.org, to: [b@example.org]}}
  - {name: d, dingtalk: {url: "http://127.0.0.1:1/robot"}}
  - {name: s, sms: {url: "http://127.0.0.1:1/sms", body: "text={{ .Alert.Labels.alertname }}"}}
routes: [{notifiers: [w, e, d, s]}]
`))
	if err != nil {
		t.Fatal(err)
	}
	ns, err := newNotifiers(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"w": "webhook", "e": "email", "d": "dingtalk", "s": "sms"}
	if len(ns) != len(config.Kinds) {
		t.Errorf("%d notifiers built, want one per kind (%d)", len(ns), len(config.Kinds))
	}
	for i := range cfg.Notifiers {
		n := &cfg.Notifiers[i]
		if n.Kind() != want[n.Name] || ns[n.Name] == nil {
			t.Errorf("notifier %s: kind %q, built %v", n.Name, n.Kind(), ns[n.Name] != nil)
		}
	}
}
