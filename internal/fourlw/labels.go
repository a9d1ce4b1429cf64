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

package fourlw

import (
	"bytes"
	"unicode/utf8"
)

// Label is one label pair of a metrics-provider key.
type Label struct{ Name, Value string }

// Bounds on what one labelled key may carry.
const (
	maxLabelledKey = 1024
	maxLabels      = 16
)

// labelledKey splits a key of ZooKeeper's Prometheus metrics provider,
// such as zk_jvm_threads_state{state="RUNNABLE"} or
// zk_jvm_gc_collection_seconds_sum{gc="G1 Young Generation"}, into its
// name and labels. The provider writes label values unescaped (they may
// hold spaces, commas or quotes), so a value ends at the quote that is
// followed by the end of the braces or by another name=" pair. Keys that
// do not fit are refused (ok false).
func labelledKey(k []byte) (name []byte, labels []Label, ok bool) {
	open := bytes.IndexByte(k, '{')
	if open < 0 || len(k) > maxLabelledKey || k[len(k)-1] != '}' || !validKey(k[:open]) || !utf8.Valid(k) {
		return nil, nil, false
	}
	name, body := k[:open], k[open+1:len(k)-1]
	for len(body) > 0 {
		eq := bytes.Index(body, []byte(`="`))
		if eq <= 0 || !validLabelName(body[:eq]) || len(labels) == maxLabels {
			return nil, nil, false
		}
		ln, rest := string(body[:eq]), body[eq+2:]
		end := valueEnd(rest)
		if end < 0 {
			return nil, nil, false
		}
		for _, l := range labels {
			if l.Name == ln {
				return nil, nil, false
			}
		}
		labels = append(labels, Label{Name: ln, Value: string(rest[:end])})
		body = rest[end+1:]
		// The next pair, or the Java client's trailing comma.
		body, _ = bytes.CutPrefix(body, []byte{','})
	}
	return name, labels, len(labels) > 0
}

// valueEnd returns the index of the quote closing the value at the start of
// rest, or -1.
func valueEnd(rest []byte) int {
	for i := 0; i < len(rest); i++ {
		if rest[i] != '"' {
			continue
		}
		after := rest[i+1:]
		if len(after) == 0 || len(after) == 1 && after[0] == ',' {
			return i
		}
		if next, ok := bytes.CutPrefix(after, []byte{','}); ok {
			if eq := bytes.Index(next, []byte(`="`)); eq > 0 && validLabelName(next[:eq]) {
				return i
			}
		}
	}
	return -1
}

// validLabelName accepts Prometheus label names, without the reserved
// double-underscore prefix.
func validLabelName(n []byte) bool {
	if len(n) == 0 || len(n) > 100 || bytes.HasPrefix(n, []byte("__")) || n[0] >= '0' && n[0] <= '9' {
		return false
	}
	for _, r := range n {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
