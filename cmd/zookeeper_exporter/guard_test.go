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

package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/httpguard/guardtest"
)

// The real exporter closes idle keep-alive connections after
// --web.idle-timeout, and refuses a cross-origin POST /-/reload (a web
// page's text/plain form) while curl's POST still reloads.
func TestExporterIdleTimeoutAndCrossOriginReload(t *testing.T) {
	bin := buildExporter(t)
	exp := startExporter(t, bin, "--zookeeper.servers=127.0.0.1:1", "--web.idle-timeout=1s")
	open, err := guardtest.IdleClosed(strings.TrimPrefix(exp.url, "http://"), "/-/healthy", 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("idle connection closed after %s", open)
	if code, err := guardtest.CrossOriginPost(exp.url + "/-/reload"); err != nil || code != http.StatusForbidden {
		t.Errorf("cross-origin POST /-/reload: %d %v, want 403", code, err)
	}
	if code, body := postReload(t, exp.url); code != http.StatusOK {
		t.Errorf("POST /-/reload without Origin: %d %s", code, body)
	}
}
