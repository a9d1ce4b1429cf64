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
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/zksession"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

// protectedClaimer is a started Claimer with digest credentials and the
// creator ACL, as the receiver's default configuration makes it.
func protectedClaimer(t *testing.T, servers []string, name string) *Claimer {
	t.Helper()
	acl, _ := zksession.ACL(zksession.ACLCreator, true)
	c, err := New(Options{Session: zksession.Options{Servers: servers, SessionTimeout: 4 * time.Second, Digest: []string{"rcv:s3cret"}},
		Path: "/zkwatch/receiver", Replica: name, ACL: acl}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func anonymous(t *testing.T, servers []string) *zk.Conn {
	t.Helper()
	conn, _, err := zk.Connect(servers, 4*time.Second, zk.WithLogInfo(false), zk.WithLogger(zksession.Logger(log.NewNopLogger())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	return conn
}

// TestForgedClaimNotTrusted: a claim node that anyone could have written
// (an open ACL, here a forged "success") is not believed by a replica
// that creates its claims with the creator ACL: it is replaced and the
// replica acts. Before, the forged success stopped the restart.
func TestForgedClaimNotTrusted(t *testing.T) {
	e := zktest.Start(t, 1)
	anon := anonymous(t, e.Addrs())
	open := zk.WorldACL(zk.PermAll)
	for _, p := range []string{"/zkwatch", "/zkwatch/receiver", "/zkwatch/receiver/claims", "/zkwatch/receiver/claims/inc1"} {
		if _, err := anon.Create(p, nil, 0, open); err != nil {
			t.Fatal(err)
		}
	}
	k := Key{Incident: "inc1", Action: "restart/r", Attempt: 1, UntilSuccess: true}
	forged := `{"owner":"mallory","session":"0x1","claimed":"2026-01-01T00:00:00Z","outcome":"success"}`
	if _, err := anon.Create("/zkwatch/receiver/claims/inc1/"+k.node(), []byte(forged), 0, open); err != nil {
		t.Fatal(err)
	}
	c := protectedClaimer(t, e.Addrs(), "r1")
	// The open parents are refused first, naming the path.
	ok, err := c.Verify(30 * time.Second)
	if !ok || !errors.Is(err, ErrUnprotected) || !strings.Contains(err.Error(), "/zkwatch/receiver/claims grants world:anyone") {
		t.Fatalf("Verify = %v, %v; want the open claims directory refused", ok, err)
	}
	if _, err := c.Claim(context.Background(), k); !errors.Is(err, ErrUnprotected) {
		t.Fatalf("Claim under open parents: %v, want %v", err, ErrUnprotected)
	}
	// The operator protects the parents; the forged claim stays open.
	acl, _ := zksession.ACL(zksession.ACLCreator, true)
	if err := anon.AddAuth("digest", []byte("rcv:s3cret")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/zkwatch", "/zkwatch/receiver", "/zkwatch/receiver/claims", "/zkwatch/receiver/claims/inc1"} {
		if _, err := anon.SetACL(p, acl, -1); err != nil {
			t.Fatal(err)
		}
	}
	c2 := protectedClaimer(t, e.Addrs(), "r2")
	if _, err := c2.Verify(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	res, err := c2.Claim(context.Background(), k)
	if err != nil || !res.Won || res.Owner != "r2" {
		t.Fatalf("Claim = %+v, %v; want the forged success replaced and the claim won", res, err)
	}
}
