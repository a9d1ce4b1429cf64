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

package collector

import (
	"strconv"
	"testing"
)

// Milliseconds become seconds as a person would write them.
func TestScaledPrintsAsWritten(t *testing.T) {
	for _, c := range []struct {
		ms   float64
		want string
	}{
		{5052, "5.052"}, // zk_uptime; 5052*1e-3 prints 5.0520000000000005
		{0.9, "0.0009"},
		{0.009, "9e-06"},
		{0.1234, "0.0001234"},
		{123456789, "123456.789"},
		{-1, "-0.001"},
		{0, "0"},
		{1.5e300, "1.5e+297"},
	} {
		if got := strconv.FormatFloat(scaled(c.ms, ms), 'g', -1, 64); got != c.want {
			t.Errorf("scaled(%v ms) = %s, want %s", c.ms, got, c.want)
		}
	}
	if got := scaled(7, 1); got != 7 {
		t.Errorf("scale 1 changed 7 to %v", got)
	}
}
