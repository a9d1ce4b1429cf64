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

package bench

import (
	"testing"
	"time"
)

func TestQuantileAndSamples(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for q, want := range map[float64]time.Duration{0.5: 50 * time.Millisecond, 0.99: 99 * time.Millisecond, 1: 100 * time.Millisecond, 0: time.Millisecond} {
		if got := quantile(d, q); got != want {
			t.Errorf("quantile(%v) = %v, want %v", q, got, want)
		}
	}
	if d[0] != 100*time.Millisecond {
		t.Error("quantile reordered its input")
	}
	if quantile(nil, 0.5) != 0 {
		t.Error("quantile of nothing")
	}
	body := "# HELP x y\n# TYPE x gauge\nx 1\nx{a=\"b\"} 2\n\n"
	if n := samples([]string{body, body}); n != 4 {
		t.Errorf("samples = %d, want 4", n)
	}
	if err := containsAll(body, "x 1\n", "x{a="); err != nil {
		t.Error(err)
	}
	if err := containsAll(body, "zk_up"); err == nil {
		t.Error("containsAll missed an absent name")
	}
}
