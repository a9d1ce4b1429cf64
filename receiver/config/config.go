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

// Package config loads and validates the zkwatch_receiver YAML file.
//
// The file is split by concern: config.go (the document, loading and
// lookups), global.go (global and storage settings), notifier.go (the
// notifier kinds), route.go (routes and label matchers), restart.go
// (restart rules and their quorum guard) and maintenance.go (maintenance
// windows). Defaults are applied while unmarshalling, as Prometheus does,
// so an explicit value (even 0) is what validation sees.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	tmpl "github.com/zkwatch/zkwatch/receiver/template"
)

// Config is the whole receiver configuration.
type Config struct {
	Global    Global     `yaml:"global"`
	Notifiers []Notifier `yaml:"notifiers"`
	Routes    []Route    `yaml:"routes"`
	Restarts  []Restart  `yaml:"restarts"`
	Storage   Storage    `yaml:"storage"`
	// Watchdog is the dead man's switch (watchdog.go).
	Watchdog Watchdog `yaml:"watchdog"`
	// Maintenance configures maintenance windows (maintenance.go).
	Maintenance Maintenance `yaml:"maintenance"`
	// Templates are files (glob patterns, relative to the configuration
	// file) defining named templates for notifier templates, as in
	// Alertmanager.
	Templates []string `yaml:"templates"`

	bearerToken string
	templates   *tmpl.Set
}

// UnmarshalYAML sets the defaults of sections the file may leave out.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	*c = Config{Global: DefaultGlobal, Storage: DefaultStorage, Watchdog: DefaultWatchdog, Maintenance: DefaultMaintenance}
	type plain Config
	return unmarshal((*plain)(c))
}

// Load parses and validates a configuration.
func Load(b []byte) (*Config, error) {
	return load(b, "")
}

// LoadFile reads and validates a configuration file. Relative file paths
// inside it are resolved against the file's directory.
func LoadFile(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := load(b, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func load(b []byte, dir string) (*Config, error) {
	// An empty document never reaches UnmarshalYAML.
	c := &Config{Global: DefaultGlobal, Storage: DefaultStorage, Watchdog: DefaultWatchdog, Maintenance: DefaultMaintenance}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("only one YAML document is allowed")
	}
	if err := c.validate(dir); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) validate(dir string) error {
	if err := c.Storage.validate(); err != nil {
		return err
	}
	if err := c.Maintenance.validate(); err != nil {
		return err
	}
	tok, err := c.Global.validate(dir)
	if err != nil {
		return err
	}
	c.bearerToken = tok
	if len(c.Templates) > 0 {
		globs := make([]string, len(c.Templates))
		for i, p := range c.Templates {
			if dir != "" && !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			globs[i] = p
		}
		if c.templates, err = tmpl.LoadFiles(globs); err != nil {
			return err
		}
	}
	names, err := c.validateNotifiers(dir)
	if err != nil {
		return err
	}
	for i := range c.Routes {
		if err := c.Routes[i].validate(names); err != nil {
			return fmt.Errorf("routes[%d]: %w", i, err)
		}
	}
	if err := c.Watchdog.validate(names); err != nil {
		return err
	}
	rules := map[string]bool{}
	for i := range c.Restarts {
		r := &c.Restarts[i]
		if r.Name == "" {
			return fmt.Errorf("restarts[%d]: missing name", i)
		}
		if rules[r.Name] {
			return fmt.Errorf("restarts[%d]: duplicate name %q", i, r.Name)
		}
		rules[r.Name] = true
		if err := r.validate(dir); err != nil {
			return fmt.Errorf("restart %q: %w", r.Name, err)
		}
	}
	return nil
}

// validateNotifiers checks every notifier and returns the set of names.
func (c *Config) validateNotifiers(dir string) (map[string]bool, error) {
	names := map[string]bool{}
	for i := range c.Notifiers {
		n := &c.Notifiers[i]
		if n.Name == "" {
			return nil, fmt.Errorf("notifiers[%d]: missing name", i)
		}
		if names[n.Name] {
			return nil, fmt.Errorf("notifiers[%d]: duplicate name %q", i, n.Name)
		}
		if strings.ContainsFunc(n.Name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return nil, fmt.Errorf("notifiers[%d]: name %q contains control characters", i, n.Name)
		}
		names[n.Name] = true
		if err := n.validate(dir, c.templates); err != nil {
			return nil, fmt.Errorf("notifier %q: %w", n.Name, err)
		}
	}
	return names, nil
}

// BearerToken returns the token webhook requests must carry, or "".
func (c *Config) BearerToken() string { return c.bearerToken }

// Route returns the names of the notifiers for an alert's labels, in
// configuration order without duplicates.
func (c *Config) Route(labels map[string]string) []string {
	var out []string
	seen := map[string]bool{}
	for i := range c.Routes {
		r := &c.Routes[i]
		if !r.matcher.Matches(labels) {
			continue
		}
		for _, n := range r.Notifiers {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
		if !r.Continue {
			break
		}
	}
	return out
}

// Notifier returns the notifier called name, or nil.
func (c *Config) Notifier(name string) *Notifier {
	for i := range c.Notifiers {
		if c.Notifiers[i].Name == name {
			return &c.Notifiers[i]
		}
	}
	return nil
}

// RestartRules returns the restart rules matching labels.
func (c *Config) RestartRules(labels map[string]string) []*Restart {
	var out []*Restart
	for i := range c.Restarts {
		if c.Restarts[i].matcher.Matches(labels) {
			out = append(out, &c.Restarts[i])
		}
	}
	return out
}

// RestartRule returns the rule called name, or nil.
func (c *Config) RestartRule(name string) *Restart {
	for i := range c.Restarts {
		if c.Restarts[i].Name == name {
			return &c.Restarts[i]
		}
	}
	return nil
}
