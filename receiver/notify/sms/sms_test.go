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

package sms

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/receiver/notify/notifytest"
	"github.com/zkwatch/zkwatch/receiver/payload"
	tmpl "github.com/zkwatch/zkwatch/receiver/template"
)

type request struct {
	method, path, query, body, ctype, auth string
}

func gateway(t *testing.T, status int) (*httptest.Server, *[]request) {
	var got []request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, request{r.Method, r.URL.Path, r.URL.RawQuery, string(b), r.Header.Get("Content-Type"), r.Header.Get("Authorization")})
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func notifier(t *testing.T, yaml string) *Notifier {
	n, err := New(notifytest.Notifier(t, yaml).SMS, "sms")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func alert() *tmpl.Data {
	return &tmpl.Data{IncidentID: "i", Kind: "firing", Alert: payload.Alert{
		Status: "firing", Labels: map[string]string{"alertname": "ZooKeeperDown", "server": "zk1:2181"},
		Annotations: map[string]string{"summary": strings.Repeat("long ", 200)}, StartsAt: time.Now(),
	}}
}

func TestIssueExampleBody(t *testing.T) {
	srv, got := gateway(t, 200)
	n := notifier(t, `notifiers: [{name: sms, sms: {url: "`+srv.URL+`/send", method: POST, headers: {Authorization: "Basic eDp5"}, body: '{"to":"+10000000000","text":"{{ .Status }} {{ .Labels.alertname }}"}'}}]`)
	if _, err := n.Notify(context.Background(), alert()); err != nil {
		t.Fatal(err)
	}
	r := (*got)[0]
	if r.method != "POST" || r.path != "/send" || r.body != `{"to":"+10000000000","text":"firing ZooKeeperDown"}` ||
		r.ctype != "application/json" || r.auth != "Basic eDp5" {
		t.Errorf("request %+v", r)
	}
}

func TestGetWithURLTemplateAndDefaultText(t *testing.T) {
	srv, got := gateway(t, 200)
	n := notifier(t, `notifiers: [{name: sms, sms: {url: "`+srv.URL+`/send?to=1&msg={{ .Labels.alertname | urlquery }}", method: get}}]`)
	if _, err := n.Notify(context.Background(), alert()); err != nil {
		t.Fatal(err)
	}
	if r := (*got)[0]; r.method != "GET" || r.query != "to=1&msg=ZooKeeperDown" || r.body != "" {
		t.Errorf("request %+v", r)
	}
	if d := DefaultText(alert()); len(d) > MaxTextBytes || !strings.HasSuffix(d, "...") || !strings.HasPrefix(d, "[FIRING] ZooKeeperDown server=zk1:2181") {
		t.Errorf("default text %q", d)
	}
}

func TestRetryClasses(t *testing.T) {
	for status, wantRetry := range map[int]bool{500: true, 503: true, 429: true, 400: false, 404: false} {
		srv, _ := gateway(t, status)
		n := notifier(t, `notifiers: [{name: sms, sms: {url: "`+srv.URL+`/send?token=secret"}}]`)
		retry, err := n.Notify(context.Background(), alert())
		if err == nil || retry != wantRetry {
			t.Errorf("status %d: retry=%v err=%v", status, retry, err)
		}
	}
	// Transport errors are retried and do not leak the URL's token.
	srv, _ := gateway(t, 200)
	srv.Close()
	n := notifier(t, `notifiers: [{name: sms, sms: {url: "`+srv.URL+`/send?token=secret"}}]`)
	retry, err := n.Notify(context.Background(), alert())
	if err == nil || !retry || strings.Contains(err.Error(), "secret") {
		t.Errorf("down: retry=%v err=%v", retry, err)
	}
}
