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
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/receiver/payload"
)

// Issue 21, item 5: \r, other line breaks and control characters cannot
// end a value's line, and only http(s) link targets survive.
func TestMarkdownEscaping(t *testing.T) {
	for in, want := range map[string]string{
		"ok\r### ALL CLEAR":        `ok \#\#\# ALL CLEAR`,
		"ok\r\n\r\n### ALL CLEAR":  `ok    \#\#\# ALL CLEAR`,
		"a\u2028b\u0085c\u2029d":   "a b c d",
		"x\x00\x1b[31my\u202ez":    `x\[31myz`,
		"~~gone~~ `code` <b>|</b>": "\\~\\~gone\\~\\~ \\`code\\` \\<b\\>\\|\\</b\\>",
	} {
		if got := Markdown(in); got != want {
			t.Errorf("Markdown(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"https://runbooks.example/zk#down":       "https://runbooks.example/zk#down",
		"http://prom.example/graph?g0.expr=up)x": "http://prom.example/graph?g0.expr=up%29x",
		"javascript:alert(1)":                    "",
		" JavaScript:alert(1)":                   "",
		"data:text/html,<script>":                "",
		"//evil.example/x":                       "",
		"/relative":                              "",
		"http:evil":                              "",
	} {
		if got := MarkdownURL(in); got != want {
			t.Errorf("MarkdownURL(%q) = %q, want %q", in, got, want)
		}
	}
	if got := StripControl("line1\r\nline2\rx\u2028\x07\n", true); got != "line1\nline2x\n" {
		t.Errorf("StripControl keeping lines: %q", got)
	}
}

// The default DingTalk message leaves out a javascript: runbook link
// instead of rendering it.
func TestDefaultMarkdownDropsNonHTTPLinks(t *testing.T) {
	d := &Data{IncidentID: "i1", Kind: "firing", Alert: payload.Alert{
		Status: "firing", Labels: map[string]string{"alertname": "ZooKeeperMemberDown"},
		Annotations:  map[string]string{"runbook_url": "javascript:alert(1)"},
		GeneratorURL: "https://prom.example/graph", StartsAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}}
	md := d.DefaultMarkdown()
	if strings.Contains(md, "javascript") || strings.Contains(md, "[runbook]") || !strings.Contains(md, "[source](https://prom.example/graph)") {
		t.Errorf("links:\n%s", md)
	}
}
