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

package quorum

import (
	"fmt"
	"strings"
	"testing"

	"github.com/zkwatch/zkwatch/internal/fourlw"
)

func TestCheck(t *testing.T) {
	f := func(addr string) Answer { return Answer{Addr: addr, Mode: "follower"} }
	refused := func(addr string) Answer {
		return Answer{Addr: addr, Err: &fourlw.Error{Addr: addr, Cmd: "srvr", Err: fmt.Errorf("%w: x", fourlw.ErrConnRefused)}}
	}
	for _, c := range []struct {
		name   string
		voters int
		known  bool
		others []Answer
		want   string // "" for nil, else a substring of the error
	}{
		{"5 voters, 4 others serve", 5, true, []Answer{f("a"), f("b"), f("c"), {Addr: "d", Mode: "leader"}}, ""},
		{"5 voters, 3 others serve", 5, true, []Answer{f("a"), f("b"), f("c"), refused("d")}, ""},
		{"5 voters, 2 others serve", 5, true, []Answer{f("a"), f("b"), refused("c"), {Addr: "d", Mode: "looking"}},
			"only 2 of the other members serve, 3 needed for a quorum without t (c: refused; d: mode looking)"},
		{"unknown target needs one more", 3, false, []Answer{f("a"), f("b")}, "3 needed"},
		{"unknown target with every member serving", 3, false, []Answer{f("a"), f("b"), f("c")}, ""},
		// Observers answer but take no vote: the voters decide.
		{"observer answers do not count", 3, true, []Answer{f("a"), {Addr: "o", Mode: "observer"}, refused("b")}, "mode observer"},
		{"observer target with a quorum", 3, true, []Answer{f("a"), f("b"), f("c")}, ""},
	} {
		err := Check(c.voters, "t", c.known, c.others)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: err %v, want it to contain %q", c.name, err, c.want)
		}
	}
}
