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

package ha

import (
	"errors"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// TestWindowsSharedAndProtected: a window one replica writes, the other
// reads; an unauthenticated client cannot add one; a window node with an
// open ACL is not believed but deleted; a windows directory with an open
// ACL is refused, for reads and writes.
func TestWindowsSharedAndProtected(t *testing.T) {
	e := zktest.Start(t, 1)
	a, b := protectedClaimer(t, e.Addrs(), "a"), protectedClaimer(t, e.Addrs(), "b")
	for _, c := range []*Claimer{a, b} {
		if ok, err := c.Verify(30 * time.Second); !ok || err != nil {
			t.Fatalf("Verify: %v %v", ok, err)
		}
	}
	if err := a.PutWindow("w1", []byte(`{"id":"w1"}`)); err != nil {
		t.Fatal(err)
	}
	got, err := b.Windows()
	if err != nil || string(got["w1"]) != `{"id":"w1"}` || len(got) != 1 {
		t.Fatalf("b reads %q, %v", got, err)
	}
	dir := "/zkwatch/receiver/maintenance"
	if _, err := anonymous(t, e.Addrs()).Create(dir+"/forged", []byte(`{"id":"forged"}`), 0, zk.WorldACL(zk.PermAll)); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("anonymous create: %v, want no auth", err)
	}
	// A node left with an open ACL (an older open setup, say).
	authed := anonymous(t, e.Addrs())
	if err := authed.AddAuth("digest", []byte("rcv:s3cret")); err != nil {
		t.Fatal(err)
	}
	if _, err := authed.Create(dir+"/open", []byte(`{"id":"open"}`), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if got, err = b.Windows(); err != nil || len(got) != 1 || got["open"] != nil {
		t.Fatalf("b reads %q, %v; want the open node ignored", got, err)
	}
	if ok, _, err := authed.Exists(dir + "/open"); ok || err != nil {
		t.Errorf("open window node still there: %v %v", ok, err)
	}
	if err := b.DeleteWindow("w1"); err != nil {
		t.Fatal(err)
	}
	if got, err = a.Windows(); err != nil || len(got) != 0 {
		t.Fatalf("after delete a reads %q, %v", got, err)
	}
	if _, err := authed.SetACL(dir, zk.WorldACL(zk.PermAll), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Windows(); !errors.Is(err, ErrUnprotected) {
		t.Errorf("open directory read: %v, want ErrUnprotected", err)
	}
	if err := a.PutWindow("w2", []byte(`{}`)); !errors.Is(err, ErrUnprotected) {
		t.Errorf("open directory write: %v, want ErrUnprotected", err)
	}
}
