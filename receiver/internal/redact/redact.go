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

// Package redact keeps secrets that URLs often carry (user info, path,
// query tokens) out of errors and logs.
package redact

import (
	"errors"
	"net/url"
)

// URL keeps only a URL's scheme and host: user info, path and query
// often carry tokens (Slack's /services/T0/B0/SECRET, DingTalk's
// ?access_token=).
func URL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "<unparseable url>"
	}
	out := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawPath != "" || u.RawQuery != "" || u.Fragment != "" {
		out += "/<redacted>"
	}
	return out
}

// Error unwraps a *url.Error, whose message repeats the whole URL.
func Error(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
