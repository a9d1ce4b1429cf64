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
	"text/template"
	"text/template/parse"
)

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

// RenderHTML executes an HTML template over d, or returns fallback when
// t is nil.
func RenderHTML(t *htmltemplate.Template, d *Data, fallback string) (string, error) {
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
// Errors are configuration errors: they surface at load time.
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

// ParseHTML parses an html/template (contextual escaping, for e-mail)
// with Funcs; an empty text yields nil.
func ParseHTML(name, text string) (*htmltemplate.Template, error) {
	if text == "" {
		return nil, nil
	}
	t, err := htmltemplate.New(name).Option("missingkey=zero").Funcs(htmltemplate.FuncMap(Funcs)).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	return t, nil
}
