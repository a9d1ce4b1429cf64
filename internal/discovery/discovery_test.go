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

package discovery_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/discovery"
	"github.com/zkwatch/zkwatch/internal/discovery/dnstest"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "zk-0:2181", want: "zk-0:2181"},
		{in: " 10.0.0.1:2181 ", want: "10.0.0.1:2181"},
		{in: "[::1]:2181", want: "[::1]:2181"},
		{in: "dns+zk.default.svc:2181", want: "dns+zk.default.svc:2181"},
		{in: "dns+zk.test.:2181", want: "dns+zk.test.:2181"},
		{in: "dnssrv+_client._tcp.zk.test", want: "dnssrv+_client._tcp.zk.test"},
		{in: "dns+zk.test", err: "want dns+NAME:PORT"},
		{in: "dns+zk.test:0", err: "bad port"},
		{in: "dns+:2181", err: "missing host"},
		{in: "dns+zk..test:2181", err: "bad name"},
		{in: "dns+zk/x:2181", err: "bad name"},
		{in: "dnssrv+", err: "want dnssrv+NAME"},
		{in: "dnssrv+zk.test:2181", err: "bad name"},
		{in: "dnsnoa+zk.test:2181", err: `unknown discovery prefix "dnsnoa+"`},
		{in: "zk-0", err: "want host:port"},
	} {
		e, err := discovery.Parse(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q) = %v, %v; want error containing %q", tc.in, e, err, tc.err)
			}
			continue
		}
		if err != nil || e.String() != tc.want {
			t.Errorf("Parse(%q) = %q, %v; want %q", tc.in, e, err, tc.want)
		}
	}
	if _, err := discovery.ParseList([]string{"", " "}); err == nil {
		t.Error("ParseList of nothing: no error")
	}
}

func resolve(t *testing.T, dns *dnstest.Server, list ...string) ([]string, error) {
	t.Helper()
	entries, err := discovery.ParseList(list)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return discovery.New(entries, dns.Resolver()).Resolve(ctx)
}

// TestResolveFollowsRecords resolves through a real DNS exchange at every
// call: a record added or removed shows in the next answer, in a stable
// order, and a failed lookup is a LookupError naming the entry, never the
// previous answer.
func TestResolveFollowsRecords(t *testing.T) {
	dns := dnstest.Start(t)
	dns.SetA("zk.test", "127.0.0.12", "127.0.0.11")
	list := []string{"dns+zk.test:2181", "static.invalid:2182", "dns+zk.test:2181"}
	want := func(w ...string) {
		t.Helper()
		got, err := resolve(t, dns, list...)
		if err != nil || !slices.Equal(got, w) {
			t.Fatalf("Resolve = %v, %v; want %v", got, err, w)
		}
	}
	want("127.0.0.11:2181", "127.0.0.12:2181", "static.invalid:2182")
	dns.SetA("zk.test", "127.0.0.13", "127.0.0.11", "127.0.0.12", "::1")
	want("127.0.0.11:2181", "127.0.0.12:2181", "127.0.0.13:2181", "[::1]:2181", "static.invalid:2182")
	dns.SetA("zk.test", "127.0.0.13")
	want("127.0.0.13:2181", "static.invalid:2182")

	for _, fail := range []func(){func() { dns.Delete("zk.test") }, func() { dns.Fail("zk.test") }} {
		fail()
		got, err := resolve(t, dns, list...)
		var le *discovery.LookupError
		if !errors.As(err, &le) || le.Entry != "dns+zk.test:2181" || le.Type != "A/AAAA" || got != nil {
			t.Fatalf("after the records went: Resolve = %v, %v; want a LookupError for dns+zk.test:2181", got, err)
		}
		if !strings.Contains(err.Error(), "dns+zk.test:2181") {
			t.Errorf("error %q does not name the entry", err)
		}
	}
	dns.SetA("zk.test")
	if got, err := resolve(t, dns, "dns+zk.test:2181"); err == nil {
		t.Fatalf("a name without addresses: Resolve = %v, want an error", got)
	}
}

func TestResolveSRV(t *testing.T) {
	dns := dnstest.Start(t)
	dns.SetA("zk-1.zk.test", "127.0.0.1")
	dns.SetA("zk-0.zk.test", "127.0.0.1")
	dns.SetSRV("_client._tcp.zk.test",
		net.SRV{Target: "zk-1.zk.test", Port: 3001}, net.SRV{Target: "zk-0.zk.test", Port: 3000})
	got, err := resolve(t, dns, "dnssrv+_client._tcp.zk.test")
	if want := []string{"127.0.0.1:3000", "127.0.0.1:3001"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("Resolve = %v, %v; want %v", got, err, want)
	}
	// A target whose own lookup fails fails the whole answer.
	dns.SetSRV("_client._tcp.zk.test", net.SRV{Target: "zk-0.zk.test", Port: 3000}, net.SRV{Target: "zk-2.zk.test", Port: 3002})
	_, err = resolve(t, dns, "dnssrv+_client._tcp.zk.test")
	var le *discovery.LookupError
	if !errors.As(err, &le) || le.Name != "zk-2.zk.test." || le.Type != "A/AAAA" {
		t.Fatalf("SRV target without records: err = %v, want a LookupError for zk-2.zk.test", err)
	}
	dns.Delete("_client._tcp.zk.test")
	_, err = resolve(t, dns, "dnssrv+_client._tcp.zk.test")
	if !errors.As(err, &le) || le.Type != "SRV" {
		t.Fatalf("SRV name gone: err = %v, want an SRV LookupError", err)
	}
}
