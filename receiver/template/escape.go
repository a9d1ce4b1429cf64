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

package template

import (
	"encoding/json"
	"fmt"
	"mime"
	"regexp"
	"strings"
	"text/template"
	"text/template/parse"
)

// Escapers, by the name templates know them under: each makes a value
// safe for one context, as html/template does for HTML.
const (
	// JSONStringFunc escapes a value for use inside a JSON string
	// literal, without adding quotes.
	JSONStringFunc = "jsonString"
	// JSONFunc quotes a value as a whole JSON string.
	JSONFunc = "json"
	// URLQueryFunc is text/template's builtin query escaper.
	URLQueryFunc = "urlquery"
)

// jsonString prints v as the template would, then escapes it.
func jsonString(v any) string {
	b, _ := json.Marshal(fmt.Sprint(v))
	return string(b[1 : len(b)-1])
}

// IsJSON tells whether a body template produces JSON (it starts with
// '{' or '['), so its values must be escaped for JSON.
func IsJSON(text string) bool {
	s := strings.TrimSpace(text)
	return strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")
}

// formStart matches a body that starts as key=value.
var formStart = regexp.MustCompile(`^[A-Za-z0-9_.~%\[\]-]+=`)

// IsForm tells whether a body template produces a form-encoded body
// (key=value&...), so its values must be query-escaped: the Content-Type
// header says application/x-www-form-urlencoded, or, when no Content-Type
// is set, the text starts with key= .
func IsForm(text, contentType string) bool {
	if contentType != "" {
		mt, _, err := mime.ParseMediaType(contentType)
		return err == nil && mt == "application/x-www-form-urlencoded"
	}
	return !IsJSON(text) && formStart.MatchString(strings.TrimSpace(text))
}

// EscapeJSON makes every value t prints JSON-escaped, by construction:
// each action gets a final jsonString, unless it already ends in json
// (which quotes). A label value can then never close a string and add
// keys; used outside a string it yields invalid JSON, which notifiers
// refuse to send.
func EscapeJSON(t *template.Template) error {
	return escapeActions(t, JSONStringFunc, JSONFunc, JSONStringFunc)
}

// EscapeURL makes every value t prints query-escaped (urlquery), unless
// the action already ends in urlquery: for URL templates and form bodies.
func EscapeURL(t *template.Template) error {
	return escapeActions(t, URLQueryFunc, URLQueryFunc)
}

// escapeActions appends the function fn to every printing action of t
// whose pipeline does not already end in one of the done functions. It
// refuses {{ template }} calls, whose output it cannot escape (their trees
// are shared with other templates).
func escapeActions(t *template.Template, fn string, done ...string) error {
	if t == nil || t.Tree == nil {
		return nil
	}
	if err := escapeList(t.Root, fn, done); err != nil {
		return fmt.Errorf("template %s: %w", t.Name(), err)
	}
	return nil
}

func escapeList(l *parse.ListNode, fn string, done []string) error {
	if l == nil {
		return nil
	}
	for _, n := range l.Nodes {
		var lists []*parse.ListNode
		switch n := n.(type) {
		case *parse.ActionNode:
			escapePipe(n.Pipe, fn, done)
		case *parse.TemplateNode:
			return fmt.Errorf("%s: its output cannot be escaped here; use the values directly", n)
		case *parse.IfNode:
			lists = []*parse.ListNode{n.List, n.ElseList}
		case *parse.RangeNode:
			lists = []*parse.ListNode{n.List, n.ElseList}
		case *parse.WithNode:
			lists = []*parse.ListNode{n.List, n.ElseList}
		}
		for _, l := range lists {
			if err := escapeList(l, fn, done); err != nil {
				return err
			}
		}
	}
	return nil
}

func escapePipe(p *parse.PipeNode, fn string, done []string) {
	if len(p.Decl) > 0 || p.IsAssign || len(p.Cmds) == 0 {
		return // assignments print nothing
	}
	last := p.Cmds[len(p.Cmds)-1]
	if id, ok := last.Args[0].(*parse.IdentifierNode); ok {
		for _, d := range done {
			if id.Ident == d {
				return
			}
		}
	}
	p.Cmds = append(p.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: p.Pos,
		Args: []parse.Node{parse.NewIdentifier(fn).SetTree(nil).SetPos(p.Pos)}})
}
