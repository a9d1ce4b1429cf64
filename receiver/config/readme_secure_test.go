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

package config

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// TestReadmeSecureGuardExample loads the Secure ZooKeeper section's
// receiver configuration as written, with its /etc/zkwatch/ key material
// made in a temporary directory, and checks that the guard gets the
// members, the target label and a TLS configuration with a client
// certificate.
func TestReadmeSecureGuardExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(# zkwatch_receiver: the quorum guard.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("README.md has no receiver guard example in Secure ZooKeeper")
	}
	dir := t.TempDir()
	certs, err := zktest.NewCerts(filepath.Join(dir, "gen"))
	if err != nil {
		t.Fatal(err)
	}
	for src, dst := range map[string]string{certs.CAFile: "ca.pem", certs.ClientCert: "receiver.pem", certs.ClientKey: "receiver-key.pem"} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfgFile := filepath.Join(dir, "receiver.yml")
	if err := os.WriteFile(cfgFile, []byte(strings.ReplaceAll(string(m[1]), "/etc/zkwatch/", dir+"/")), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadFile(cfgFile)
	if err != nil {
		t.Fatalf("README.md's guard example: %v", err)
	}
	if len(c.Restarts) != 1 {
		t.Fatalf("restarts %+v", c.Restarts)
	}
	g := c.Restarts[0].Guard
	if strings.Join(g.ZooKeeper, ",") != "zk1:2281,zk2:2281,zk3:2281" || g.TargetLabel != "server" {
		t.Errorf("guard %+v", g)
	}
	tc := g.TLSConfig()
	if tc == nil || tc.RootCAs == nil || tc.GetClientCertificate == nil {
		t.Fatal("guard TLS configuration lacks the CA or the receiver's client certificate")
	}
	if cert, err := tc.GetClientCertificate(&tls.CertificateRequestInfo{}); err != nil || len(cert.Certificate) == 0 {
		t.Errorf("the receiver's client certificate: %v", err)
	}
}
