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

package zktest

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/fourlw"
)

// TestTLSEnsemble checks the harness's TLS: four-letter words over TLS on
// the secure port with the client certificate, a refusal without it
// (ssl.clientAuth=need), and the AdminServer over https.
func TestTLSEnsemble(t *testing.T) {
	e := Start(t, 1, func(o *Options) { o.TLS = &TLSOptions{AdminHTTPS: true} })
	tc, err := e.Certs.Client().TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	ask := func(tc *tls.Config) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return fourlw.DoTLS(ctx, tc, e.Members[0].SecureAddr(), "srvr", 0)
	}
	out, err := ask(tc)
	if err != nil || !strings.Contains(string(out), "Mode: standalone") {
		t.Fatalf("srvr over TLS: %q, %v", out, err)
	}
	noCert := tc.Clone()
	noCert.Certificates = nil
	if _, err := ask(noCert); !errors.Is(err, fourlw.ErrTLS) {
		t.Fatalf("srvr without a client certificate: %v, want a TLS error", err)
	}
	client := fourlw.AdminClient(tc)
	resp, err := client.Get(strings.Replace(e.Members[0].AdminURL(), "http:", "https:", 1) + "/commands/ruok")
	if err != nil {
		t.Fatalf("AdminServer over https: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"command" : "ruok"`) {
		t.Fatalf("AdminServer over https: %d %s", resp.StatusCode, body)
	}
}

// TestAddMemberTLS adds a member to a TLS ensemble at run time: it gets its
// own secure client port and serves TLS there with the ensemble's key
// material once a reconfiguration has made it a voter.
func TestAddMemberTLS(t *testing.T) {
	e := Start(t, 1, func(o *Options) { o.Reconfig, o.TLS = true, &TLSOptions{} })
	added, err := e.AddMember()
	if err != nil {
		t.Fatal(err)
	}
	m := e.Members[added]
	taken := map[int]bool{}
	for _, o := range e.Members {
		for _, p := range []int{o.ClientPort, o.AdminPort, o.QuorumPort, o.ElectPort, o.SecurePort} {
			if p == 0 || taken[p] {
				t.Fatalf("member %d: port %d missing or shared", o.ID, p)
			}
			taken[p] = true
		}
	}
	conn, _, err := zk.Connect(e.Addrs()[:1], 4*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := WaitFor(60*time.Second, 200*time.Millisecond, func() error {
		_, err := conn.IncrementalReconfig([]string{e.ServerLine(m)}, nil, -1)
		return err
	}); err != nil {
		t.Fatalf("reconfig add: %v", err)
	}
	// WaitHealthy also requires every member to answer on its secure port.
	if err := e.WaitHealthy(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	tc, err := e.Certs.Client().TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := fourlw.DoTLS(ctx, tc, m.SecureAddr(), "srvr", 0)
	if err != nil || !strings.Contains(string(out), "Mode: ") {
		t.Fatalf("srvr over TLS on the added member %s: %q, %v", m.SecureAddr(), out, err)
	}
}
