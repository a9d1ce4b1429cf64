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
	"regexp"
)

// Route sends matching alerts to notifiers. Routes are tried in order; the
// first match wins unless it sets continue.
type Route struct {
	Match     map[string]string `yaml:"match"`
	MatchRE   map[string]string `yaml:"match_re"`
	Notifiers []string          `yaml:"notifiers"`
	Continue  bool              `yaml:"continue"`

	matcher Matcher
}

func (r *Route) validate(notifiers map[string]bool) error {
	var err error
	if r.matcher, err = NewMatcher(r.Match, r.MatchRE); err != nil {
		return err
	}
	if len(r.Notifiers) == 0 {
		return errors.New("no notifiers")
	}
	for _, n := range r.Notifiers {
		if !notifiers[n] {
			return fmt.Errorf("unknown notifier %q", n)
		}
	}
	return nil
}

// Matcher holds equality and regex label matchers.
type Matcher struct {
	eq map[string]string
	re map[string]*regexp.Regexp
}

// NewMatcher compiles match (equality) and match_re (fully anchored regex).
func NewMatcher(eq, re map[string]string) (Matcher, error) {
	m := Matcher{eq: eq, re: map[string]*regexp.Regexp{}}
	for k, v := range re {
		r, err := anchored(v)
		if err != nil {
			return m, fmt.Errorf("match_re %s: %w", k, err)
		}
		m.re[k] = r
	}
	return m, nil
}

// Matches tells whether every matcher holds; no matchers match everything.
func (m Matcher) Matches(labels map[string]string) bool {
	for k, v := range m.eq {
		if labels[k] != v {
			return false
		}
	}
	for k, r := range m.re {
		if !r.MatchString(labels[k]) {
			return false
		}
	}
	return true
}

func anchored(expr string) (*regexp.Regexp, error) {
	return regexp.Compile("^(?:" + expr + ")$")
}
