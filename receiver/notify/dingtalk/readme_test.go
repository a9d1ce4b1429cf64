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

package dingtalk

import (
	"context"
	"strings"
	"testing"
)

// TestReadmeMentionLabelAnnotationAndAll: mention_label reads "that label,
// or annotation", and at.all mentions everyone.
func TestReadmeMentionLabelAnnotationAndAll(t *testing.T) {
	r := newRobot(t, "s")
	n := newNotifier(t, "notifiers: [{name: d, dingtalk: {url: '"+r.srv.URL+"/?access_token=t', secret: s, "+
		"at: {all: true}, mention_label: pager}}]")
	d := grouped(2, 10)
	d.Alerts[0].Annotations["pager"] = "13600000000"
	d.Alerts[1].Labels["pager"] = "13500000000"
	d.Alerts[1].Annotations["pager"] = "13400000000" // the label wins
	if _, err := n.Notify(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	m := decodeAll(t, r.Bodies())[0]
	if m.At == nil || strings.Join(m.At.AtMobiles, ",") != "13600000000,13500000000" || !m.At.IsAtAll {
		t.Fatalf("at block %+v, want the annotation's and the label's mobiles and isAtAll", m.At)
	}
	for _, want := range []string{"@13600000000", "@13500000000"} {
		if !strings.Contains(m.Markdown.Text, want) {
			t.Errorf("text lacks %s:\n%s", want, m.Markdown.Text)
		}
	}
}
