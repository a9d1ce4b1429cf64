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

package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/receiver/notify/notifytest"
	"github.com/zkwatch/zkwatch/receiver/payload"
	tmpl "github.com/zkwatch/zkwatch/receiver/template"
)

func TestNotify(t *testing.T) {
	var got Message
	var hdr http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr = r.Header
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	n, err := New(notifytest.Notifier(t, `notifiers: [{name: w, webhook: {url: "`+srv.URL+`", headers: {X-Team: zk}, bearer_token: tok}}]`).Webhook, "w")
	if err != nil {
		t.Fatal(err)
	}
	d := &tmpl.Data{IncidentID: "i1", Kind: "firing", Alert: payload.Alert{Status: "firing",
		Labels: map[string]string{"alertname": "A"}, StartsAt: time.Now()}}
	if retry, err := n.Notify(context.Background(), d); err != nil {
		t.Fatalf("retry=%v err=%v", retry, err)
	}
	if got.IncidentID != "i1" || got.Kind != "firing" || got.Status != "firing" || got.Alert.Labels["alertname"] != "A" || got.Title != "[FIRING] A" {
		t.Errorf("message %+v", got)
	}
	if hdr.Get("Authorization") != "Bearer tok" || hdr.Get("X-Team") != "zk" || hdr.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", hdr)
	}
}

// Each notifier gets its own client from http_config: a TLS endpoint
// signed by a private CA works only with that notifier's tls_config, and
// basic_auth reaches the server.
func TestHTTPConfig(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "zk" || p != "pw" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	ca := notifytest.CAFile(t, srv)
	d := notifytest.Firing("i1", "127.0.0.1:2181", nil)
	notify := func(httpConfig string) error {
		n, err := New(notifytest.Notifier(t, fmt.Sprintf(`notifiers: [{name: w, webhook: {url: %q, http_config: {%s}}}]`, srv.URL, httpConfig)).Webhook, "w")
		if err != nil {
			t.Fatal(err)
		}
		_, err = n.Notify(context.Background(), d)
		return err
	}
	if err := notify(fmt.Sprintf(`tls_config: {ca_file: %q}, basic_auth: {username: zk, password: pw}`, ca)); err != nil {
		t.Errorf("with tls_config and basic_auth: %v", err)
	}
	if err := notify(fmt.Sprintf(`tls_config: {ca_file: %q}`, ca)); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("without basic_auth: %v", err)
	}
	if err := notify(`basic_auth: {username: zk, password: pw}`); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without tls_config: %v", err)
	}
}
