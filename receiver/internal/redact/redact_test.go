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

package redact

import "testing"

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://hooks.slack.com/services/T0/B0/SECRET":        "https://hooks.slack.com/<redacted>",
		"https://oapi.dingtalk.com/robot/send?access_token=S3": "https://oapi.dingtalk.com/<redacted>",
		"https://user:pw@gw.example:8443/":                     "https://gw.example:8443",
		"http://gw.example":                                    "http://gw.example",
		"http://gw.example/?x=SECRET":                          "http://gw.example/<redacted>",
		"http://gw.example/#SECRET":                            "http://gw.example/<redacted>",
		"http://%zz/SECRET":                                    "<unparseable url>",
		"SECRET":                                               "<unparseable url>",
	} {
		if got := URL(in); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
}
