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

package httpguard

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})

func TestCrossOrigin(t *testing.T) {
	h := CrossOrigin(okHandler)
	for _, c := range []struct {
		method string
		header map[string]string
		want   int
	}{
		{"POST", nil, 200}, // curl, Alertmanager
		{"POST", map[string]string{"Origin": "http://attacker.example"}, 403},
		{"POST", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://attacker.example"}, 403},
		{"POST", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"POST", map[string]string{"Sec-Fetch-Site": "same-origin"}, 200},
		{"POST", map[string]string{"Origin": "http://127.0.0.1:9143"}, 200},
		{"GET", map[string]string{"Sec-Fetch-Site": "cross-site"}, 200},
	} {
		r := httptest.NewRequest(c.method, "http://127.0.0.1:9143/-/reload", nil)
		for k, v := range c.header {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("%s %v: %d, want %d", c.method, c.header, w.Code, c.want)
		}
	}
}

func TestLoopbackHost(t *testing.T) {
	on := true
	h := LoopbackHost(okHandler, func() bool { return on }, func() []string { return []string{"receiver.example.org"} })
	for host, want := range map[string]int{
		"127.0.0.1:9143": 200, "127.1.2.3": 200, "[::1]:9143": 200, "localhost:9143": 200, "LOCALHOST.:9143": 200,
		"receiver.example.org:9143": 200, "rebind.attacker.example:9143": 421, "10.0.0.1:9143": 421, "": 421,
		"localhost.attacker.example": 421,
	} {
		r := httptest.NewRequest(http.MethodPost, "/webhook", nil)
		r.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("Host %q: %d, want %d", host, w.Code, want)
		}
	}
	on = false
	r := httptest.NewRequest(http.MethodPost, "/webhook", nil)
	r.Host = "rebind.attacker.example"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Errorf("check disabled: %d", w.Code)
	}
}
