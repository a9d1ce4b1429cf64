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

// Package sms sends short texts through an HTTP SMS gateway whose method,
// URL, headers and body are configured, the URL and body as templates.
package sms

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/notify"
	tmpl "github.com/zkwatch/zkwatch/receiver/template"
)

// MaxTextBytes keeps the default text within a few SMS segments.
const MaxTextBytes = 300

// Notifier is an HTTP SMS gateway client.
type Notifier struct {
	conf   *config.SMSConfig
	client *http.Client
}

// New returns an SMS notifier with an HTTP client built from the
// configuration's http_config.
func New(conf *config.SMSConfig, name string) (*Notifier, error) {
	client, err := notify.NewClient(conf.HTTPConfig, name)
	if err != nil {
		return nil, err
	}
	return &Notifier{conf: conf, client: client}, nil
}

// DefaultText is the short message used without a body template: the
// subject, the (first) alert's maintenance window, the summary (of the first alert and how many more, for a
// grouped message) and the incident link.
func DefaultText(d *tmpl.Data) string {
	s := d.Subject()
	as := d.List()
	if m := as[0].InMaintenance(); m != "" {
		s += ": " + strings.TrimSuffix(m, ".")
	}
	if d.Text != "" {
		s += ": " + d.Text
	} else if sum := as[0].Annotations["summary"]; sum != "" {
		s += ": " + sum
	}
	// How many more alerts and the (first) incident's link are worth more
	// than the end of the summary.
	var tail string
	if len(as) > 1 {
		tail = fmt.Sprintf(" (%d more)", len(as)-1)
	}
	if link := as[0].IncidentURL; link != "" {
		tail += " " + link
	}
	if len(tail) > MaxTextBytes/2 {
		return notify.Truncate(s+tail, MaxTextBytes, "...")
	}
	return notify.Truncate(s, MaxTextBytes-len(tail), "...") + tail
}

// Notify sends one text.
func (n *Notifier) Notify(ctx context.Context, d *tmpl.Data) (bool, error) {
	u, err := tmpl.Render(n.conf.URLTemplate(), d, n.conf.URL)
	if err != nil {
		return false, fmt.Errorf("url template: %w", err)
	}
	body := tmpl.RenderText(n.conf.BodyTemplate(), d, DefaultText(d))
	h := http.Header{}
	switch {
	case n.conf.Body == "":
		h.Set("Content-Type", "text/plain; charset=utf-8")
	case tmpl.IsJSON(n.conf.Body):
		// Values are escaped; a value used outside a string can still
		// break the document, which is then not sent.
		if !json.Valid([]byte(body)) {
			return false, fmt.Errorf("body template rendered invalid JSON (a value used outside a JSON string?): %.200q", body)
		}
		h.Set("Content-Type", "application/json")
	case n.conf.FormBody():
		// Values are query-escaped: a label cannot add "&to=".
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range n.conf.Headers {
		h.Set(k, v)
	}
	var b []byte
	if n.conf.Method != http.MethodGet {
		b = []byte(body)
	}
	return notify.PostAndCheck(ctx, n.client, n.conf.Method, u, h, b)
}
