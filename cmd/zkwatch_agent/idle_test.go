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
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/httpguard/guardtest"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

// The real agent closes idle keep-alive connections after
// --web.idle-timeout instead of keeping them forever.
func TestAgentIdleTimeout(t *testing.T) {
	ens := zktest.Start(t, 1)
	a := startAgent(t, ens.Servers(), "--web.idle-timeout=1s", "--register=/monitor/app", "--member=idle", "--", "sleep", "100")
	if err := zktest.WaitFor(waitLong, 10*time.Millisecond, func() error {
		resp, err := http.Get("http://" + a.addr + "/-/healthy")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	open, err := guardtest.IdleClosed(a.addr, "/-/healthy", 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("idle connection closed after %s", open)
}
