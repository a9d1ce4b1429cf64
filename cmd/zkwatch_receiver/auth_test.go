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
	"testing"

	"github.com/zkwatch/zkwatch/receiver/config"
)

func TestExposureCheck(t *testing.T) {
	withRules, err := config.Load([]byte(memberRule))
	if err != nil {
		t.Fatal(err)
	}
	withToken, err := config.Load([]byte("global: {bearer_token: t}\n" + memberRule))
	if err != nil {
		t.Fatal(err)
	}
	noRules, err := config.Load([]byte("storage: {retention: 24h}\n"))
	if err != nil {
		t.Fatal(err)
	}
	withTokenNoRules, err := config.Load([]byte("global: {bearer_token: t}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		e    *exposure
		cfg  *config.Config
		ok   bool
	}{
		{"all interfaces", &exposure{listen: []string{":9143"}}, withRules, false},
		{"one public of two", &exposure{listen: []string{"127.0.0.1:9143", "10.0.0.1:9143"}}, withRules, false},
		{"systemd socket", &exposure{systemdSocket: true}, withRules, false},
		{"loopback v4", &exposure{listen: []string{"127.0.0.1:9143"}}, withRules, true},
		{"loopback v6 and name", &exposure{listen: []string{"[::1]:9143", "localhost:9143"}}, withRules, true},
		{"token", &exposure{listen: []string{":9143"}}, withToken, true},
		{"basic auth", &exposure{listen: []string{":9143"}, basicAuth: true}, withRules, true},
		{"both", &exposure{listen: []string{"127.0.0.1:9143"}, basicAuth: true}, withToken, false},
		// Issue 21, item 9: the incident history needs authentication too.
		{"no restart rules", &exposure{listen: []string{":9143"}}, noRules, false},
		{"no restart rules, loopback", &exposure{listen: []string{"127.0.0.1:9143"}}, noRules, true},
		{"no restart rules, token", &exposure{listen: []string{":9143"}}, withTokenNoRules, true},
		{"explicit override", &exposure{listen: []string{":9143"}, allowUnauthed: true}, withRules, true},
	} {
		if err := c.e.check(c.cfg); (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}
