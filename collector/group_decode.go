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

import "unicode/utf8"

// memberKeys are the JSON keys decodeMember reads, in the order of
// scanMember's result.
var memberKeys = [...]string{"host", "hostname", "ip", "address", "addr"}

// scanMember reads the common shape of a member's JSON data, a flat object
// of strings, integers, booleans and nulls, without reflection: decoding
// 100,000 members with encoding/json costs a fifth of the sync. It returns
// the last string value of each of memberKeys ("" where the value is not a
// string), as a map decoded by encoding/json would hold them, or ok false
// for anything else (escapes, nesting, fractions, invalid UTF-8, bad
// syntax); the caller then decodes with encoding/json.
func scanMember(data []byte) (values [len(memberKeys)]string, ok bool) {
	s := jsonScanner{b: data}
	if !s.next('{') {
		return values, false
	}
	if s.next('}') {
		return values, s.end()
	}
	for {
		key, ok := s.str()
		if !ok || !s.next(':') {
			return values, false
		}
		val, isStr, ok := s.value()
		if !ok {
			return values, false
		}
		for i, k := range memberKeys {
			if string(key) == k {
				values[i] = ""
				if isStr {
					values[i] = string(val)
				}
			}
		}
		if s.next(',') {
			continue
		}
		return values, s.next('}') && s.end()
	}
}

// jsonScanner walks a strict subset of JSON.
type jsonScanner struct {
	b []byte
	i int
}

func (s *jsonScanner) space() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

// next skips white space and then c if it comes next.
func (s *jsonScanner) next(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *jsonScanner) end() bool {
	s.space()
	return s.i == len(s.b)
}

// str reads a string without escapes or control characters.
func (s *jsonScanner) str() ([]byte, bool) {
	if !s.next('"') {
		return nil, false
	}
	start := s.i
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			v := s.b[start:s.i]
			s.i++
			return v, utf8.Valid(v)
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// value reads a string, an integer of at most 15 digits (exact in a
// float64), true, false or null.
func (s *jsonScanner) value() (v []byte, isStr, ok bool) {
	s.space()
	if s.i == len(s.b) {
		return nil, false, false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		v, ok = s.str()
		return v, true, ok
	case c == '-' || (c >= '0' && c <= '9'):
		return nil, false, s.integer()
	}
	for _, lit := range []string{"true", "false", "null"} {
		if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
			s.i += len(lit)
			return nil, false, true
		}
	}
	return nil, false, false
}

func (s *jsonScanner) integer() bool {
	if s.b[s.i] == '-' {
		s.i++
	}
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	n := s.i - start
	if n == 0 || n > 15 || (n > 1 && s.b[start] == '0') {
		return false
	}
	// A fraction or an exponent is left to encoding/json.
	return s.i == len(s.b) || (s.b[s.i] != '.' && s.b[s.i] != 'e' && s.b[s.i] != 'E')
}
