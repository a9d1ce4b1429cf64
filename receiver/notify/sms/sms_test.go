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
	"fmt"
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

// http_config reaches a gateway behind TLS signed by its own CA, with
// the bearer token it demands.
func TestHTTPConfigOwnCA(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer gw" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	ca := notifytest.CAFile(t, srv)
	send := func(httpConfig string) error {
		_, err := notifier(t, fmt.Sprintf("notifiers: [{name: sms, sms: {url: '%s/send', http_config: {%s}}}]", srv.URL, httpConfig)).
			Notify(context.Background(), alert())
		return err
	}
	if err := send(fmt.Sprintf("tls_config: {ca_file: %q}, authorization: {credentials: gw}", ca)); err != nil {
		t.Errorf("with the CA and token: %v", err)
	}
	if err := send(fmt.Sprintf("tls_config: {ca_file: %q}", ca)); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("without the token: %v", err)
	}
	if err := send("authorization: {credentials: gw}"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without the CA: %v", err)
	}
}

// A grouped message becomes one SMS: the count, the first summary, how
// many more, and the incident link kept whole.
func TestGroupedDefaultText(t *testing.T) {
	as := make([]tmpl.Alert, 30)
	for i := range as {
		as[i] = tmpl.Alert{IncidentID: fmt.Sprintf("inc%d", i), Kind: "firing", Alert: payload.Alert{Status: "firing", StartsAt: time.Now(),
			Labels:      payload.KV{"alertname": "ZooKeeperDown", "server": fmt.Sprintf("zk%d", i)},
			Annotations: payload.KV{"summary": strings.Repeat("s", 400)}}}
	}
	d := tmpl.New(tmpl.Message{Kind: "firing", Alerts: as}, tmpl.Options{ReceiverURL: "https://rcv.example"})
	s := DefaultText(d)
	if len(s) > MaxTextBytes || !strings.HasPrefix(s, "[FIRING:30] ZooKeeperDown") || !strings.HasSuffix(s, "... (29 more) https://rcv.example/incidents/inc0") {
		t.Errorf("%d bytes: %q", len(s), s)
	}
	d.Alerts[0].Annotations = payload.KV{"summary": "short"}
	if s := DefaultText(d); !strings.Contains(s, "short (29 more) https://rcv.example/incidents/inc0") {
		t.Errorf("%q", s)
	}
}
