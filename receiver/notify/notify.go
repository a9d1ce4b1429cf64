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

// Package notify holds what every notifier shares: the Notifier interface,
// the message data and default texts, and the Retrier that classifies HTTP
// answers. The retry loop itself lives in the receiver's outbox.
package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/payload"
)

// Notifier delivers one message per call and reports whether a failure is
// worth retrying. It never retries by itself.
type Notifier interface {
	Notify(ctx context.Context, d *Data) (retry bool, err error)
}

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

// Retrier classifies HTTP answers: 2xx succeed, 5xx, 429 and RetryCodes
// are worth retrying, everything else fails for good.
type Retrier struct {
	RetryCodes []int
}

// Check returns (retry, err) for a status code and response body.
func (r *Retrier) Check(status int, body io.Reader) (bool, error) {
	if status/100 == 2 {
		return false, nil
	}
	retry := status/100 == 5 || status == http.StatusTooManyRequests
	for _, c := range r.RetryCodes {
		if c == status {
			retry = true
		}
	}
	msg := fmt.Sprintf("unexpected status code %d", status)
	if body != nil {
		if b, _ := io.ReadAll(io.LimitReader(body, 512)); len(b) > 0 {
			msg += ": " + strings.TrimSpace(string(b))
		}
	}
	return retry, errors.New(msg)
}

// Drain reads the rest of a response body and closes it, so the
// connection can be reused.
func Drain(r *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	r.Body.Close()
}

// Client is the HTTP client notifiers use; tests may replace it.
var Client = &http.Client{Timeout: 60 * time.Second}

// Do sends an HTTP request. Transport errors are retryable and never
// carry the URL (which may hold a token).
func Do(ctx context.Context, method, rawURL string, header http.Header, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building request for %s: %w", config.RedactURL(rawURL), redact(err))
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, config.RedactURL(rawURL), redact(err))
	}
	return resp, nil
}

func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// PostAndCheck sends a request and classifies the answer with a default
// Retrier.
func PostAndCheck(ctx context.Context, method, rawURL string, header http.Header, body []byte) (bool, error) {
	resp, err := Do(ctx, method, rawURL, header, body)
	if err != nil {
		return true, err
	}
	defer Drain(resp)
	var r Retrier
	return r.Check(resp.StatusCode, resp.Body)
}

// Truncate cuts s to at most max bytes on a UTF-8 boundary, ending it with
// marker so the reader sees that something was cut.
func Truncate(s string, max int, marker string) string {
	if len(s) <= max {
		return s
	}
	cut := max - len(marker)
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + marker
}

// Waiter is implemented by notifiers with a rate limit: the outbox calls
// Wait before each attempt, outside the attempt's timeout, so that queued
// messages wait their turn instead of failing.
type Waiter interface {
	Wait(ctx context.Context) error
}
