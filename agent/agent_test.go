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

package agent

import (
	"reflect"
	"testing"
)

func TestParseTask(t *testing.T) {
	for in, want := range map[string]Task{
		"":                                     {},
		"  \n":                                 {},
		`{"worker":""}`:                        {},
		`{"worker":"","state":"claimed"}`:      {},
		`{"worker":"w1"}`:                      {Worker: "w1", State: TaskClaimed},
		`{"worker":"w1","state":"running"}`:    {Worker: "w1", State: TaskRunning},
		`{"worker":"w1","state":"done","x":1}`: {Worker: "w1", State: TaskDone},
		"w2\n":                                 {Worker: "w2", State: TaskClaimed},
		`{"worker":5}`:                         {},
		`{not json`:                            {Worker: "{not json", State: TaskClaimed},
	} {
		got := ParseTask([]byte(in))
		if got.Worker != want.Worker || got.State != want.State {
			t.Errorf("ParseTask(%q) = %+v, want %+v", in, got, want)
		}
	}
}

func TestTaskEncodeKeepsFields(t *testing.T) {
	orig := ParseTask([]byte(`{"payload":"p","worker":""}`))
	claimed := ParseTask(orig.encode("w1", TaskClaimed, map[string]any{"claimed_at": "t0"}))
	if claimed.Worker != "w1" || claimed.State != TaskClaimed || claimed.fields["payload"] != "p" || claimed.fields["claimed_at"] != "t0" {
		t.Fatalf("claimed: %+v", claimed)
	}
	done := ParseTask(claimed.encode("w1", TaskDone, map[string]any{"exit_code": 0}))
	if !done.Done() || done.fields["claimed_at"] != "t0" || done.fields["payload"] != "p" {
		t.Fatalf("done: %+v", done)
	}
	released := ParseTask(claimed.encode("", "", nil))
	if released.Worker != "" || released.fields["payload"] != "p" || released.fields["claimed_at"] != nil {
		t.Fatalf("released: %+v", released)
	}
	// A task that started empty goes back to empty.
	b := ParseTask(nil).encode("w1", TaskClaimed, map[string]any{"claimed_at": "t"})
	if back := ParseTask(b).encode("", "", nil); len(back) != 0 {
		t.Fatalf("release of a plain task is not empty")
	}
}

func TestSortedContenders(t *testing.T) {
	in := []string{
		"_c_b-lock-0000000003",
		"other",
		"_c_a-lock-0000000010",
		"_c_c-lock-0000000001",
	}
	want := []string{"_c_c-lock-0000000001", "_c_b-lock-0000000003", "_c_a-lock-0000000010"}
	if got := sortedContenders(in, lockName); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
