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

package agent

import "testing"

// TestLocalIPThroughDNSEntry: a dns+NAME:PORT first server gives the
// address used to reach NAME, as host:port does, not the loopback
// fallback. 192.0.2.1 (TEST-NET-1) is only routed, never sent to.
func TestLocalIPThroughDNSEntry(t *testing.T) {
	want := LocalIP("192.0.2.1:2181")
	if want == "127.0.0.1" {
		t.Skip("no route off the loopback here")
	}
	if got := LocalIP("dns+192.0.2.1:2181,zk:2181"); got != want {
		t.Errorf("LocalIP(dns+192.0.2.1:2181) = %s, want %s", got, want)
	}
}
