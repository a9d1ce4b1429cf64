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
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// TestCheckAncestors: on a real server, a pre-existing ancestor that lets
// world:anyone change it is refused under the creator modes and named,
// unless the mode is open; read access alone is fine.
func TestCheckAncestors(t *testing.T) {
	ens := zktest.Start(t, 1)
	conn, _, err := zk.Connect([]string{ens.Addrs()[0]}, 4*time.Second, zk.WithLogInfo(false), zk.WithLogger(Logger(log.NewNopLogger())))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.AddAuth("digest", []byte("zkwatch:secret")); err != nil {
		t.Fatal(err)
	}
	creator, _ := ACL(ACLCreator, true)
	worldRead, _ := ACL(ACLWorldRead, true)
	for _, p := range []string{"/open", "/open/ours"} {
		acl := creator
		if p == "/open" {
			acl = zk.WorldACL(zk.PermAll)
		}
		if _, err := conn.Create(p, nil, 0, acl); err != nil {
			t.Fatal(err)
		}
	}
	err = CheckAncestors(conn, "/open/ours/claims", creator)
	if err == nil || !strings.Contains(err.Error(), "/open grants world:anyone \"cdwa\"") {
		t.Errorf("open ancestor under creator: %v", err)
	}
	if err := CheckAncestors(conn, "/open/ours/claims", zk.WorldACL(zk.PermAll)); err != nil {
		t.Errorf("open ancestor under open: %v", err)
	}
	if _, err := conn.SetACL("/open", worldRead, -1); err != nil {
		t.Fatal(err)
	}
	for _, acl := range [][]zk.ACL{creator, worldRead} {
		if err := CheckAncestors(conn, "/open/ours/claims", acl); err != nil {
			t.Errorf("world-read ancestor under %v: %v", acl, err)
		}
	}
}
