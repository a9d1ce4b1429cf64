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
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// Stat is what one /proc/<pid>/stat file says.
type Stat struct {
	State        byte   // field 3: R, S, D, Z, X, ...
	PPID         int    // field 4
	PGRP         int    // field 5
	Session      int    // field 6: session ID
	UTime, STime uint64 // fields 14 and 15: CPU time in clock ticks
	Start        uint64 // field 22: start time in clock ticks after boot
	VSize        uint64 // field 23: virtual memory in bytes
	RSS          uint64 // field 24: resident set in pages
}

// Live reports whether the process is neither a zombie nor dead.
func (s Stat) Live() bool { return s.State != 'Z' && s.State != 'X' }

// Read reads /proc/<pid>/stat.
func Read(pid int) (Stat, error) { return ReadFile("/proc/" + strconv.Itoa(pid) + "/stat") }

// ReadFile reads and parses a stat file.
func ReadFile(file string) (Stat, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return Stat{}, err
	}
	s, err := Parse(b)
	if err != nil {
		return Stat{}, fmt.Errorf("%s: %w", file, err)
	}
	return s, nil
}

// Parse parses the text of a stat file without allocating (the exporter
// reads its own at every scrape). The command name (field 2) may hold
// spaces and parentheses, so fields are counted from its last ')': field 3
// (state) is the first after it.
func Parse(b []byte) (Stat, error) {
	var s Stat
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return s, errors.New("stat: no command name")
	}
	field := 2
	rest := b[i+1:]
	for len(rest) > 0 && field < 24 {
		rest = bytes.TrimLeft(rest, " ")
		j := bytes.IndexAny(rest, " \n")
		if j < 0 {
			j = len(rest)
		}
		tok := rest[:j]
		rest = rest[j:]
		field++
		if err := s.set(field, tok); err != nil {
			return s, fmt.Errorf("stat field %d: %w", field, err)
		}
	}
	if field < 24 {
		return s, fmt.Errorf("stat: %d fields, want at least 24", field)
	}
	return s, nil
}

// set stores field number n, when it is one Stat keeps.
func (s *Stat) set(n int, tok []byte) error {
	var dst *uint64
	switch n {
	case 3:
		if len(tok) != 1 {
			return fmt.Errorf("state %q", tok)
		}
		s.State = tok[0]
		return nil
	case 4, 5, 6:
		v, err := strconv.Atoi(string(tok))
		switch n {
		case 4:
			s.PPID = v
		case 5:
			s.PGRP = v
		default:
			s.Session = v
		}
		return err
	case 14:
		dst = &s.UTime
	case 15:
		dst = &s.STime
	case 22:
		dst = &s.Start
	case 23:
		dst = &s.VSize
	case 24:
		dst = &s.RSS
	default:
		return nil
	}
	v, err := strconv.ParseUint(string(tok), 10, 64)
	*dst = v
	return err
}
