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

// Package template holds everything about the receiver's message
// templates: the Data they see, the default texts, parsing with the
// shared functions, and rendering.
package template

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"io"
	"os"
	"path/filepath"
	"text/template"
	"time"

	"github.com/zkwatch/zkwatch/receiver/payload"
)

// Render executes t over d, or returns fallback when t is nil.
func Render(t *template.Template, d *Data, fallback string) (string, error) {
	if t == nil {
		return fallback, nil
	}
	return execute(t.Execute, d)
}

// execute runs a template's Execute over d into a string.
func execute(exec func(io.Writer, any) error, d *Data) (string, error) {
	var b bytes.Buffer
	if err := exec(&b, d); err != nil {
		return "", err
	}
	return b.String(), nil
}

// RenderText executes t over d for a message text. When execution fails
// the message still goes out with fallback (the default text) and the
// error is kept in d.TemplateErrors() for the outbox to log: a message is
// never dropped for its template.
func RenderText(t *template.Template, d *Data, fallback string) string {
	s, err := Render(t, d, fallback)
	if err != nil {
		d.templateFailed(err)
		return fallback
	}
	return s
}

// RenderHTML executes an HTML template over d, or returns fallback when
// t is nil.
func RenderHTML(t *htmltemplate.Template, d *Data, fallback string) (string, error) {
	if t == nil {
		return fallback, nil
	}
	return execute(t.Execute, d)
}

// RenderTextHTML is RenderText for an HTML part; when the template fails
// the part is left out, and the text part carries the message.
func RenderTextHTML(t *htmltemplate.Template, d *Data) string {
	s, err := RenderHTML(t, d, "")
	if err != nil {
		d.templateFailed(err)
		return ""
	}
	return s
}

// Parse parses a text/template with Funcs; an empty text yields nil.
// Errors are configuration errors: they surface at load time.
func Parse(name, text string) (*template.Template, error) {
	if text == "" {
		return nil, nil
	}
	return parseChecked(template.New(name).Option("missingkey=zero").Funcs(Funcs), name, text)
}

// ParseHTML parses an html/template (contextual escaping, for e-mail)
// with Funcs; an empty text yields nil.
func ParseHTML(name, text string) (*htmltemplate.Template, error) {
	if text == "" {
		return nil, nil
	}
	return parseChecked(htmltemplate.New(name).Option("missingkey=zero").Funcs(Funcs), name, text)
}

// goTemplate is what text/template and html/template have in common.
type goTemplate[T any] interface {
	New(name string) T
	Clone() (T, error)
	Parse(text string) (T, error)
	Execute(w io.Writer, data any) error
}

// parseChecked parses text into t and tries the result on sample messages.
func parseChecked[T goTemplate[T]](t T, name, text string) (T, error) {
	parsed, err := t.Parse(text)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("template %s: %w", name, err)
	}
	return parsed, tryOnSamples(name, parsed.Execute)
}

// parseInSet parses text as a new template next to the set's templates.
func parseInSet[T goTemplate[T]](set T, name, text string) (T, error) {
	base, err := set.Clone()
	if err != nil {
		var zero T
		return zero, err
	}
	return parseChecked(base.New(name), name, text)
}

// tryOnSamples executes a template on a one-alert and a grouped sample
// message, so that errors only execution shows (a field Data lacks, a
// function called with the wrong types) are configuration errors.
func tryOnSamples(name string, exec func(io.Writer, any) error) error {
	for _, d := range []*Data{Sample(1), Sample(3)} {
		if err := exec(io.Discard, d); err != nil {
			return fmt.Errorf("template %s fails on a sample %d-alert message: %w", name, len(d.Alerts), err)
		}
	}
	return nil
}

// Sample is a message of n alerts (the first firing, the others
// resolved) with every field set, for checking templates.
func Sample(n int) *Data {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	as := make([]Alert, n)
	for i := range as {
		a := payload.Alert{Status: payload.StatusResolved, StartsAt: start, EndsAt: start.Add(time.Hour),
			Labels: payload.KV{"alertname": "ZooKeeperDown", "group": "zk", "server": fmt.Sprintf("10.0.0.%d:2181", i+1)},
			Annotations: payload.KV{"summary": "ZooKeeper is down", "description": "No answer to ruok.",
				"runbook_url": "https://runbooks.example/zk"},
			GeneratorURL: "https://prometheus.example/graph?g0.expr=up", Fingerprint: fmt.Sprintf("%016x", i)}
		if i == 0 {
			a.Status, a.EndsAt = payload.StatusFiring, time.Time{}
		}
		as[i] = Alert{Alert: a, Kind: a.Status, IncidentID: a.IncidentID()}
	}
	return New(Message{Kind: "firing", Text: "Restart member succeeded.", Receiver: "zkwatch",
		ExternalURL: "https://alertmanager.example", GroupLabels: map[string]string{"group": "zk"}, Alerts: as},
		Options{ReceiverURL: "https://receiver.example"})
}

// Set holds the named templates defined in the files of the
// configuration's templates: list, which notifier templates call with
// {{ template "name" . }} as in Alertmanager. A nil Set has none.
type Set struct {
	text *template.Template
	html *htmltemplate.Template
}

// LoadFiles parses the files matching each glob pattern into a Set.
func LoadFiles(patterns []string) (*Set, error) {
	s := &Set{text: template.New("").Option("missingkey=zero").Funcs(Funcs),
		html: htmltemplate.New("").Option("missingkey=zero").Funcs(Funcs)}
	for _, p := range patterns {
		files, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("templates: no file matches %q", p)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("templates: %w", err)
			}
			if _, err := s.text.New(f).Parse(string(b)); err != nil {
				return nil, fmt.Errorf("templates: %w", err)
			}
			if _, err := s.html.New(f).Parse(string(b)); err != nil {
				return nil, fmt.Errorf("templates: %w", err)
			}
		}
	}
	return s, nil
}

// Parse parses a text template that may call the Set's templates.
func (s *Set) Parse(name, text string) (*template.Template, error) {
	if s == nil || text == "" {
		return Parse(name, text)
	}
	return parseInSet(s.text, name, text)
}

// ParseHTML parses an HTML template that may call the Set's templates.
func (s *Set) ParseHTML(name, text string) (*htmltemplate.Template, error) {
	if s == nil || text == "" {
		return ParseHTML(name, text)
	}
	return parseInSet(s.html, name, text)
}
