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

// Package discovery turns a ZooKeeper server list into member addresses,
// following DNS as Prometheus and Thanos spell it: host:port is a member,
// dns+NAME:PORT is every A/AAAA address of NAME on PORT, and dnssrv+NAME is
// every target of NAME's SRV records, itself looked up as A/AAAA, on the
// record's port. DNS entries are resolved at every call of Resolve, so a
// StatefulSet behind a headless Service is followed as it scales.
package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Kind is how an entry is resolved.
type Kind int

const (
	// Static is a plain host:port, used as given.
	Static Kind = iota
	// A is dns+NAME:PORT: NAME's A and AAAA records.
	A
	// SRV is dnssrv+NAME: NAME's SRV records, their targets looked up as A
	// and AAAA.
	SRV
)

// Prefixes of the DNS entries.
const (
	PrefixA   = "dns+"
	PrefixSRV = "dnssrv+"
)

// Entry is one parsed element of a server list.
type Entry struct {
	Kind Kind
	Host string // the name to look up, or the static host
	Port string // empty for SRV
}

// String gives the entry back as written (normalised).
func (e Entry) String() string {
	switch e.Kind {
	case A:
		return PrefixA + net.JoinHostPort(e.Host, e.Port)
	case SRV:
		return PrefixSRV + e.Host
	}
	return net.JoinHostPort(e.Host, e.Port)
}

// Parse parses one entry: host:port, dns+NAME:PORT or dnssrv+NAME.
func Parse(s string) (Entry, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, PrefixSRV):
		name := s[len(PrefixSRV):]
		if err := checkName(name); err != nil {
			return Entry{}, fmt.Errorf("%q: %w (want dnssrv+NAME)", s, err)
		}
		return Entry{Kind: SRV, Host: name}, nil
	case strings.HasPrefix(s, PrefixA):
		host, port, err := splitHostPort(s[len(PrefixA):])
		if err == nil {
			err = checkName(host)
		}
		if err != nil {
			return Entry{}, fmt.Errorf("%q: %w (want dns+NAME:PORT)", s, err)
		}
		return Entry{Kind: A, Host: host, Port: port}, nil
	}
	host, port, err := splitHostPort(s)
	if err != nil {
		return Entry{}, fmt.Errorf("%q: %w (want host:port, dns+NAME:PORT or dnssrv+NAME)", s, err)
	}
	if i := strings.IndexByte(host, '+'); i >= 0 {
		return Entry{}, fmt.Errorf("%q: unknown discovery prefix %q (want dns+ or dnssrv+)", s, host[:i+1])
	}
	return Entry{Kind: Static, Host: host, Port: port}, nil
}

// ParseList parses every entry of list; empty elements are skipped.
func ParseList(list []string) ([]Entry, error) {
	var out []Entry
	for _, s := range list {
		if strings.TrimSpace(s) == "" {
			continue
		}
		e, err := Parse(s)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, errors.New("no servers given")
	}
	return out, nil
}

// HasDNS reports whether s (one entry) is a DNS entry.
func HasDNS(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, PrefixA) || strings.HasPrefix(s, PrefixSRV)
}

func splitHostPort(s string) (string, string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return "", "", errors.New("missing host or port")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", "", errors.New("bad port")
	}
	return host, port, nil
}

// checkName accepts DNS names: letters, digits, '-', '_' and dots, no
// empty label except a final dot.
func checkName(name string) error {
	n := strings.TrimSuffix(name, ".")
	if n == "" || len(n) > 253 {
		return errors.New("missing or too long name")
	}
	for _, label := range strings.Split(n, ".") {
		if label == "" || len(label) > 63 {
			return errors.New("bad name")
		}
		for _, r := range label {
			if !(r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return errors.New("bad name")
			}
		}
	}
	return nil
}

// LookupError is a failed DNS lookup of one entry: the name, how it was
// looked up, and the resolver's error. A failed lookup never falls back
// to an earlier answer.
type LookupError struct {
	Entry string // the entry as written, e.g. dns+zk.example:2181
	Name  string // the name looked up (an SRV target for its A lookup)
	Type  string // "A/AAAA" or "SRV"
	Err   error
}

func (e *LookupError) Error() string {
	return fmt.Sprintf("DNS lookup of %s (%s %s): %v", e.Entry, e.Type, e.Name, e.Err)
}

func (e *LookupError) Unwrap() error { return e.Err }

// Members resolves a parsed server list.
type Members struct {
	entries  []Entry
	resolver *net.Resolver
}

// New returns the members of entries, looked up through r (nil: the
// system's resolver).
func New(entries []Entry, r *net.Resolver) *Members {
	if r == nil {
		r = net.DefaultResolver
	}
	return &Members{entries: entries, resolver: r}
}

// Dynamic reports whether any entry is looked up in DNS.
func (m *Members) Dynamic() bool {
	return slices.ContainsFunc(m.entries, func(e Entry) bool { return e.Kind != Static })
}

// Resolve returns the member addresses, host:port, in the entries' order;
// the addresses of one DNS entry are sorted, and an address listed twice
// is kept once. Any failed lookup, or a DNS list that yields no member,
// is an error (a *LookupError for a lookup).
func (m *Members) Resolve(ctx context.Context) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(addrs ...string) {
		for _, a := range addrs {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	for _, e := range m.entries {
		switch e.Kind {
		case Static:
			add(net.JoinHostPort(e.Host, e.Port))
		case A:
			ips, err := m.lookupIP(ctx, e.String(), e.Host)
			if err != nil {
				return nil, err
			}
			add(joinAll(ips, e.Port)...)
		case SRV:
			addrs, err := m.lookupSRV(ctx, e)
			if err != nil {
				return nil, err
			}
			add(addrs...)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no member found in DNS for %s", m.describe())
	}
	return out, nil
}

func (m *Members) describe() string {
	names := make([]string, len(m.entries))
	for i, e := range m.entries {
		names[i] = e.String()
	}
	return strings.Join(names, ",")
}

// lookupIP returns name's addresses, sorted.
func (m *Members) lookupIP(ctx context.Context, entry, name string) ([]netip.Addr, error) {
	ips, err := m.resolver.LookupNetIP(ctx, "ip", name)
	if err != nil {
		return nil, &LookupError{Entry: entry, Name: name, Type: "A/AAAA", Err: err}
	}
	for i, ip := range ips {
		ips[i] = ip.Unmap()
	}
	slices.SortFunc(ips, netip.Addr.Compare)
	return slices.Compact(ips), nil
}

// lookupSRV returns the addresses of e's SRV targets, ordered by target
// name and port, each target's addresses sorted.
func (m *Members) lookupSRV(ctx context.Context, e Entry) ([]string, error) {
	_, srvs, err := m.resolver.LookupSRV(ctx, "", "", e.Host)
	if err != nil {
		return nil, &LookupError{Entry: e.String(), Name: e.Host, Type: "SRV", Err: err}
	}
	slices.SortFunc(srvs, func(a, b *net.SRV) int {
		if c := strings.Compare(a.Target, b.Target); c != 0 {
			return c
		}
		return int(a.Port) - int(b.Port)
	})
	var out []string
	for _, s := range srvs {
		ips, err := m.lookupIP(ctx, e.String(), s.Target)
		if err != nil {
			return nil, err
		}
		out = append(out, joinAll(ips, strconv.Itoa(int(s.Port)))...)
	}
	return out, nil
}

func joinAll(ips []netip.Addr, port string) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = net.JoinHostPort(ip.String(), port)
	}
	return out
}
