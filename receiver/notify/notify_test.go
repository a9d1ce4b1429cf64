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

package notify

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRetrier(t *testing.T) {
	r := Retrier{RetryCodes: []int{409}}
	for code, want := range map[int]bool{500: true, 502: true, 503: true, 429: true, 409: true, 400: false, 401: false, 404: false, 302: false} {
		retry, err := r.Check(code, strings.NewReader("detail"))
		if err == nil || retry != want || !strings.Contains(err.Error(), "detail") {
			t.Errorf("%d: retry=%v err=%v", code, retry, err)
		}
	}
	if retry, err := r.Check(204, nil); err != nil || retry {
		t.Errorf("204: retry=%v err=%v", retry, err)
	}
}

func TestTruncate(t *testing.T) {
	if got := Truncate("short", 10, "..."); got != "short" {
		t.Errorf("got %q", got)
	}
	got := Truncate(strings.Repeat("é", 10), 8, "...")
	if len(got) > 8 || !utf8.ValidString(got) || !strings.HasSuffix(got, "...") {
		t.Errorf("got %q", got)
	}
}
