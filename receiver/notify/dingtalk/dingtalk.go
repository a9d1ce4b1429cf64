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

// Package dingtalk sends markdown messages to a DingTalk custom robot,
// signing each request as DingTalk specifies, keeping messages under the
// robot's size limit and queueing them within its rate limit.
package dingtalk

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/internal/redact"
	"github.com/zkwatch/zkwatch/receiver/notify"
	tmpl "github.com/zkwatch/zkwatch/receiver/template"
)

// errTooFast is DingTalk's errcode for "send too fast"; it is retried.
const errTooFast = 130101

// Notifier is a DingTalk robot client.
type Notifier struct {
	conf   *config.DingTalkConfig
	client *http.Client
	lim    *limiter
	now    func() time.Time
}

// New returns a DingTalk notifier with an HTTP client built from the
// configuration's http_config. Notifiers for the same robot URL share one
// rate limiter.
func New(conf *config.DingTalkConfig, name string) (*Notifier, error) {
	client, err := notify.NewClient(conf.HTTPConfig, name)
	if err != nil {
		return nil, err
	}
	return &Notifier{conf: conf, client: client, lim: limiterFor(conf.URL, conf.MessagesPerMinute), now: time.Now}, nil
}

// Sign returns DingTalk's signature of a millisecond timestamp: base64 of
// HMAC-SHA256 over "timestamp\nsecret", keyed with the secret.
func Sign(timestampMillis int64, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d\n%s", timestampMillis, secret)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// SignedURL appends timestamp and sign query parameters to the robot URL.
func SignedURL(raw, secret string, now time.Time) (string, error) {
	if secret == "" {
		return raw, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	ts := now.UnixMilli()
	q := u.Query()
	q.Set("timestamp", strconv.FormatInt(ts, 10))
	q.Set("sign", Sign(ts, secret))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

type markdown struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

// At is the message's "at" block: who DingTalk notifies. Each mobile
// must also appear as @mobile in the text.
type At struct {
	AtMobiles []string `json:"atMobiles,omitempty"`
	AtUserIDs []string `json:"atUserIds,omitempty"`
	IsAtAll   bool     `json:"isAtAll,omitempty"`
}

type message struct {
	MsgType  string   `json:"msgtype"`
	Markdown markdown `json:"markdown"`
	At       *At      `json:"at,omitempty"`
}

func encode(title, text string, at *At) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(message{MsgType: "markdown", Markdown: markdown{Title: title, Text: text}, At: at})
	return b.Bytes(), err
}

// Body builds the JSON request body, truncating the text visibly (saying
// how many bytes are cut) so the whole body stays within maxBytes.
func Body(title, text string, at *At, maxBytes int) ([]byte, error) {
	b, err := encode(title, text, at)
	if err != nil || len(b) <= maxBytes {
		return b, err
	}
	// JSON escaping makes the size non-linear in the cut, so search for
	// the longest prefix that fits.
	var best []byte
	lo, hi := 0, len(text)
	for lo <= hi {
		mid := (lo + hi) / 2
		b, err := encode(title, notify.TruncateVisibly(text, mid), at)
		if err != nil {
			return nil, err
		}
		if len(b) <= maxBytes {
			best, lo = b, mid+1
		} else {
			hi = mid - 1
		}
	}
	if best == nil {
		return nil, fmt.Errorf("message title alone exceeds %d bytes", maxBytes)
	}
	return best, nil
}

// Wait blocks until the robot's rate limit allows one more message, and
// counts that message.
func (n *Notifier) Wait(ctx context.Context) error { return n.lim.wait(ctx, n.now) }

// Notify sends the next part of the message: all of it when it fits the
// robot's size limit, else the part after the d.Sent already delivered.
func (n *Notifier) Notify(ctx context.Context, d *tmpl.Data) (bool, error) {
	parts, err := n.Parts(d)
	if err != nil {
		return false, err
	}
	if d.Sent >= len(parts) {
		d.More = false
		return false, nil
	}
	if retry, err := n.send(ctx, parts[d.Sent]); err != nil {
		return retry, err
	}
	d.Sent++
	d.More = d.Sent < len(parts)
	return false, nil
}

// Parts renders the message as request bodies: one, or as many as the
// size limit requires, each but the last ending with how many alerts
// follow, each @mentioning who its alerts call for.
func (n *Notifier) Parts(d *tmpl.Data) ([][]byte, error) {
	render := func(p *tmpl.Data, more int) (string, string, *At) {
		// Whatever a template forgot to escape, no \r or other control
		// character reaches the robot.
		title := tmpl.StripControl(tmpl.RenderText(n.conf.TitleTemplate(), p, p.Subject()), false)
		text := tmpl.StripControl(tmpl.RenderText(n.conf.TextTemplate(), p, p.DefaultMarkdown()), true)
		at := n.mentions(p)
		text += mentionText(at)
		if more > 0 {
			text += notify.MoreAlerts(more)
		}
		return title, text, at
	}
	total := len(d.List())
	ranges, err := notify.Split(total, func(from, to int) (bool, error) {
		title, text, at := render(d.Part(from, to), total-to)
		b, err := encode(title, text, at)
		return len(b) <= n.conf.MaxBytes, err
	})
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(ranges))
	for i, r := range ranges {
		title, text, at := render(d.Part(r.From, r.To), total-r.To)
		if len(ranges) > 1 {
			title += fmt.Sprintf(" (%d/%d)", i+1, len(ranges))
		}
		if out[i], err = Body(title, text, at, n.conf.MaxBytes); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// mentions is the at block for a message: the configured mobiles, user
// ids and all, plus the mobiles the alerts' mention_label holds.
func (n *Notifier) mentions(d *tmpl.Data) *At {
	c := n.conf.At
	at := &At{AtUserIDs: c.UserIDs, IsAtAll: c.All}
	seen := map[string]bool{}
	add := func(m string) {
		if m = strings.TrimSpace(m); config.IsMobile(m) && !seen[m] {
			seen[m] = true
			at.AtMobiles = append(at.AtMobiles, m)
		}
	}
	for _, m := range c.Mobiles {
		add(m)
	}
	if l := n.conf.MentionLabel; l != "" {
		for _, a := range d.List() {
			v, ok := a.Labels[l]
			if !ok {
				v = a.Annotations[l]
			}
			for _, m := range strings.Split(v, ",") {
				add(m)
			}
		}
	}
	if len(at.AtMobiles) == 0 && len(at.AtUserIDs) == 0 && !at.IsAtAll {
		return nil
	}
	return at
}

// mentionText is the @mobile and @user line DingTalk wants in the text
// for every entry of the at block.
func mentionText(at *At) string {
	if at == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n\n")
	for _, m := range append(append([]string{}, at.AtMobiles...), at.AtUserIDs...) {
		fmt.Fprintf(&b, "@%s ", m)
	}
	if at.IsAtAll {
		b.WriteString("@all")
	}
	return strings.TrimRight(b.String(), " ")
}

// send posts one signed body and classifies DingTalk's answer.
func (n *Notifier) send(ctx context.Context, body []byte) (bool, error) {
	u, err := SignedURL(n.conf.URL, string(n.conf.Secret), n.now())
	if err != nil {
		return false, fmt.Errorf("url: %v", redact.URL(n.conf.URL))
	}
	resp, err := notify.Do(ctx, n.client, http.MethodPost, u, http.Header{"Content-Type": {"application/json"}}, body)
	if err != nil {
		return true, err
	}
	defer notify.Drain(resp)
	var r notify.Retrier
	if retry, err := r.Check(resp.StatusCode, resp.Body); err != nil {
		return retry, err
	}
	var ans struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&ans); err != nil {
		return true, fmt.Errorf("unreadable DingTalk answer: %v", err)
	}
	if ans.ErrCode != 0 {
		return ans.ErrCode == errTooFast, fmt.Errorf("DingTalk errcode %d: %s", ans.ErrCode, ans.ErrMsg)
	}
	return false, nil
}

// limiter allows at most n messages in any minute.
type limiter struct {
	mu   sync.Mutex
	n    int
	sent []time.Time
}

var (
	limitersMu sync.Mutex
	limiters   = map[string]*limiter{}
)

func limiterFor(robot string, perMinute int) *limiter {
	limitersMu.Lock()
	defer limitersMu.Unlock()
	l := limiters[robot]
	if l == nil {
		l = &limiter{}
		limiters[robot] = l
	}
	l.mu.Lock()
	l.n = perMinute
	l.mu.Unlock()
	return l
}

func (l *limiter) wait(ctx context.Context, now func() time.Time) error {
	for {
		l.mu.Lock()
		t := now()
		for len(l.sent) > 0 && t.Sub(l.sent[0]) >= time.Minute {
			l.sent = l.sent[1:]
		}
		var d time.Duration
		if len(l.sent) >= l.n {
			d = l.sent[0].Add(time.Minute).Sub(t)
		} else {
			// Reserved at once: deliveries run in parallel.
			l.sent = append(l.sent, t)
		}
		l.mu.Unlock()
		if d <= 0 {
			return nil
		}
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
}
