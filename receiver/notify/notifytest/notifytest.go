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
// notifier's configuration and a firing alert to send.
package notifytest

import (
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
