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
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/payload"
	tmpl "github.com/zkwatch/zkwatch/receiver/template"
)

func TestNotify(t *testing.T) {
	var got Message
	var hdr http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr = r.Header
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			http.Error(w, err.Error(), 400)
		}
	}))
	defer srv.Close()
	c, err := config.Load([]byte(`notifiers: [{name: w, webhook: {url: "` + srv.URL + `", headers: {X-Team: zk}, bearer_token: tok}}]`))
	if err != nil {
		t.Fatal(err)
	}
	n := New(c.Notifiers[0].Webhook)
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
