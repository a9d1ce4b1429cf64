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
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktls"
)

// TLSOptions make every member serve a secure client port (Netty, with the
// plain client port kept for the harness's own health checks).
type TLSOptions struct {
	// ClientAuth is ssl.clientAuth: none, want or need (default need).
	ClientAuth string
	// AdminHTTPS makes the AdminServer answer https as well as http on its
	// port (admin.portUnification with the same key material).
	AdminHTTPS bool
}

// NettyCodecJar is the jar Debian's ZooKeeper lacks on its manifest
// classpath for NettyServerCnxnFactory.
const NettyCodecJar = "/usr/share/java/netty-codec.jar"

// Certs is key material made at test time: a CA, a server certificate for
// 127.0.0.1 and localhost, and a client certificate, as PEM files. The
// server's key store (key and chain in one PEM file) and trust store are in
// the PEM format ZooKeeper 3.6+ reads with ssl.keyStore.type=PEM.
type Certs struct {
	Dir string
	// CAFile holds the CA certificate (also the servers' trust store).
	CAFile string
	// ServerStore holds the server's key and certificate chain.
	ServerStore string
	// ClientCert and ClientKey are a client certificate signed by the CA.
	ClientCert, ClientKey string

	ca    *x509.Certificate
	caKey crypto.Signer
}

// NewCerts makes a fresh CA and the server and client certificates in dir.
func NewCerts(dir string) (*Certs, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "zkwatch test CA " + filepath.Base(dir)},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	c := &Certs{Dir: dir, CAFile: filepath.Join(dir, "ca.pem"), caKey: key}
	if c.ca, err = x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	if err := os.WriteFile(c.CAFile, pemBlock("CERTIFICATE", der), 0o644); err != nil {
		return nil, err
	}
	cert, k, err := c.Issue("server", now.Add(-time.Hour), now.Add(24*time.Hour))
	if err != nil {
		return nil, err
	}
	// The key store: private key first, then the chain.
	c.ServerStore = filepath.Join(dir, "server-store.pem")
	if err := concat(c.ServerStore, k, cert, c.CAFile); err != nil {
		return nil, err
	}
	c.ClientCert, c.ClientKey, err = c.Issue("client", now.Add(-time.Hour), now.Add(24*time.Hour))
	return c, err
}

// Issue signs a certificate valid from notBefore to notAfter for 127.0.0.1
// and localhost, usable by servers and clients, and writes name.pem and
// name-key.pem. An expired certificate is one with notAfter in the past.
func (c *Certs) Issue(name string, notBefore, notAfter time.Time) (certFile, keyFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: name},
		NotBefore: notBefore, NotAfter: notAfter,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.ca, &key.PublicKey, c.caKey)
	if err != nil {
		return "", "", err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(c.Dir, name+".pem"), filepath.Join(c.Dir, name+"-key.pem")
	if err := os.WriteFile(certFile, pemBlock("CERTIFICATE", der), 0o644); err != nil {
		return "", "", err
	}
	return certFile, keyFile, os.WriteFile(keyFile, pemBlock("PRIVATE KEY", pkcs8), 0o600)
}

// Client returns the zkwatch TLS settings of a client that trusts the CA
// and presents the client certificate.
func (c *Certs) Client() *zktls.Config {
	return &zktls.Config{CAFile: c.CAFile, CertFile: c.ClientCert, KeyFile: c.ClientKey}
}

// zooCfg returns the zoo.cfg lines that serve TLS on securePort.
func (c *Certs) zooCfg(o *TLSOptions, securePort int) string {
	auth := o.ClientAuth
	if auth == "" {
		auth = "need"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\nsecureClientPort=%d\nsecureClientPortAddress=127.0.0.1\n", securePort)
	fmt.Fprintf(&b, "ssl.clientAuth=%s\n", auth)
	// The AdminServer reads the quorum key material (ssl.quorum.*); it is
	// only used for quorum traffic when sslQuorum=true, which stays off.
	prefixes := []string{"ssl."}
	if o.AdminHTTPS {
		prefixes = append(prefixes, "ssl.quorum.")
		b.WriteString("admin.portUnification=true\n")
	}
	for _, p := range prefixes {
		fmt.Fprintf(&b, "%skeyStore.location=%s\n%skeyStore.type=PEM\n", p, c.ServerStore, p)
		fmt.Fprintf(&b, "%strustStore.location=%s\n%strustStore.type=PEM\n", p, c.CAFile, p)
	}
	return b.String()
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func concat(dst string, srcs ...string) error {
	var out []byte
	for _, s := range srcs {
		b, err := os.ReadFile(s)
		if err != nil {
			return err
		}
		out = append(out, b...)
	}
	return os.WriteFile(dst, out, 0o600)
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}
