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

import "fmt"

// Range is the alerts [From, To) of a message part.
type Range struct{ From, To int }

// Split cuts a message of n alerts into as few consecutive parts as fit.
// fits reports whether the alerts [from, to) fit in one message without
// truncation. The parts keep the alerts' order and lose none; an alert
// too large for a message alone gets a part of its own, which the
// notifier then truncates visibly.
func Split(n int, fits func(from, to int) (bool, error)) ([]Range, error) {
	var out []Range
	for from := 0; from < n; {
		ok, err := fits(from, n)
		if err != nil {
			return nil, err
		}
		to := n
		if !ok {
			// The longest run that fits, assuming a run that fits still
			// fits without its last alert.
			to = from + 1
			lo, hi := from+2, n-1
			for lo <= hi {
				mid := (lo + hi) / 2
				ok, err := fits(from, mid)
				if err != nil {
					return nil, err
				}
				if ok {
					to, lo = mid, mid+1
				} else {
					hi = mid - 1
				}
			}
		}
		out = append(out, Range{from, to})
		from = to
	}
	return out, nil
}

// MoreAlerts is the line ending a part that has more after it.
func MoreAlerts(n int) string {
	return fmt.Sprintf("\n\n(%d more alerts in the next message)", n)
}

// Cut is the marker ending a text cut by TruncateVisibly.
func Cut(n int) string {
	return fmt.Sprintf("\n\n... (%d more bytes cut; the incident page has the whole alert)", n)
}

// TruncateVisibly cuts s to at most max bytes on a UTF-8 boundary and
// ends it with Cut, saying how much is missing.
func TruncateVisibly(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := runeCut(s, max-len(Cut(len(s))))
	return s[:cut] + Cut(len(s)-cut)
}
