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

package roll

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// tableFormat has fixed widths so that each row is printed as its step
// ends, not once the run is over.
const tableFormat = "%-4s  %-21s  %-3s  %-8s  %-7s  %-20s  %-8s  %-14s  %-8s  %s\n"

// TableRecorder prints steps as rows of a table on w, the header first.
func TableRecorder(w io.Writer) func(Step) {
	header := false
	return func(s Step) {
		if !header {
			fmt.Fprintf(w, tableFormat, "STEP", "MEMBER", "ID", "ROLE", "ACTION", "STARTED", "DURATION", "OUTCOME", "ZXID_LAG", "DETAIL")
			header = true
		}
		lag := "-"
		if s.ZxidLag >= 0 {
			lag = strconv.FormatInt(s.ZxidLag, 10)
		}
		detail := s.Reason
		if detail == "" {
			detail = strings.Join(s.Command, " ")
		}
		fmt.Fprintf(w, tableFormat, strconv.Itoa(s.Step), s.Member, strconv.Itoa(s.ID), s.Role, s.Action,
			s.Started.UTC().Format(time.RFC3339), s.Duration.Round(time.Millisecond).String(), s.Outcome, lag, detail)
	}
}

// MarshalJSON adds the duration in seconds, as Prometheus gives durations.
func (s Step) MarshalJSON() ([]byte, error) {
	type plain Step
	return json.Marshal(struct {
		plain
		DurationSeconds float64 `json:"duration_seconds"`
	}{plain(s), s.Duration.Seconds()})
}

// JSONRecorder writes each step as one JSON line on w.
func JSONRecorder(w io.Writer) func(Step) {
	enc := json.NewEncoder(w)
	return func(s Step) { _ = enc.Encode(s) }
}
