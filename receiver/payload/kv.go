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

package payload

import "sort"

// KV is a set of labels or annotations. Its methods are those of
// Alertmanager's template.KV, so templates written for Alertmanager
// (.Labels.SortedPairs, .CommonLabels.Names, ...) work unchanged.
type KV map[string]string

// Pair is one name and value of a KV.
type Pair struct{ Name, Value string }

// Pairs is a list of pairs.
type Pairs []Pair

// Names returns the pairs' names.
func (ps Pairs) Names() []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

// Values returns the pairs' values.
func (ps Pairs) Values() []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Value
	}
	return out
}

// SortedPairs returns the pairs sorted by name, alertname first as in
// Alertmanager.
func (kv KV) SortedPairs() Pairs {
	out := make(Pairs, 0, len(kv))
	for k, v := range kv {
		out = append(out, Pair{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].Name == "alertname") != (out[j].Name == "alertname") {
			return out[i].Name == "alertname"
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Names returns the sorted names.
func (kv KV) Names() []string { return kv.SortedPairs().Names() }

// Values returns the values, sorted by name.
func (kv KV) Values() []string { return kv.SortedPairs().Values() }

// Remove returns a copy without the given names.
func (kv KV) Remove(names []string) KV {
	out := make(KV, len(kv))
	for k, v := range kv {
		out[k] = v
	}
	for _, n := range names {
		delete(out, n)
	}
	return out
}
