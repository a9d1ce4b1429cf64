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
	"encoding/json"
	"testing"
)

var memberJSONSeeds = []string{
	`{"host":"host-1-2","ip":"10.1.2.0"}`,
	`{"hostname":"h","address":"a","port":8080,"ssl":false,"x":null}`,
	` { "host" : "" , "hostname" : "h2" , "ip" : 5 , "addr" : "a" } `,
	`{"host":"a","host":1}`,
	`{"host":1,"host":"b"}`,
	`{}`,
	`{"host":"\u0068"}`,
	`{"host":"a\"b"}`,
	`{"host":"h","n":1.5}`,
	`{"host":"h","n":1e999}`,
	`{"host":"h","n":01}`,
	`{"host":"h","n":-0}`,
	`{"host":"h","n":1234567890123456}`,
	`{"host":"h","o":{"ip":"x"}}`,
	`{"host":"h",}`,
	`{"host":"h"} x`,
	"{\"host\":\"h\xff\"}",
	`{"Host":"h"}`,
	`{"host":tru}`,
	`{"host":"h"`,
}

// FuzzScanMember checks that the fast path agrees with encoding/json
// wherever it answers.
func FuzzScanMember(f *testing.F) {
	for _, s := range memberJSONSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := scanMember(data)
		if !ok {
			return
		}
		var obj map[string]any
		if err := json.Unmarshal(data, &obj); err != nil {
			t.Fatalf("scanMember accepted %q, encoding/json: %v", data, err)
		}
		for i, k := range memberKeys {
			want, _ := obj[k].(string)
			if got[i] != want {
				t.Fatalf("scanMember(%q)[%s] = %q, encoding/json %q", data, k, got[i], want)
			}
		}
	})
}

// TestScanMemberCommonShapes checks that usual member data takes the fast
// path, with one allocation per label value and the result.
func TestScanMemberCommonShapes(t *testing.T) {
	for _, s := range memberJSONSeeds[:4] {
		if _, ok := scanMember([]byte(s)); !ok {
			t.Errorf("scanMember(%q) fell back to encoding/json", s)
		}
	}
	data := []byte(`{"host":"host-1-2","ip":"10.1.2.0","port":8080}`)
	if n := testing.AllocsPerRun(100, func() { _, _ = decodeMember("m", data) }); n > 3 {
		t.Errorf("decodeMember: %v allocations, want at most 3", n)
	}
}
