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
	"time"
)

// Watchdog is the dead man's switch: Prometheus keeps an always-firing
// alert (the mixin's Watchdog) that Alertmanager repeats to the receiver;
// when it has not arrived for MissingAfter, the receiver notifies through
// Notifiers itself, since nothing upstream can. The alert never becomes an
// incident, a restart or a page of its own.
type Watchdog struct {
	// AlertName is the watchdog alert's alertname.
	AlertName string `yaml:"alertname"`
	// Match narrows it down by other labels (equality), to tell it from
	// another Prometheus' alert of the same name (an external label).
	Match map[string]string `yaml:"match"`
	// MissingAfter is how long after its last arrival the alert counts as
	// missing; it must exceed Alertmanager's repeat_interval for it.
	MissingAfter time.Duration `yaml:"missing_after"`
	// Notifiers are told once when the alert goes missing and once when it
	// is back; none: only the metrics report it.
	Notifiers []string `yaml:"notifiers"`
}

// DefaultWatchdog holds the watchdog defaults.
var DefaultWatchdog = Watchdog{AlertName: "Watchdog", MissingAfter: 5 * time.Minute}

// UnmarshalYAML applies DefaultWatchdog before the file's values.
func (w *Watchdog) UnmarshalYAML(unmarshal func(any) error) error {
	*w = DefaultWatchdog
	type plain Watchdog
	return unmarshal((*plain)(w))
}

// minMissingAfter keeps a typo such as "5s" for "5m" from paging whenever
// one repeat is a little late.
const minMissingAfter = time.Second

func (w *Watchdog) validate(notifiers map[string]bool) error {
	switch {
	case w.AlertName == "":
		return errors.New("watchdog: alertname must not be empty")
	case w.MissingAfter < minMissingAfter:
		return fmt.Errorf("watchdog: missing_after must be at least %s (longer than Alertmanager's repeat_interval for the alert), got %s", minMissingAfter, w.MissingAfter)
	}
	if _, ok := w.Match["alertname"]; ok {
		return errors.New("watchdog: match must not hold alertname (set watchdog.alertname)")
	}
	seen := map[string]bool{}
	for _, n := range w.Notifiers {
		if !notifiers[n] {
			return fmt.Errorf("watchdog: unknown notifier %q", n)
		}
		if seen[n] {
			return fmt.Errorf("watchdog: notifier %q listed twice", n)
		}
		seen[n] = true
	}
	return nil
}

// IsWatchdog tells whether labels are those of the watchdog alert.
func (w *Watchdog) IsWatchdog(labels map[string]string) bool {
	if labels["alertname"] != w.AlertName {
		return false
	}
	for k, v := range w.Match {
		if labels[k] != v {
			return false
		}
	}
	return true
}
