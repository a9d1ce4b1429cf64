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

package collector

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/zkwatch/zkwatch/internal/discovery/dnstest"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

// dnsEnsemble is what the DNS tests share: three real members, a DNS server
// for their records, and each member on an address of its own (alias i is
// member i) on one port, as StatefulSet pods are.
type dnsEnsemble struct {
	dns     *dnstest.Server
	aliases []string // ip:port of each member's alias
}

// followsMembers scrapes the ensemble and connections collectors for
// servers while records changes the DNS records: the members asked are
// those of the records at each scrape, those removed lose their series,
// and a failed lookup fails both collectors instead of reusing the
// previous list.
func (d *dnsEnsemble) followsMembers(t *testing.T, servers string, addrs []string, records func(members ...int), remove func()) {
	logs := &zktest.SyncBuffer{}
	zk, err := New(Config{Servers: []string{servers}, Resolver: d.dns.Resolver(), Timeout: 5 * time.Second, Transport: "4lw"},
		log.NewLogfmtLogger(logs), "ensemble", "connections")
	if err != nil {
		t.Fatal(err)
	}
	defer zk.Close()
	for _, step := range []struct {
		what    string
		members []int
	}{
		{"two members in the records", []int{0, 1}},
		{"the third added", []int{0, 1, 2}},
		{"the first removed", []int{1, 2}},
	} {
		records(step.members...)
		waitScrape(t, zk, step.what, func(s sample) error {
			want := map[string]float64{
				`zookeeper_ensemble_members`:                                  float64(len(step.members)),
				`zookeeper_scrape_collector_success{collector="ensemble"}`:    1,
				`zookeeper_scrape_collector_success{collector="connections"}`: 1,
			}
			for _, i := range step.members {
				want[srv("zookeeper_up", addrs[i])] = 1
				want[srv("zookeeper_read_only", addrs[i])] = 0
			}
			if err := expect(s, want); err != nil {
				return err
			}
			for i, a := range addrs {
				_, up := s[srv("zookeeper_up", a)]
				_, ro := s[srv("zookeeper_read_only", a)]
				if (up || ro) && !slices.Contains(step.members, i) {
					return fmt.Errorf("member %d (%s) is no longer in the records but still reported", i, a)
				}
			}
			return nil
		})
	}
	remove()
	s := scrape(t, zk)
	if err := expect(s, map[string]float64{
		`zookeeper_scrape_collector_success{collector="ensemble"}`:    0,
		`zookeeper_scrape_collector_success{collector="connections"}`: 0,
	}); err != nil {
		t.Fatalf("lookup failed: %v", err)
	}
	for k := range s {
		if strings.HasPrefix(k, "zookeeper_up{") || strings.HasPrefix(k, "zookeeper_read_only{") || strings.HasPrefix(k, "zookeeper_ensemble_members") {
			t.Errorf("lookup failed, yet %s is reported (a stale list)", k)
		}
	}
	if !strings.Contains(logs.String(), "DNS lookup of "+servers) {
		t.Errorf("no error log names the lookup of %s:\n%s", servers, logs)
	}
}

// TestEnsembleFollowsDNS: dns+NAME:PORT (A records) and dnssrv+NAME (SRV
// records) against three real members, the records changed between
// scrapes of one collector.
func TestEnsembleFollowsDNS(t *testing.T) {
	e := zktest.Start(t, 3)
	d := &dnsEnsemble{dns: dnstest.Start(t)}
	ips, port := dnstest.Aliases(t, 11, e.Addrs()...)
	for _, ip := range ips {
		d.aliases = append(d.aliases, net.JoinHostPort(ip, strconv.Itoa(port)))
	}

	t.Run("dns+", func(t *testing.T) {
		const name = "zk.test"
		d.followsMembers(t, fmt.Sprintf("dns+%s:%d", name, port), d.aliases, func(members ...int) {
			var a []string
			for _, i := range members {
				a = append(a, ips[i])
			}
			d.dns.SetA(name, a...)
		}, func() { d.dns.Delete(name) })
	})

	t.Run("dnssrv+", func(t *testing.T) {
		const name = "_client._tcp.zk.test"
		for i := range e.Members {
			d.dns.SetA(fmt.Sprintf("zk-%d.zk.test", i), "127.0.0.1")
		}
		d.followsMembers(t, "dnssrv+"+name, e.Addrs(), func(members ...int) {
			var recs []net.SRV
			for _, i := range members {
				recs = append(recs, net.SRV{Target: fmt.Sprintf("zk-%d.zk.test", i), Port: uint16(e.Members[i].ClientPort)})
			}
			d.dns.SetSRV(name, recs...)
		}, func() { d.dns.Fail(name) })
	})
}
