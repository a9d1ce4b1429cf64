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

package zktls_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktest"
	"github.com/zkwatch/zkwatch/internal/zktls"
)

// serve accepts connections on a loopback listener and hands each to h.
func serve(t *testing.T, h func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go h(c)
		}
	}()
	return l.Addr().String()
}

// tlsServer answers "ok" over TLS 1.3 and requires a client certificate
// signed by the certs' CA.
func tlsServer(t *testing.T, certs *zktest.Certs) string {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(filepath.Join(certs.Dir, "server.pem"), filepath.Join(certs.Dir, "server-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := os.ReadFile(certs.CAFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	sc := &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS13}
	return serve(t, func(c net.Conn) {
		defer c.Close()
		tc := tls.Server(c, sc)
		if tc.Handshake() == nil {
			_, _ = io.WriteString(tc, "ok")
		}
	})
}

func TestDialContext(t *testing.T) {
	certs, err := zktest.NewCerts(filepath.Join(t.TempDir(), "a"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := zktest.NewCerts(filepath.Join(t.TempDir(), "b"))
	if err != nil {
		t.Fatal(err)
	}
	addr := tlsServer(t, certs)
	load := func(c *zktls.Config) *tls.Config {
		tc, err := c.TLSConfig()
		if err != nil {
			t.Fatal(err)
		}
		return tc
	}
	read := func(tc *tls.Config, addr string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		conn, err := zktls.DialContext(ctx, tc, "tcp", addr)
		if err != nil {
			return "", err
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
		b, err := io.ReadAll(conn)
		return string(b), err
	}

	if got, err := read(load(certs.Client()), addr); err != nil || got != "ok" {
		t.Fatalf("good client: %q, %v", got, err)
	}
	// Wrong CA: the client refuses the server during the handshake.
	_, err = read(load(&zktls.Config{CAFile: other.CAFile, CertFile: certs.ClientCert, KeyFile: certs.ClientKey}), addr)
	var he *zktls.HandshakeError
	if !errors.As(err, &he) || !zktls.IsTLS(err) {
		t.Errorf("wrong CA: %v, want a HandshakeError", err)
	}
	// No client certificate: with TLS 1.3 the client's handshake completes
	// and the server's refusal arrives as an alert on the first read.
	_, err = read(load(&zktls.Config{CAFile: certs.CAFile}), addr)
	if err == nil || !zktls.IsTLS(err) {
		t.Errorf("missing client certificate: %v, want a TLS error", err)
	}
	// A server whose certificate has expired (a forgotten rotation).
	expCert, expKey, err := certs.Issue("expired-server", time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	expired, err := tls.LoadX509KeyPair(expCert, expKey)
	if err != nil {
		t.Fatal(err)
	}
	stale := serve(t, func(c net.Conn) {
		defer c.Close()
		_ = tls.Server(c, &tls.Config{Certificates: []tls.Certificate{expired}}).Handshake()
	})
	_, err = read(load(certs.Client()), stale)
	var ce x509.CertificateInvalidError
	if !errors.As(err, &he) || !errors.As(err, &ce) || ce.Reason != x509.Expired {
		t.Errorf("expired server certificate: %v, want a HandshakeError for an expired certificate", err)
	}
	// A peer that does not speak TLS (ZooKeeper's plain port closes on a
	// ClientHello it cannot frame).
	plain := serve(t, func(c net.Conn) { c.Close() })
	if _, err = read(load(certs.Client()), plain); !errors.As(err, &he) {
		t.Errorf("plain peer: %v, want a HandshakeError", err)
	}
	// A silent peer (a paused JVM): the deadline ends the handshake, and
	// that is a timeout, not a TLS failure.
	silent := serve(t, func(c net.Conn) { time.Sleep(5 * time.Second); c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	begin := time.Now()
	_, err = zktls.DialContext(ctx, load(certs.Client()), "tcp", silent)
	if !errors.Is(err, context.DeadlineExceeded) || zktls.IsTLS(err) || time.Since(begin) > time.Second {
		t.Errorf("silent peer: %v after %s, want the context's deadline", err, time.Since(begin))
	}
}

func TestTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "x.pem")
	_ = os.WriteFile(notPEM, []byte("nothing"), 0o600)
	for name, c := range map[string]*zktls.Config{
		"missing CA":       {CAFile: filepath.Join(dir, "absent.pem")},
		"CA without PEM":   {CAFile: notPEM},
		"cert without key": {CertFile: notPEM},
		"unreadable cert":  {CertFile: notPEM, KeyFile: notPEM},
	} {
		if _, err := c.TLSConfig(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if tc, err := (&zktls.Config{}).TLSConfig(); tc != nil || err != nil {
		t.Errorf("zero Config: %v, %v; want plain TCP", tc, err)
	}
}
