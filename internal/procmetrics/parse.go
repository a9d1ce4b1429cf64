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

package procmetrics

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// procStat holds the fields of /proc/[pid]/stat used here.
type procStat struct {
	utime, stime, starttime, vsize, rss uint64
}

// statFields parses /proc/[pid]/stat. The command name (field 2) may hold
// spaces and parentheses, so fields are counted from its last ')': field
// 3 (state) is the first after it.
func statFields(b []byte) (procStat, error) {
	var s procStat
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
		var dst *uint64
		switch field {
		case 14:
			dst = &s.utime
		case 15:
			dst = &s.stime
		case 22:
			dst = &s.starttime
		case 23:
			dst = &s.vsize
		case 24:
			dst = &s.rss
		default:
			continue
		}
		v, err := strconv.ParseUint(string(tok), 10, 64)
		if err != nil {
			return s, fmt.Errorf("stat field %d: %w", field, err)
		}
		*dst = v
	}
	if field < 24 {
		return s, fmt.Errorf("stat: %d fields, want at least 24", field)
	}
	return s, nil
}

// ipExtOctets returns InOctets and OutOctets of the IpExt lines of
// /proc/[pid]/net/netstat (a header line of names, then one of values); a
// field or line missing counts 0, as for client_golang's collector.
func ipExtOctets(b []byte) (in, out float64, err error) {
	prefix := []byte("IpExt:")
	var names []byte
	for line := range bytes.Lines(b) {
		if !bytes.HasPrefix(line, prefix) {
			continue
		}
		if names == nil {
			names = line
			continue
		}
		nf, vf := bytes.Fields(names[len(prefix):]), bytes.Fields(line[len(prefix):])
		if len(nf) != len(vf) {
			return 0, 0, fmt.Errorf("netstat IpExt: %d names, %d values", len(nf), len(vf))
		}
		for k, n := range nf {
			var dst *float64
			switch string(n) {
			case "InOctets":
				dst = &in
			case "OutOctets":
				dst = &out
			default:
				continue
			}
			if *dst, err = strconv.ParseFloat(string(vf[k]), 64); err != nil {
				return 0, 0, fmt.Errorf("netstat IpExt %s: %w", n, err)
			}
		}
		return in, out, nil
	}
	return 0, 0, nil
}
