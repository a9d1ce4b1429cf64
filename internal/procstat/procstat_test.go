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

package procstat

import "testing"

func TestParse(t *testing.T) {
	// A command name with spaces and parentheses.
	line := "4242 (a b) c)) S 1 4242 4200 0 -1 4194560 1 0 0 0 17 23 0 0 20 0 9 0 12345 1048576 321 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	s, err := Parse([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := Stat{State: 'S', PPID: 1, PGRP: 4242, Session: 4200, UTime: 17, STime: 23, Start: 12345, VSize: 1048576, RSS: 321}
	if s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
	for _, bad := range []string{"4242 (x) S 1 2 3\n", "4242 x S 1 2 3\n", "4242 (x) SS 1 4242 4242 0 -1 4194560 1 0 0 0 17 23 0 0 20 0 9 0 12345 1048576 321\n"} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	b := []byte(line)
	if n := testing.AllocsPerRun(100, func() { _, _ = Parse(b) }); n != 0 {
		t.Errorf("Parse allocates %v times", n)
	}
}
