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
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/agent/supervise"
	"github.com/zkwatch/zkwatch/internal/zksession"
	"github.com/zkwatch/zkwatch/internal/zktest"
	"github.com/zkwatch/zkwatch/internal/zktls"
)

// TestAgentOverTLS runs the agent binary in register and lock modes against
// a real 3-member ensemble that serves TLS clients only with a client
// certificate (ssl.clientAuth=need), with digest auth, a chroot and the
// world-read ACL: the member node appears, a client with another
// certificate and no digest cannot delete it, and the lock's command runs.
//
// ZooKeeper authenticates a TLS client by its certificate (scheme x509) and
// puts every identity of the creating session into a creator ACL: a client
// presenting the agent's own certificate has the agent's rights. The test
// shows both, so that the README's advice (one certificate per identity)
// stays true.
func TestAgentOverTLS(t *testing.T) {
	ens := zktest.Start(t, 3, func(o *zktest.Options) { o.TLS = &zktest.TLSOptions{} })
	c := ens.Certs
	servers := strings.Join(ens.SecureAddrs(), ",")
	dir := t.TempDir()
	digest := filepath.Join(dir, "digest")
	if err := os.WriteFile(digest, []byte("agent:s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tlsFlags := []string{"--zookeeper.tls.ca-file=" + c.CAFile, "--zookeeper.tls.cert-file=" + c.ClientCert,
		"--zookeeper.tls.key-file=" + c.ClientKey, "--zookeeper.auth.digest-file=" + digest,
		"--zookeeper.chroot=/app", "--zookeeper.acl=world-read"}
	reg := startAgent(t, servers, append(tlsFlags, "--register=/monitor/svc", "--member=node1", "--", "sleep", "100")...)
	script := `echo $$ > "$0/lock.pid"; exec sleep 1000`
	lock := startAgent(t, servers, append(tlsFlags, "lock", "--path=/locks/job", "--", "sh", "-c", script, dir)...)

	otherCert, otherKey, err := c.Issue("observer", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	anon := tlsObserver(t, ens.SecureAddrs(), &zktls.Config{CAFile: c.CAFile, CertFile: otherCert, KeyFile: otherKey})
	const member = "/app/monitor/svc/node1"
	if err := zktest.WaitFor(waitLong, 20*time.Millisecond, func() error {
		_, st, err := anon.Get(member)
		if err == nil && st.EphemeralOwner == 0 {
			err = fmt.Errorf("%s is not ephemeral", member)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := anon.Delete(member, -1); !errors.Is(err, zk.ErrNoAuth) {
		t.Errorf("delete by another certificate without the digest: %v, want %v", err, zk.ErrNoAuth)
	}
	acl, _, err := anon.GetACL(member)
	if err != nil {
		t.Fatal(err)
	}
	x509Creator := false
	for _, a := range acl {
		x509Creator = x509Creator || a == zk.ACL{Perms: zk.PermAll, Scheme: "x509", ID: "CN=client"}
	}
	if !x509Creator {
		t.Errorf("member ACL %v lacks the agent certificate's identity x509:CN=client", acl)
	}
	if err := zktest.WaitFor(waitLong, 20*time.Millisecond, func() error {
		pid, err := supervise.ReadPIDFile(filepath.Join(dir, "lock.pid"))
		if err != nil || !supervise.Alive(pid) {
			return fmt.Errorf("lock command not running (%v)", err)
		}
		held, err := lock.metric("zkwatch_agent_lock_held")
		if err == nil && held != 1 {
			err = fmt.Errorf("lock_held %v", held)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	children, _, err := anon.Children("/app/locks/job")
	if err != nil || len(children) != 1 {
		t.Errorf("lock contenders over TLS: %v, %v; want one", children, err)
	}
	sameCert := tlsObserver(t, ens.SecureAddrs(), c.Client())
	if _, err := sameCert.Set(member, []byte("{}"), -1); err != nil {
		t.Errorf("write with the agent's certificate: %v, want allowed (x509 creator identity)", err)
	}
	reg.signal(syscall.SIGTERM)
	reg.exitCode(t)
	if ok, _, err := anon.Exists(member); err != nil || ok {
		t.Errorf("member left after exit: %v %v", ok, err)
	}
}

// tlsObserver is a client session for the test over TLS with c's
// certificate.
func tlsObserver(t *testing.T, servers []string, c *zktls.Config) *zk.Conn {
	t.Helper()
	tc, err := c.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	conn, _, err := zk.Connect(servers, sessionTimeout, zk.WithLogInfo(false),
		zk.WithLogger(zksession.Logger(log.NewNopLogger())), zk.WithDialer(zktls.Dialer(tc)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	return conn
}
