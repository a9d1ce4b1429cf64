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
	"fmt"
	"strings"
	"time"
)

// Duration formats d as people write it: three significant digits and a
// spaced unit below a minute ("53.9 ms", "2.35 s"), whole units above
// ("2 min 5 s", "1 h 30 min").
func Duration(d time.Duration) string {
	neg := ""
	if d < 0 {
		neg, d = "-", -d
	}
	if d < time.Minute {
		return neg + small(d)
	}
	d = d.Round(time.Second)
	var parts []string
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "min"}, {time.Second, "s"}} {
		if n := d / u.d; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, u.name))
			d -= n * u.d
		}
	}
	return neg + strings.Join(parts, " ")
}

// small formats a duration below a minute in the largest unit that keeps
// it at least 1, with three significant digits.
func small(d time.Duration) string {
	if d == 0 {
		return "0 s"
	}
	units := []struct {
		d    time.Duration
		name string
	}{{time.Second, "s"}, {time.Millisecond, "ms"}, {time.Microsecond, "µs"}, {time.Nanosecond, "ns"}}
	for i, u := range units {
		if d < u.d {
			continue
		}
		v := float64(d) / float64(u.d)
		s := sig3(v)
		if s == "1000" && i > 0 { // 999.97 ms rounds up to the next unit
			return "1 " + units[i-1].name
		}
		return s + " " + u.name
	}
	return "0 s"
}

// sig3 is v (1 <= v < 1000) with three significant digits, without
// trailing zeros.
func sig3(v float64) string {
	prec := 2
	switch {
	case v >= 99.95:
		prec = 0
	case v >= 9.995:
		prec = 1
	}
	s := fmt.Sprintf("%.*f", prec, v)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
