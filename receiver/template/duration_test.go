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

package template

import (
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0 s"},
		{53881758 * time.Nanosecond, "53.9 ms"},
		{5123456 * time.Nanosecond, "5.12 ms"},
		{5 * time.Millisecond, "5 ms"},
		{153200 * time.Microsecond, "153 ms"},
		{999970 * time.Microsecond, "1 s"},
		{2345 * time.Millisecond, "2.35 s"},
		{30 * time.Second, "30 s"},
		{750 * time.Nanosecond, "750 ns"},
		{12500 * time.Nanosecond, "12.5 µs"},
		{125 * time.Second, "2 min 5 s"},
		{5 * time.Minute, "5 min"},
		{90 * time.Minute, "1 h 30 min"},
		{49 * time.Hour, "2 d 1 h"},
		{-1500 * time.Millisecond, "-1.5 s"},
	} {
		if got := Duration(tc.d); got != tc.want {
			t.Errorf("Duration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
