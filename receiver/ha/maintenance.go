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
	"fmt"

	"github.com/go-kit/log/level"
	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/zksession"
)

// Windows shares maintenance windows between replicas: one node per
// window under Path/maintenance, named by the window's id and holding its
// JSON. A replica believes only nodes carrying the replicas' protected
// ACL, under a directory that carries it too: an unauthenticated client
// must not be able to pause (or resume) the self-healing.
type Windows interface {
	// PutWindow creates or replaces the window id.
	PutWindow(id string, data []byte) error
	// DeleteWindow removes the window id; a missing one is no error.
	DeleteWindow(id string) error
	// Windows returns every trusted window by id.
	Windows() (map[string][]byte, error)
}

func (c *Claimer) windowsDir() string { return c.m.Path(c.opts.Path) + "/maintenance" }

// checkWindowsDir refuses a windows directory whose ACL lets
// unauthenticated clients add or delete windows.
func (c *Claimer) checkWindowsDir(conn *zk.Conn) error {
	acl, _, err := conn.GetACL(c.windowsDir())
	if err != nil {
		return err
	}
	if zksession.MoreOpen(acl, c.acl) != 0 {
		return fmt.Errorf("%w: %s lets unauthenticated clients add or delete maintenance windows (ACL %v)", ErrUnprotected, c.windowsDir(), acl)
	}
	return nil
}

// PutWindow implements Windows.
func (c *Claimer) PutWindow(id string, data []byte) error {
	p := c.windowsDir() + "/" + id
	return c.do(context.Background(), func(conn *zk.Conn) error {
		if err := c.ensure(conn, c.windowsDir()); err != nil {
			return err
		}
		if err := c.checkWindowsDir(conn); err != nil {
			return err
		}
		if ok, err := c.windowTrusted(conn, p); err != nil && !errors.Is(err, zk.ErrNoNode) {
			return err
		} else if ok {
			_, err := conn.Set(p, data, -1)
			return err
		}
		_, err := conn.Create(p, data, 0, c.acl)
		return err
	})
}

// DeleteWindow implements Windows.
func (c *Claimer) DeleteWindow(id string) error {
	return c.do(context.Background(), func(conn *zk.Conn) error {
		return ignoreNoNode(conn.Delete(c.windowsDir()+"/"+id, -1))
	})
}

// Windows implements Windows. A window node with a more open ACL than the
// replicas' is not believed but deleted.
func (c *Claimer) Windows() (map[string][]byte, error) {
	out := map[string][]byte{}
	err := c.do(context.Background(), func(conn *zk.Conn) error {
		ids, _, err := conn.Children(c.windowsDir())
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		} else if err != nil {
			return err
		}
		if err := c.checkWindowsDir(conn); err != nil {
			return err
		}
		for _, id := range ids {
			p := c.windowsDir() + "/" + id
			ok, err := c.windowTrusted(conn, p)
			if errors.Is(err, zk.ErrNoNode) || (err == nil && !ok) {
				continue
			} else if err != nil {
				return err
			}
			data, _, err := conn.Get(p)
			if errors.Is(err, zk.ErrNoNode) {
				continue
			} else if err != nil {
				return err
			}
			out[id] = data
		}
		return nil
	})
	return out, err
}

// windowTrusted reports whether the window node at p carries no ACL more
// open than the replicas'; an untrusted one is deleted.
func (c *Claimer) windowTrusted(conn *zk.Conn, p string) (bool, error) {
	acl, _, err := conn.GetACL(p)
	if err != nil {
		return false, err
	}
	if zksession.MoreOpen(acl, c.acl) == 0 {
		return true, nil
	}
	level.Warn(c.logger).Log("msg", "maintenance window not trusted: its ACL lets unauthenticated clients change it; deleting it", "window", p)
	return false, ignoreNoNode(conn.Delete(p, -1))
}
