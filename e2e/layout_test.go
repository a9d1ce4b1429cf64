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

package e2e

import (
	"os/exec"
	"path"
	"strings"
	"testing"
)

const module = "github.com/zkwatch/zkwatch/"

// goList runs go list in the repository and returns its lines.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.Fields(string(out))
}

// The README's layout rule: every package under internal/ ships in a
// binary of cmd/ unless it is a test helper named *test, and no binary
// links a test helper.
func TestInternalPackagesShip(t *testing.T) {
	shipped := map[string]bool{}
	for _, p := range goList(t, "-deps", "./cmd/...") {
		shipped[p] = true
		if strings.HasPrefix(p, module) && strings.HasSuffix(path.Base(p), "test") {
			t.Errorf("a shipped binary links the test helper %s", p)
		}
	}
	for _, p := range goList(t, "./internal/...") {
		helper := strings.HasSuffix(path.Base(p), "test")
		if !helper && !shipped[p] {
			t.Errorf("%s is under internal/ but ships in no binary: name it *test if it is a test helper, or move it beside what uses it", p)
		}
	}
}
