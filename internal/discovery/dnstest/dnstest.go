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

// Package dnstest is a tiny authoritative DNS server on 127.0.0.1 for
// tests: it answers A, AAAA and SRV questions over UDP from records the
// test changes while it runs, and NXDOMAIN for any other name. Resolver
// gives a net.Resolver that asks only this server, so test names (use
// .test. or .invalid.) never leave the loopback.
package dnstest

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// Server answers from its records.
type Server struct {
	conn    net.PacketConn
	mu      sync.Mutex
	ips     map[string][]netip.Addr
	srvs    map[string][]net.SRV
	fail    map[string]bool
	queries atomic.Int64
}

// Start serves on 127.0.0.1 until the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("dnstest: %v", err)
	}
	s := &Server{conn: conn, ips: map[string][]netip.Addr{}, srvs: map[string][]net.SRV{}, fail: map[string]bool{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.serve()
	}()
	tb.Cleanup(func() {
		conn.Close()
		<-done
	})
	return s
}

// Addr is the server's UDP address.
func (s *Server) Addr() string { return s.conn.LocalAddr().String() }

// Queries is the number of questions answered so far.
func (s *Server) Queries() int64 { return s.queries.Load() }

// Resolver asks this server only (the Go resolver, over UDP).
func (s *Server) Resolver() *net.Resolver {
	addr := s.Addr()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

func fqdn(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) + "." }

// SetA makes name answer the given addresses (A or AAAA by family); no
// address makes the name exist without any.
func (s *Server) SetA(name string, addrs ...string) {
	ips := make([]netip.Addr, len(addrs))
	for i, a := range addrs {
		ips[i] = netip.MustParseAddr(a)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ips[fqdn(name)] = ips
	delete(s.fail, fqdn(name))
}

// SetSRV makes name answer the given SRV records.
func (s *Server) SetSRV(name string, records ...net.SRV) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.srvs[fqdn(name)] = records
	delete(s.fail, fqdn(name))
}

// Delete removes name's records: it answers NXDOMAIN.
func (s *Server) Delete(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ips, fqdn(name))
	delete(s.srvs, fqdn(name))
}

// Fail makes questions about name answer SERVFAIL until it is set again.
func (s *Server) Fail(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[fqdn(name)] = true
}

func (s *Server) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(buf[:n])
		if err != nil {
			continue
		}
		q, err := p.Question()
		if err != nil {
			continue
		}
		if out, err := s.answer(h, q); err == nil {
			s.queries.Add(1)
			_, _ = s.conn.WriteTo(out, from)
		}
	}
}

// answer builds the reply to question q of the query with header h.
func (s *Server) answer(h dnsmessage.Header, q dnsmessage.Question) ([]byte, error) {
	name := strings.ToLower(q.Name.String())
	s.mu.Lock()
	ips, hasIPs := s.ips[name]
	srvs, hasSRV := s.srvs[name]
	failing := s.fail[name]
	s.mu.Unlock()

	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	switch {
	case failing:
		rh.RCode = dnsmessage.RCodeServerFailure
	case !hasIPs && !hasSRV:
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	if rh.RCode == dnsmessage.RCodeSuccess {
		if err := addAnswers(&b, q, ips, srvs); err != nil {
			return nil, err
		}
	}
	return b.Finish()
}

func addAnswers(b *dnsmessage.Builder, q dnsmessage.Question, ips []netip.Addr, srvs []net.SRV) error {
	rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 0}
	switch q.Type {
	case dnsmessage.TypeA, dnsmessage.TypeAAAA:
		for _, ip := range ips {
			var err error
			switch {
			case ip.Is4() && q.Type == dnsmessage.TypeA:
				err = b.AResource(rh, dnsmessage.AResource{A: ip.As4()})
			case ip.Is6() && q.Type == dnsmessage.TypeAAAA:
				err = b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: ip.As16()})
			}
			if err != nil {
				return err
			}
		}
	case dnsmessage.TypeSRV:
		for _, r := range srvs {
			target, err := dnsmessage.NewName(fqdn(r.Target))
			if err != nil {
				return err
			}
			if err := b.SRVResource(rh, dnsmessage.SRVResource{Priority: r.Priority, Weight: r.Weight, Port: r.Port, Target: target}); err != nil {
				return err
			}
		}
	}
	return nil
}
