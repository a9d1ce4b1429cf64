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
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// TestReadmeWatchConfigReload: the README's --watch.config.file is "re-read
// on SIGHUP and POST /-/reload; an invalid file is rejected with line
// numbers and the old configuration stays", through the real binary.
func TestReadmeWatchConfigReload(t *testing.T) {
	zktest.Require(t)
	bin := buildExporter(t)
	ens := zktest.Start(t, 1)
	c, _, err := zk.Connect(ens.Addrs(), 4*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, p := range []string{"/monitor", "/monitor/a", "/monitor/a/m1", "/monitor/b", "/monitor/b/m1"} {
		if _, err := c.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(t.TempDir(), "watch.yml")
	write := func(content string) {
		if err := os.WriteFile(cfg, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("groups:\n  - path: /monitor/a\n")
	exp := startExporter(t, bin, "--zookeeper.servers="+ens.Servers(), "--watch.config.file="+cfg, "--no-collector.ensemble")
	watching := func(want, notWant string) {
		t.Helper()
		if err := zktest.WaitFor(30*time.Second, 20*time.Millisecond, func() error {
			_, body := get(t, exp.url+"/metrics")
			if !strings.Contains(body, fmt.Sprintf(`zookeeper_group_members{group=%q} 1`, want)) ||
				strings.Contains(body, fmt.Sprintf(`zookeeper_group_members{group=%q}`, notWant)) {
				return fmt.Errorf("not watching only %s", want)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	watching("/monitor/a", "/monitor/b")

	write("groups:\n  - path: /monitor/b\n")
	if err := exp.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	watching("/monitor/b", "/monitor/a")

	write("groups:\n  - path: /monitor/a\n")
	if code, body := postReload(t, exp.url); code != http.StatusOK {
		t.Fatalf("POST /-/reload: %d %s", code, body)
	}
	watching("/monitor/a", "/monitor/b")

	// An invalid file: rejected with its line, the old configuration stays.
	write("groups:\n  - path: /monitor/b\n  - path: relative\n")
	code, body := postReload(t, exp.url)
	if code == http.StatusOK || !strings.Contains(body, "line 3") {
		t.Errorf("POST /-/reload of an invalid file: %d %q, want a failure naming line 3", code, body)
	}
	if err := exp.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	watching("/monitor/a", "/monitor/b")
	if code, _ := get(t, exp.url+"/-/reload"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload: %d, want 405", code)
	}
	// The log is read once the exporter has exited (it writes it
	// concurrently until then).
	if err := exp.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = exp.cmd.Wait()
	logged := false
	for _, line := range strings.Split(exp.stderr.String(), "\n") {
		logged = logged || (strings.Contains(line, "level=error") && strings.Contains(line, "line 3"))
	}
	if !logged {
		t.Error("no error logged with the invalid file's line")
	}
}

func postReload(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Post(url+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
