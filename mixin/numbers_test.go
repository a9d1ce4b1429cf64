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

package mixin_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// floatNoiseRE matches a number printed with binary float noise, such as
// jsonnet's 0.10000000000000001 for 0.1.
var floatNoiseRE = regexp.MustCompile(`\d\.\d*(0{6,}|9{6,})\d`)

// Rendered rules and dashboards print numbers as the configuration wrote
// them.
func TestRenderedNumbersAsWritten(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "alerts", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dashboards, _ := filepath.Glob(filepath.Join("..", "dashboards", "*.json"))
	files = append(files, dashboards...)
	if len(files) < 3 {
		t.Fatalf("rendered files: %v", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range floatNoiseRE.FindAllString(string(b), 5) {
			t.Errorf("%s prints %s", filepath.Base(f), m)
		}
	}
}
