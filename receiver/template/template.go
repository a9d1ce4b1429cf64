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
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/zkwatch/zkwatch/receiver/payload"
)

// Data is what templates see: the alert's fields (.Status, .Labels,
// .Annotations, .StartsAt, .EndsAt, .GeneratorURL, .Fingerprint) plus the
// incident id, the kind of message and, for restart reports, .Text.
type Data struct {
	payload.Alert
	IncidentID string
	Kind       string
	Text       string
}

// Subject is a one-line summary such as
// "[FIRING] ZooKeeperDown server=127.0.0.1:2181".
func (d *Data) Subject() string {
	state := strings.ToUpper(d.Status)
	if d.Kind == "restart" {
		state = "RESTART"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] %s", state, d.Labels["alertname"])
	for _, k := range []string{"server", "group", "member", "instance"} {
		if v, ok := d.Labels[k]; ok {
			fmt.Fprintf(&b, " %s=%s", k, v)
		}
	}
	return b.String()
}

// DefaultText is the plain-text body used when a notifier has no template.
func (d *Data) DefaultText() string {
	var b strings.Builder
	b.WriteString(d.Subject())
	b.WriteString("\n")
	if d.Text != "" {
		b.WriteString(d.Text)
		b.WriteString("\n")
	}
	if s := d.Annotations["summary"]; s != "" {
		fmt.Fprintf(&b, "Summary: %s\n", s)
	}
	if s := d.Annotations["description"]; s != "" {
		fmt.Fprintf(&b, "Description: %s\n", s)
	}
	fmt.Fprintf(&b, "Started: %s\n", d.StartsAt.UTC().Format(time.RFC3339))
	if d.Resolved() && !d.EndsAt.IsZero() {
		fmt.Fprintf(&b, "Ended: %s\n", d.EndsAt.UTC().Format(time.RFC3339))
	}
	b.WriteString("Labels:\n")
	for _, k := range sortedKeys(d.Labels) {
		fmt.Fprintf(&b, "  %s = %s\n", k, d.Labels[k])
	}
	if d.GeneratorURL != "" {
		fmt.Fprintf(&b, "Source: %s\n", d.GeneratorURL)
	}
	fmt.Fprintf(&b, "Incident: %s\n", d.IncidentID)
	return b.String()
}

// DefaultMarkdown is DefaultText as markdown, for DingTalk.
func (d *Data) DefaultMarkdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", d.Subject())
	if d.Text != "" {
		fmt.Fprintf(&b, "**%s**\n\n", d.Text)
	}
	for _, k := range []string{"summary", "description"} {
		if s := d.Annotations[k]; s != "" {
			fmt.Fprintf(&b, "- %s: %s\n", k, s)
		}
	}
	fmt.Fprintf(&b, "- started: %s\n", d.StartsAt.UTC().Format(time.RFC3339))
	for _, k := range sortedKeys(d.Labels) {
		fmt.Fprintf(&b, "- `%s` = %s\n", k, d.Labels[k])
	}
	fmt.Fprintf(&b, "- incident: %s\n", d.IncidentID)
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Render executes t over d, or returns fallback when t is nil.
func Render(t *template.Template, d *Data, fallback string) (string, error) {
	if t == nil {
		return fallback, nil
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return "", err
	}
	return b.String(), nil
}

// UsedLabels lists the names used as .Labels.NAME in a template.
func UsedLabels(t *template.Template) []string {
	var out []string
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.FieldNode:
			if len(n.Ident) >= 2 && n.Ident[0] == "Labels" {
				out = append(out, n.Ident[1])
			}
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		}
	}
	if t.Tree != nil {
		walk(t.Root)
	}
	return out
}

// Parse parses a text/template with Funcs; an empty text yields nil.
func Parse(name, text string) (*template.Template, error) {
	if text == "" {
		return nil, nil
	}
	t, err := template.New(name).Option("missingkey=zero").Funcs(Funcs).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	return t, nil
}

// Funcs are the helper functions available in every template.
var Funcs = template.FuncMap{
	"toUpper": strings.ToUpper,
	"toLower": strings.ToLower,
	"join":    strings.Join,
	"since":   func(t time.Time) time.Duration { return time.Since(t).Round(time.Second) },
	// json quotes a value for use inside a JSON body template.
	"json": func(s string) string { b, _ := json.Marshal(s); return string(b) },
}
