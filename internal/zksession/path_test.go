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

package zksession

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"
)

func TestValidatePath(t *testing.T) {
	for p, ok := range map[string]bool{
		"/": true, "/a": true, "/a/b-c_d.e": true, "/ünï": true,
		"": false, "a": false, "/a/": false, "//a": false, "/a//b": false, "/./a": false,
		"/a/..": false, "/a\x00b": false, "/a\nb": false, "/\xff": false,
	} {
		if err := ValidatePath(p); (err == nil) != ok {
			t.Errorf("ValidatePath(%q) = %v, want ok=%v", p, err, ok)
		}
	}
}

func TestReadDigestFile(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct {
		content string
		want    []string
		err     string
	}{
		"ok":       {content: "# comment\n\n alice:secret \nbob:pw:with:colons\n", want: []string{"alice:secret", "bob:pw:with:colons"}},
		"empty":    {content: "# nothing\n", err: "no user:password line"},
		"no colon": {content: "alice\n", err: "must read user:password"},
		"no user":  {content: ":pw\n", err: "must read user:password"},
	} {
		f := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		if err := os.WriteFile(f, []byte(c.content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := ReadDigestFile(f)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err %v, want %q", name, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %q, %v; want %q", name, got, err, c.want)
		}
	}
	if _, err := ReadDigestFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file accepted")
	}
}

func TestACL(t *testing.T) {
	worldAll := zk.WorldACL(zk.PermAll)
	creator := zk.AuthACL(zk.PermAll)
	for _, c := range []struct {
		mode string
		auth bool
		want []zk.ACL
		ok   bool
	}{
		{"open", false, worldAll, true},
		{"", false, worldAll, true},
		{"creator", true, creator, true},
		{"world-read", true, append(zk.WorldACL(zk.PermRead), creator...), true},
		{"creator", false, nil, false},
		{"world-read", false, nil, false},
		{"bogus", true, nil, false},
		{"auto", true, creator, true},
		{"auto", false, nil, false},
	} {
		got, err := ACL(c.mode, c.auth)
		if (err == nil) != c.ok || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ACL(%q, %v) = %v, %v", c.mode, c.auth, got, err)
		}
	}
}
