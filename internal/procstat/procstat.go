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

// Package procstat reads what zkwatch needs of /proc/<pid>/stat: a
// process's state, parent, process group and start time. A pid and its
// start time name one process, since a pid can be reused but not at the
// same instant.
package procstat

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Stat is what one /proc/<pid>/stat file says.
type Stat struct {
	State byte   // field 3: R, S, D, Z, X, ...
	PPID  int    // field 4
	PGRP  int    // field 5
	Start uint64 // field 22: start time in clock ticks after boot
}

// Live reports whether the process is neither a zombie nor dead.
func (s Stat) Live() bool { return s.State != 'Z' && s.State != 'X' }

// Read reads /proc/<pid>/stat.
func Read(pid int) (Stat, error) { return ReadFile("/proc/" + strconv.Itoa(pid) + "/stat") }

// ReadFile parses a stat file. The fields follow the parenthesised command
// name, which may itself contain spaces and parentheses.
func ReadFile(file string) (Stat, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return Stat{}, err
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 || i+2 >= len(b) {
		return Stat{}, fmt.Errorf("%s: malformed", file)
	}
	f := strings.Fields(string(b[i+2:]))
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 20 || len(f[0]) != 1 {
		return Stat{}, fmt.Errorf("%s: malformed", file)
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgrp, err2 := strconv.Atoi(f[2])
	start, err3 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return Stat{}, fmt.Errorf("%s: malformed", file)
	}
	return Stat{State: f[0][0], PPID: ppid, PGRP: pgrp, Start: start}, nil
}
