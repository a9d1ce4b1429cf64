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

// Package zktls holds the one set of TLS settings every zkwatch binary uses
// for its connections to ZooKeeper's secure client port, the
// --zookeeper.tls.* flags that fill it, and the dialer that speaks it.
package zktls

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/alecthomas/kingpin/v2"
)

// Config is the TLS configuration for connections to ZooKeeper. The zero
// value means plain TCP.
type Config struct {
	CAFile             string
	CertFile           string
	KeyFile            string
	ServerName         string
	InsecureSkipVerify bool
	// Enabled is set when any of the fields above was given.
	Enabled bool
}

// AddFlags registers the --zookeeper.tls.* flags on app and returns the
// Config they fill at parse time. Call Enabled/TLSConfig after parsing.
func AddFlags(app *kingpin.Application) *Config {
	c := &Config{}
	app.Flag("zookeeper.tls.ca-file", "PEM file of the CA(s) that signed the ZooKeeper servers' certificates. Any --zookeeper.tls.* flag turns TLS on for every ZooKeeper connection (use the members' secureClientPort).").
		StringVar(&c.CAFile)
	app.Flag("zookeeper.tls.cert-file", "PEM client certificate, for servers with ssl.clientAuth=need.").
		StringVar(&c.CertFile)
	app.Flag("zookeeper.tls.key-file", "PEM key of --zookeeper.tls.cert-file.").
		StringVar(&c.KeyFile)
	app.Flag("zookeeper.tls.server-name", "Name to verify the servers' certificates against (default: the host of each member's address).").
		StringVar(&c.ServerName)
	app.Flag("zookeeper.tls.insecure-skip-verify", "Do not verify the servers' certificates (testing only).").
		BoolVar(&c.InsecureSkipVerify)
	return c
}

// On reports whether TLS is configured.
func (c *Config) On() bool {
	return c != nil && (c.Enabled || c.CAFile != "" || c.CertFile != "" || c.KeyFile != "" || c.ServerName != "" || c.InsecureSkipVerify)
}

// TLSConfig loads the files and returns the client configuration, or nil
// when TLS is off. Errors name the file at fault.
func (c *Config) TLSConfig() (*tls.Config, error) {
	if !c.On() {
		return nil, nil
	}
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         c.ServerName,
		InsecureSkipVerify: c.InsecureSkipVerify, //nolint:gosec // an explicit operator choice
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("zookeeper TLS CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("zookeeper TLS CA file %s: no PEM certificate found", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return nil, errors.New("zookeeper TLS: --zookeeper.tls.cert-file and --zookeeper.tls.key-file go together")
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("zookeeper TLS client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// ForHost returns a copy of tc that verifies against host when no server
// name was configured.
func ForHost(tc *tls.Config, addr string) *tls.Config {
	c := tc.Clone()
	if c.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		c.ServerName = host
	}
	return c
}

// HandshakeError marks a failure of the TLS handshake (wrong CA, expired or
// missing certificate), so that callers can tell it from a refused or silent
// server.
type HandshakeError struct{ Err error }

func (e *HandshakeError) Error() string { return "tls handshake: " + e.Err.Error() }
func (e *HandshakeError) Unwrap() error { return e.Err }

// IsTLS reports whether err comes from TLS rather than from the network or
// the server: a failed handshake, a certificate the peer rejected (with TLS
// 1.3 the server refuses a missing or untrusted client certificate only
// after the client's handshake has completed, so the refusal arrives as an
// alert on the first read), or a peer that does not speak TLS.
func IsTLS(err error) bool {
	if err == nil {
		return false
	}
	var (
		he *HandshakeError
		re tls.RecordHeaderError
		ve *tls.CertificateVerificationError
		ue x509.UnknownAuthorityError
		ce x509.CertificateInvalidError
		hn x509.HostnameError
		op *net.OpError
		ae tls.AlertError
	)
	switch {
	case errors.As(err, &he), errors.As(err, &re), errors.As(err, &ve), errors.As(err, &ue),
		errors.As(err, &ce), errors.As(err, &hn), errors.As(err, &ae):
		return true
	case errors.As(err, &op) && op.Op == "remote error":
		// crypto/tls reports a received alert as a *net.OpError with this Op.
		return true
	}
	return false
}

// DialContext connects to addr and, when tc is not nil, completes the TLS
// handshake before ctx ends. A handshake failure is a *HandshakeError.
func DialContext(ctx context.Context, tc *tls.Config, network, addr string) (net.Conn, error) {
	return dial(ctx, &net.Dialer{}, tc, network, addr)
}

// DialOnce is DialContext for a connection that carries one command and
// its answer (a four-letter word): it enables no TCP keep-alive, which
// would cost a few system calls per connection for nothing.
func DialOnce(ctx context.Context, tc *tls.Config, network, addr string) (net.Conn, error) {
	return dial(ctx, &net.Dialer{KeepAlive: -1}, tc, network, addr)
}

func dial(ctx context.Context, d *net.Dialer, tc *tls.Config, network, addr string) (net.Conn, error) {
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil || tc == nil {
		return conn, err
	}
	tconn := tls.Client(conn, ForHost(tc, addr))
	if err := tconn.HandshakeContext(ctx); err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &HandshakeError{Err: err}
	}
	return tconn, nil
}

// Dialer returns a go-zookeeper dialer (zk.WithDialer) that speaks TLS with
// tc; each dial, handshake included, is bounded by timeout.
func Dialer(tc *tls.Config) func(network, address string, timeout time.Duration) (net.Conn, error) {
	return func(network, address string, timeout time.Duration) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return DialContext(ctx, tc, network, address)
	}
}
