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
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/zkwatch/zkwatch/receiver/notify/notifytest"
	tmpl "github.com/zkwatch/zkwatch/receiver/template"
)

// documentedSign follows DingTalk's published recipe step by step:
// stringToSign = timestamp + "\n" + secret; HmacSHA256 keyed with the
// secret; Base64; then URL-encode for the query string.
func documentedSign(timestamp, secret string) string {
	stringToSign := timestamp + "\n" + secret
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(stringToSign))
	return url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}

func TestSignMatchesDocumentedAlgorithm(t *testing.T) {
	// A fixed vector computed with the recipe above.
	if got, want := url.QueryEscape(Sign(1577262236757, "SECabc")), documentedSign("1577262236757", "SECabc"); got != want {
		t.Fatalf("sign %q, want %q", got, want)
	}
	u, err := SignedURL("http://robot/send?access_token=t", "SECabc", time.UnixMilli(1577262236757))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u, "sign="+documentedSign("1577262236757", "SECabc")) || !strings.Contains(u, "access_token=t") {
		t.Errorf("signed url %s", u)
	}
}

type robot struct {
	mu     sync.Mutex
	bodies [][]byte
	srv    *httptest.Server
	answer string
}

func newRobot(t *testing.T, secret string) *robot {
	r := &robot{answer: `{"errcode":0,"errmsg":"ok"}`}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		q := req.URL.Query()
		ts := q.Get("timestamp")
		ms, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || time.Since(time.UnixMilli(ms)).Abs() > time.Hour {
			http.Error(w, "bad timestamp", http.StatusBadRequest)
			return
		}
		// q.Get has decoded the sign once; compare in encoded form.
		if url.QueryEscape(q.Get("sign")) != documentedSign(ts, secret) || q.Get("access_token") != "t" {
			_, _ = w.Write([]byte(`{"errcode":310000,"errmsg":"sign not match"}`))
			return
		}
		var b json.RawMessage
		if err := json.NewDecoder(req.Body).Decode(&b); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.bodies = append(r.bodies, b)
		ans := r.answer
		r.mu.Unlock()
		_, _ = w.Write([]byte(ans))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func testData() *tmpl.Data {
	return notifytest.Firing("abc", "127.0.0.1:2181", map[string]string{"summary": "down"})
}

func newNotifier(t *testing.T, yaml string) *Notifier {
	n, err := New(notifytest.Notifier(t, yaml).DingTalk, "d")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNotifySigned(t *testing.T) {
	r := newRobot(t, "SECabc")
	n := newNotifier(t, "notifiers: [{name: d, dingtalk: {url: '"+r.srv.URL+"/robot/send?access_token=t', secret: SECabc}}]")
	if retry, err := n.Notify(context.Background(), testData()); err != nil {
		t.Fatalf("retry=%v err=%v", retry, err)
	}
	var m message
	if err := json.Unmarshal(r.bodies[0], &m); err != nil {
		t.Fatal(err)
	}
	if m.MsgType != "markdown" || !strings.Contains(m.Markdown.Title, "[FIRING] ZooKeeperDown") || !strings.Contains(m.Markdown.Text, "server") {
		t.Errorf("message %+v", m)
	}
	// A wrong secret is a permanent failure; "send too fast" is retried.
	bad := newNotifier(t, "notifiers: [{name: d, dingtalk: {url: '"+r.srv.URL+"/robot/send?access_token=t', secret: wrong}}]")
	if retry, err := bad.Notify(context.Background(), testData()); err == nil || retry || !strings.Contains(err.Error(), "310000") {
		t.Errorf("wrong secret: retry=%v err=%v", retry, err)
	}
	r.answer = `{"errcode":130101,"errmsg":"send too fast"}`
	if retry, err := n.Notify(context.Background(), testData()); err == nil || !retry {
		t.Errorf("too fast: retry=%v err=%v", retry, err)
	}
}

func TestLongMessageTruncatedVisibly(t *testing.T) {
	r := newRobot(t, "s")
	n := newNotifier(t, "notifiers: [{name: d, dingtalk: {url: '"+r.srv.URL+"/?access_token=t', secret: s, text: '{{ .Annotations.summary }}'}}]")
	d := testData()
	d.Annotations["summary"] = strings.Repeat("é\"<", 20000)
	if _, err := n.Notify(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	body := r.bodies[0]
	if len(body) > 20000 {
		t.Errorf("body is %d bytes", len(body))
	}
	var m message
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(m.Markdown.Text, "(message truncated; see the incident page for the rest)") || !utf8.ValidString(m.Markdown.Text) {
		t.Errorf("text tail %q", m.Markdown.Text[len(m.Markdown.Text)-80:])
	}
	if len(body) < 19000 {
		t.Errorf("truncated too much: %d bytes", len(body))
	}
}

func TestRateLimitQueues(t *testing.T) {
	r := newRobot(t, "s")
	n := newNotifier(t, "notifiers: [{name: d, dingtalk: {url: '"+r.srv.URL+"/rl?access_token=t', secret: s, messages_per_minute: 2}}]")
	now := time.Now()
	n.now = func() time.Time { return now }
	for range 2 {
		if err := n.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Notify(context.Background(), testData()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := n.Wait(ctx); err == nil {
		t.Fatal("third message in the same minute was not held back")
	}
	now = now.Add(61 * time.Second)
	if err := n.Wait(context.Background()); err != nil {
		t.Fatalf("after a minute: %v", err)
	}
}
