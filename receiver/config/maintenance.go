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
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Maintenance configures maintenance windows (POST /api/v1/maintenance),
// which postpone the restarts of matching alerts.
type Maintenance struct {
	// MaxDuration bounds a window from when it takes effect to its end;
	// a window extended past it (counted from its first start) shows in
	// zkwatch_receiver_maintenance_windows_past_max_duration.
	MaxDuration time.Duration `yaml:"max_duration"`
	// AlertmanagerURL, when set, is where the page offers to create the
	// Alertmanager silence matching a window; without it the page uses
	// the externalURL of the latest webhook payload.
	AlertmanagerURL string `yaml:"alertmanager_url"`
}

// DefaultMaintenance holds the maintenance defaults.
var DefaultMaintenance = Maintenance{MaxDuration: 24 * time.Hour}

// UnmarshalYAML applies DefaultMaintenance before the file's values.
func (m *Maintenance) UnmarshalYAML(unmarshal func(any) error) error {
	*m = DefaultMaintenance
	type plain Maintenance
	return unmarshal((*plain)(m))
}

func (m *Maintenance) validate() error {
	if m.MaxDuration <= 0 {
		return errors.New("maintenance: max_duration must be positive")
	}
	if m.AlertmanagerURL != "" {
		u, err := url.Parse(m.AlertmanagerURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("maintenance: alertmanager_url %q must be an absolute http(s) URL without credentials, query or fragment", m.AlertmanagerURL)
		}
	}
	return nil
}

// Vets reports whether the rule checks label name against an allow
// regex (its allow map, or the default one for a label its command uses):
// only such labels are trusted to say what a restart acts on.
func (r *Restart) Vets(name string) bool {
	_, ok := r.allow[name]
	return ok
}

// Vetted reports whether some restart rule vets label name.
func (c *Config) Vetted(name string) bool {
	for i := range c.Restarts {
		if c.Restarts[i].Vets(name) {
			return true
		}
	}
	return false
}
