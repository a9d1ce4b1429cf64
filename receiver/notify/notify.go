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
	"strings"
	"time"
	"unicode/utf8"

	commoncfg "github.com/prometheus/common/config"

	"github.com/zkwatch/zkwatch/receiver/internal/redact"
	tmpl "github.com/zkwatch/zkwatch/receiver/template"
)

// Notifier delivers one message per call and reports whether a failure is
// worth retrying. It never retries by itself.
type Notifier interface {
	Notify(ctx context.Context, d *tmpl.Data) (retry bool, err error)
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

// ClientTimeout bounds a whole HTTP exchange beyond notify_timeout, which
// bounds the attempt through its context.
const ClientTimeout = 60 * time.Second

// NewClient builds a notifier's HTTP client from its http_config, as
// Alertmanager does; name identifies the notifier in the client's errors.
func NewClient(cfg commoncfg.HTTPClientConfig, name string) (*http.Client, error) {
	c, err := commoncfg.NewClientFromConfig(cfg, name)
	if err != nil {
		return nil, err
	}
	c.Timeout = ClientTimeout
	return c, nil
}

// Do sends an HTTP request. Transport errors are retryable and never
// carry the URL (which may hold a token).
func Do(ctx context.Context, client *http.Client, method, rawURL string, header http.Header, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building request for %s: %w", redact.URL(rawURL), redact.Error(err))
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, redact.URL(rawURL), redact.Error(err))
	}
	return resp, nil
}

// PostAndCheck sends a request and classifies the answer with a default
// Retrier.
func PostAndCheck(ctx context.Context, client *http.Client, method, rawURL string, header http.Header, body []byte) (bool, error) {
	resp, err := Do(ctx, client, method, rawURL, header, body)
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
	return s[:runeCut(s, max-len(marker))] + marker
}

// runeCut is the largest prefix length of s up to n (at least 0) that
// ends on a UTF-8 boundary.
func runeCut(s string, n int) int {
	if n < 0 {
		return 0
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}

// Waiter is implemented by notifiers with a rate limit: the outbox calls
// Wait before each attempt, outside the attempt's timeout, so that queued
// messages wait their turn instead of failing.
type Waiter interface {
	Wait(ctx context.Context) error
}
