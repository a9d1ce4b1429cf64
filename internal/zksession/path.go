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
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/go-zookeeper/zk"
)

// ValidatePath checks a znode path: absolute, no empty, "." or ".."
// segment, no trailing slash, valid UTF-8 without control characters.
func ValidatePath(p string) error {
	switch {
	case p == "":
		return errors.New("path is empty")
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("path %q is not absolute", p)
	case p == "/":
		return nil
	case strings.HasSuffix(p, "/"):
		return fmt.Errorf("path %q ends with a slash", p)
	case !utf8.ValidString(p):
		return fmt.Errorf("path %q is not valid UTF-8", p)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("path %q contains a control character", p)
		}
	}
	for _, seg := range strings.Split(p[1:], "/") {
		switch seg {
		case "":
			return fmt.Errorf("path %q has an empty segment", p)
		case ".", "..":
			return fmt.Errorf("path %q has a relative segment %q", p, seg)
		}
	}
	return nil
}

// ReadDigestFile reads user:password lines for digest authentication;
// blank lines and lines starting with # are skipped.
func ReadDigestFile(file string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			if i := strings.IndexByte(line, ':'); i <= 0 {
				return nil, fmt.Errorf("%s: digest credentials must read user:password", file)
			}
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no user:password line", file)
	}
	return out, nil
}

// ACL modes for the nodes a client creates.
const (
	// ACLAuto is the binaries' default: creator when the client has an
	// identity (digest credentials or a client certificate), else refused.
	ACLAuto      = "auto"
	ACLOpen      = "open"       // world:anyone, all permissions (ZooKeeper's OPEN_ACL_UNSAFE)
	ACLCreator   = "creator"    // the creating identity only (CREATOR_ALL_ACL)
	ACLWorldRead = "world-read" // anyone may read; the creating identity may do all
)

// ACLModes lists the values ACL accepts.
var ACLModes = []string{ACLAuto, ACLOpen, ACLCreator, ACLWorldRead}

// ErrNoIdentity is ACL's answer to auto without an identity.
var ErrNoIdentity = errors.New("no ZooKeeper identity, so the nodes would be writable and deletable by any client that reaches ZooKeeper: " +
	"give digest credentials (a user:password file) or a client certificate, or accept that with the ACL mode open")

// ACL returns the ACL of a mode ("" is open, for library callers). The
// creator modes need an authenticated identity (digest credentials or a
// client certificate): ZooKeeper refuses them otherwise.
func ACL(mode string, authenticated bool) ([]zk.ACL, error) {
	if mode == ACLAuto {
		if !authenticated {
			return nil, ErrNoIdentity
		}
		mode = ACLCreator
	}
	switch mode {
	case ACLOpen, "":
		return zk.WorldACL(zk.PermAll), nil
	case ACLCreator, ACLWorldRead:
		if !authenticated {
			return nil, fmt.Errorf("ACL %q needs an authenticated identity: give digest credentials", mode)
		}
		acl := zk.AuthACL(zk.PermAll)
		if mode == ACLWorldRead {
			acl = append(zk.WorldACL(zk.PermRead), acl...)
		}
		return acl, nil
	}
	return nil, fmt.Errorf("unknown ACL %q (want one of %s)", mode, strings.Join(ACLModes, ", "))
}

// worldPerms returns the permissions acl grants to world:anyone.
func worldPerms(acl []zk.ACL) int32 {
	var perms int32
	for _, a := range acl {
		if a.Scheme == "world" && a.ID == "anyone" {
			perms |= a.Perms
		}
	}
	return perms
}

// permNames spells permissions as ZooKeeper's CLI does.
func permNames(perms int32) string {
	var b strings.Builder
	for _, p := range []struct {
		bit  int32
		name byte
	}{{zk.PermCreate, 'c'}, {zk.PermDelete, 'd'}, {zk.PermRead, 'r'}, {zk.PermWrite, 'w'}, {zk.PermAdmin, 'a'}} {
		if perms&p.bit != 0 {
			b.WriteByte(p.name)
		}
	}
	return b.String()
}

// MoreOpen returns the change permissions (create, delete, write, admin)
// that got grants world:anyone and want does not: a node with such an ACL
// may have been written by anyone.
func MoreOpen(got, want []zk.ACL) int32 {
	return worldPerms(got) &^ worldPerms(want) &^ zk.PermRead
}

// CheckAncestors checks dir and every existing ancestor of it but the
// root: none may grant world:anyone a change permission (create, delete,
// write, admin) that acl does not grant it. A node's parent decides who
// may delete it or create siblings, so an open parent would let any client
// delete or forge the nodes a client creates with acl. The error names the
// path.
func CheckAncestors(conn *zk.Conn, dir string, acl []zk.ACL) error {
	for p := dir; p != "/" && p != "." && p != ""; p = path.Dir(p) {
		got, _, err := conn.GetACL(p)
		if errors.Is(err, zk.ErrNoNode) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading the ACL of %s: %w", p, err)
		}
		if extra := MoreOpen(got, acl); extra != 0 {
			return fmt.Errorf("%s grants world:anyone %q, more than the configured ACL: any client could delete or forge the nodes below it; "+
				"restrict it (in zkCli.sh: addauth digest USER:PASSWORD, then setAcl %s auth::cdrwa) or use the ACL mode open", p, permNames(extra), p)
		}
	}
	return nil
}
