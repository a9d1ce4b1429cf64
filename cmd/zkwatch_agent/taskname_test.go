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

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// TestWorkerRefusesHostileTaskNames is issue 21 item 8: task names reach
// the command's arguments, so one that starts with '-' or holds shell
// metacharacters is neither claimed nor run, like a restart label that
// fails its allow regex; a plain name next to them runs.
func TestWorkerRefusesHostileTaskNames(t *testing.T) {
	ens := zktest.Start(t, 1)
	obs := observer(t, ens.Servers())
	const root = "/jobs/vet"
	hostile := []string{"-rf", "$(id)", "a b", "x;id"}
	for _, p := range []string{"/jobs", root, root + "/Tasks"} {
		if _, err := obs.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range append(hostile, "ok-1") {
		if _, err := obs.Create(root+"/Tasks/"+name, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	ran := filepath.Join(dir, "ran")
	a := startAgent(t, ens.Servers(), "worker", "--root="+root, "--member=w1", "--",
		"sh", "-c", `printf '%s\n' "$1" >> "$0"`, ran, "{{.Task}}")
	if err := zktest.WaitFor(waitLong, 20*time.Millisecond, func() error {
		data, _, err := obs.Get(root + "/Tasks/ok-1")
		if err == nil && parseTask(data).State != "done" {
			err = fmt.Errorf("ok-1 is %q", data)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(ran)
	if got := strings.TrimSpace(string(out)); got != "ok-1" {
		t.Errorf("the command ran for %q, want only ok-1", got)
	}
	for _, name := range hostile {
		if data, _, err := obs.Get(root + "/Tasks/" + name); err != nil || len(data) != 0 {
			t.Errorf("task %q: data %q (%v), want it left unclaimed", name, data, err)
		}
	}
	if !strings.Contains(a.log.String(), "task name refused") {
		t.Errorf("no log line about refused task names")
	}
}
