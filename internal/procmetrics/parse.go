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
	"fmt"
	"strconv"
)

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
