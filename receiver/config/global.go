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
	"os"
	"path/filepath"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"
)

// Global holds settings that apply to the whole receiver.
type Global struct {
	// BearerToken, when set, must be presented on every request except
	// /-/healthy and /-/ready (Alertmanager: http_config.authorization).
	BearerToken     commoncfg.Secret `yaml:"bearer_token"`
	BearerTokenFile string           `yaml:"bearer_token_file"`
	// MaxBodyBytes limits webhook bodies; larger ones get 413.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxAlertsPerPayload limits the alerts of one webhook post; larger
	// posts get 413 and nothing of them is stored.
	MaxAlertsPerPayload int `yaml:"max_alerts_per_payload"`
	// RenotifyInterval re-sends a still-firing incident's notification
	// when Alertmanager repeats it after this long; 0 never re-notifies.
	RenotifyInterval time.Duration `yaml:"renotify_interval"`
	// NotifyTimeout bounds one delivery attempt.
	NotifyTimeout time.Duration `yaml:"notify_timeout"`
	// RetryInitialBackoff and RetryMaxBackoff shape the outbox's
	// exponential backoff; deliveries are retried until they succeed or
	// fail permanently.
	RetryInitialBackoff time.Duration `yaml:"retry_initial_backoff"`
	RetryMaxBackoff     time.Duration `yaml:"retry_max_backoff"`
	// RetryMaxAttempts and RetryMaxAge end the retries of a delivery: it
	// then becomes a dead letter, kept for inspection.
	RetryMaxAttempts int           `yaml:"retry_max_attempts"`
	RetryMaxAge      time.Duration `yaml:"retry_max_age"`
	// RestartConcurrency limits restart commands running at once.
	RestartConcurrency int `yaml:"restart_concurrency"`
	// Timezone is the IANA zone every time in messages and on the web
	// pages is shown in, with its offset.
	Timezone string `yaml:"timezone"`

	location *time.Location
}

// Location is the time zone of global.timezone.
func (g *Global) Location() *time.Location {
	if g.location == nil {
		return time.UTC
	}
	return g.location
}

// DefaultGlobal holds the global defaults.
var DefaultGlobal = Global{
	MaxBodyBytes:        4 << 20,
	MaxAlertsPerPayload: 1000,
	NotifyTimeout:       10 * time.Second,
	RetryInitialBackoff: time.Second,
	RetryMaxBackoff:     5 * time.Minute,
	RetryMaxAttempts:    100,
	RetryMaxAge:         6 * time.Hour,
	RestartConcurrency:  2,
	Timezone:            "UTC",
}

// UnmarshalYAML applies DefaultGlobal before the file's values.
func (g *Global) UnmarshalYAML(unmarshal func(any) error) error {
	*g = DefaultGlobal
	type plain Global
	return unmarshal((*plain)(g))
}

// validate checks the values and returns the webhook bearer token, read
// from bearer_token_file (relative to dir) when that is set.
func (g *Global) validate(dir string) (string, error) {
	switch {
	case g.MaxBodyBytes <= 0:
		return "", errors.New("global: max_body_bytes must be positive")
	case g.MaxAlertsPerPayload <= 0:
		return "", errors.New("global: max_alerts_per_payload must be positive")
	case g.RetryMaxAttempts < 1 || g.RetryMaxAge <= 0:
		return "", errors.New("global: retry_max_attempts and retry_max_age must be positive")
	case g.NotifyTimeout <= 0:
		return "", errors.New("global: notify_timeout must be positive")
	case g.RetryInitialBackoff <= 0:
		return "", errors.New("global: retry_initial_backoff must be positive")
	case g.RetryMaxBackoff < g.RetryInitialBackoff:
		return "", errors.New("global: retry_max_backoff must be at least retry_initial_backoff")
	case g.RenotifyInterval < 0:
		return "", errors.New("global: renotify_interval must not be negative (0 never re-notifies)")
	case g.RestartConcurrency < 1:
		return "", fmt.Errorf("global: restart_concurrency must be at least 1, got %d", g.RestartConcurrency)
	}
	loc, err := time.LoadLocation(g.Timezone)
	if err != nil || g.Timezone == "" || g.Timezone == "Local" {
		return "", fmt.Errorf("global: timezone %q is not an IANA time zone name", g.Timezone)
	}
	g.location = loc
	if g.BearerToken != "" && g.BearerTokenFile != "" {
		return "", errors.New("global: at most one of bearer_token and bearer_token_file")
	}
	if g.BearerTokenFile == "" {
		return string(g.BearerToken), nil
	}
	p := g.BearerTokenFile
	if dir != "" && !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("global: bearer_token_file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", errors.New("global: bearer_token_file is empty")
	}
	return tok, nil
}

// Storage configures the incident store.
type Storage struct {
	// Retention is how long incidents are kept after their last update.
	Retention time.Duration `yaml:"retention"`
}

// DefaultStorage holds the storage defaults.
var DefaultStorage = Storage{Retention: 720 * time.Hour}

// UnmarshalYAML applies DefaultStorage before the file's values.
func (s *Storage) UnmarshalYAML(unmarshal func(any) error) error {
	*s = DefaultStorage
	type plain Storage
	return unmarshal((*plain)(s))
}

func (s *Storage) validate() error {
	if s.Retention <= 0 {
		return errors.New("storage: retention must be positive")
	}
	return nil
}
