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
	"testing"

	"github.com/zkwatch/zkwatch/internal/treecache"
	"github.com/zkwatch/zkwatch/internal/watchconfig"
)

func TestDecodeMember(t *testing.T) {
	for in, want := range map[string]*memberInfo{
		"":                                  nil,
		"  \n":                              nil,
		"web-1:10.0.0.1":                    {host: "web-1", ip: "10.0.0.1"},
		"web-1:10.0.0.1\nextra":             {host: "web-1", ip: "10.0.0.1"},
		"web-1":                             {host: "web-1"},
		"db:fe80::1":                        {host: "db", ip: "fe80::1"},
		`{"host":"h","ip":"1.2.3.4","x":1}`: {host: "h", ip: "1.2.3.4"},
		`{"hostname":"h","address":"a"}`:    {host: "h", ip: "a"},
		`{"port":8080}`:                     nil,
		"h\xff:1":                           {host: "h\uFFFD", ip: "1"},
	} {
		got, err := decodeMember("m", []byte(in))
		if err != nil {
			t.Errorf("decodeMember(%q): %v", in, err)
			continue
		}
		gi, _ := got.(*memberInfo)
		if (gi == nil) != (want == nil) || (gi != nil && *gi != *want) {
			t.Errorf("decodeMember(%q) = %+v, want %+v", in, gi, want)
		}
	}
	if _, err := decodeMember("m", []byte("{not json")); err == nil {
		t.Error("decodeMember accepted broken JSON")
	}
}

func TestTaskDecoder(t *testing.T) {
	dec := taskDecoder(watchconfig.Tasks{WorkerField: "owner", StateField: "state", DoneStates: []string{"done", "failed"}})
	for in, want := range map[string]*taskClaim{
		"":                                 nil,
		"w1":                               {worker: "w1"},
		" w1 \n":                           {worker: "w1"},
		`{"owner":"w2","state":"running"}`: {worker: "w2"},
		`{"owner":"w2","state":"done"}`:    {worker: "w2", done: true},
		`{"owner":"","state":"failed"}`:    {done: true},
		`{"owner":"","state":"new"}`:       nil,
		`{"worker":"w3"}`:                  nil, // other field name
		`{"owner":42}`:                     nil,
	} {
		got, err := dec("t", []byte(in))
		if err != nil {
			t.Errorf("decode(%q): %v", in, err)
			continue
		}
		gc, _ := got.(*taskClaim)
		if (gc == nil) != (want == nil) || (gc != nil && *gc != *want) {
			t.Errorf("decode(%q) = %+v, want %+v", in, gc, want)
		}
	}
	if _, err := dec("t", []byte("{")); err == nil {
		t.Error("broken JSON accepted")
	}
}

func TestRecipeOrder(t *testing.T) {
	children := map[string]*treecache.Node{}
	for _, n := range []string{
		"_c_2f6e7a1e-6f0e-4b8e-9d59-2b1c9bca7a11-lock-0000000012",
		"lock-0000000003",
		"_c_0123456789abcdef0123456789abcdef-lock-0000000007",
		"lock-12", // too short a sequence
		"other-0000000001",
		"x-lock-0000000001", // foreign prefix
		"_c_1-latch-0000000000",
	} {
		children[n] = &treecache.Node{Name: n}
	}
	got := contenders(children, lockMarker)
	var names []string
	for _, n := range got {
		names = append(names, n.Name)
	}
	want := []string{"lock-0000000003", "_c_0123456789abcdef0123456789abcdef-lock-0000000007", "_c_2f6e7a1e-6f0e-4b8e-9d59-2b1c9bca7a11-lock-0000000012"}
	if len(names) != len(want) {
		t.Fatalf("contenders = %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("contenders = %v, want %v", names, want)
		}
	}
	if l := contenders(children, latchMarker); len(l) != 1 {
		t.Errorf("latch contenders = %d, want 1", len(l))
	}
}

func TestLabelSafe(t *testing.T) {
	if got := labelSafe("web-1"); got != "web-1" {
		t.Errorf("labelSafe(web-1) = %q", got)
	}
	a, b := labelSafe("x\xff"), labelSafe("x\xfe")
	if a == b || a != "invalid-utf8:78ff" {
		t.Errorf("labelSafe of invalid names = %q, %q", a, b)
	}
}
