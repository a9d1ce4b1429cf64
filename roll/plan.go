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

// Role is how a step names a member's part: leader, follower or observer.
func (v View) Role(i int) string {
	switch m := v.Members[i]; {
	case i == v.Leader:
		return "leader"
	case m.Observer:
		return "observer"
	case m.Mode != "":
		return m.Mode
	}
	return "unknown"
}

// Next returns the index of the member to restart next, or -1 when every
// member is in done: the followers first, then the observers, in the
// operator's order, and the leader last. Roles are those of v, read just
// before the step, so a member that became leader since the plan waits
// for the end, and a leader that lost its leadership is a follower again.
func Next(v View, done map[string]bool) int {
	for _, want := range []string{"follower", "observer", "unknown"} {
		for i, m := range v.Members {
			if !done[m.Addr] && i != v.Leader && v.Role(i) == want {
				return i
			}
		}
	}
	for i, m := range v.Members {
		if !done[m.Addr] && i != v.Leader {
			return i // a mode without a role (looking): before the leader
		}
	}
	if v.Leader >= 0 && !done[v.Members[v.Leader].Addr] {
		return v.Leader
	}
	return -1
}

// Plan returns the order Next would restart the members of v in, if the
// roles stayed as they are.
func Plan(v View) []int {
	done := map[string]bool{}
	var order []int
	for i := Next(v, done); i >= 0; i = Next(v, done) {
		order = append(order, i)
		done[v.Members[i].Addr] = true
	}
	return order
}
