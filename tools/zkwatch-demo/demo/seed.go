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

package demo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/go-kit/log"
	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/zksession"
)

// watchConfig is the exporter's watch configuration in the demo: every
// kind of watched path, so that every dashboard panel has data. The healthy
// demo fires no alert, so nothing here is broken on purpose: no orphaned
// or unclaimed task (no worker would ever take it), no unreadable path.
const watchConfig = `# Written by the zkwatch demo.
groups:
  - path: /monitor/demo
    expected: [app]
tasks:
  - root: /demo/pool
locks:
  - path: /demo/locks/singleton
elections:
  - path: /demo/election
znodes:
  - path: /demo/config
queues:
  - path: /demo/queue
`

// Identity is the digest identity (user:password) the demo's agents,
// receivers and seeded nodes share; DigestFile holds it.
const Identity = "zkwatch-demo:demo-secret"

// DigestFile is the digest file of Identity in the state directory dir.
func DigestFile(dir string) string { return filepath.Join(dir, "zk.digest") }

// WriteDigest writes DigestFile(dir), readable by its owner only.
func WriteDigest(dir string) error {
	return os.WriteFile(DigestFile(dir), []byte(Identity+"\n"), 0o600)
}

// seed creates the demo's tasks, workers, election candidates, queue items
// and configuration node with a session of its own, held while the demo
// runs (its ephemerals are the demo's worker and candidates). Every task
// is claimed by the live worker or done: a healthy pool.
func seed(servers []string) (*zk.Conn, error) {
	conn, events, err := zk.Connect(servers, 4*time.Second, zk.WithLogInfo(false), zk.WithLogger(zksession.Logger(log.NewNopLogger())))
	if err != nil {
		return nil, err
	}
	deadline := time.After(30 * time.Second)
	for connected := false; !connected; {
		select {
		case ev := <-events:
			connected = ev.State == zk.StateHasSession
		case <-deadline:
			conn.Close()
			return nil, errors.New("seed: no ZooKeeper session")
		}
	}
	// The demo's nodes, like its agents' and receivers', are changed only
	// by the demo's identity; anyone reads (the exporter watches them).
	if err := conn.AddAuth("digest", []byte(Identity)); err != nil {
		conn.Close()
		return nil, err
	}
	acl, _ := zksession.ACL(zksession.ACLWorldRead, true)
	create := func(path string, data string, flags int32) error {
		_, err := conn.Create(path, []byte(data), flags, acl)
		if errors.Is(err, zk.ErrNodeExists) {
			return nil
		}
		return err
	}
	steps := []struct {
		path, data string
		flags      int32
	}{
		{"/demo", "", 0},
		{"/demo/config", `{"feature":"on"}`, 0},
		{"/demo/queue", "", 0},
		{"/demo/election", "", 0},
		{"/demo/locks", "", 0},
		{"/demo/pool", "", 0},
		{"/demo/pool/Tasks", "", 0},
		{"/demo/pool/Workers", "", 0},
		{"/demo/pool/Workers/worker-1", "", zk.FlagEphemeral},
		{"/demo/pool/Tasks/task-1", `{"worker":"worker-1","state":"claimed"}`, 0},
		{"/demo/pool/Tasks/task-2", `{"worker":"worker-1","state":"claimed"}`, 0},
		{"/demo/pool/Tasks/task-3", `{"worker":"worker-1","state":"running"}`, 0},
		{"/demo/pool/Tasks/task-4", `{"worker":"worker-1","state":"done"}`, 0},
	}
	for _, s := range steps {
		if err := create(s.path, s.data, s.flags); err != nil {
			conn.Close()
			return nil, fmt.Errorf("seed %s: %w", s.path, err)
		}
	}
	for i := 0; i < 3; i++ {
		if _, err := conn.Create("/demo/queue/item-", []byte("job"), zk.FlagSequence, acl); err != nil {
			conn.Close()
			return nil, err
		}
	}
	for _, id := range []string{"2f1c", "9a7e"} {
		if _, err := conn.Create(fmt.Sprintf("/demo/election/_c_%s-latch-", id), nil, zk.FlagEphemeral|zk.FlagSequence, acl); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return conn, nil
}
