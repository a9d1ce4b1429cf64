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
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

func TestConnectionsFixtures(t *testing.T) {
	_, addrs := fakeEnsemble(t, "leader")
	zk, err := New(Config{Servers: addrs, Timeout: 2 * time.Second}, log.NewNopLogger(), "connections")
	if err != nil {
		t.Fatal(err)
	}
	defer zk.Close()
	a := addrs[0]
	want := fmt.Sprintf(`
# HELP zookeeper_client_connections Client connections listed by cons.
# TYPE zookeeper_client_connections gauge
zookeeper_client_connections{server=%[1]q} 1
# HELP zookeeper_read_only 1 when the member serves read-only (isro).
# TYPE zookeeper_read_only gauge
zookeeper_read_only{server=%[1]q} 0
# HELP zookeeper_watches Watches (wchs).
# TYPE zookeeper_watches gauge
zookeeper_watches{server=%[1]q} 0
# HELP zookeeper_scrape_collector_success Whether a collector succeeded.
# TYPE zookeeper_scrape_collector_success gauge
zookeeper_scrape_collector_success{collector="connections"} 1
`, a)
	if err := testutil.CollectAndCompare(zk, strings.NewReader(want), "zookeeper_client_connections", "zookeeper_read_only", "zookeeper_watches", "zookeeper_scrape_collector_success"); err != nil {
		t.Error(err)
	}
}

func TestConnectionsRealServer(t *testing.T) {
	e := zktest.Start(t, 1)
	zk, err := New(Config{Servers: e.Addrs(), Timeout: 2 * time.Second}, log.NewNopLogger(), "connections")
	if err != nil {
		t.Fatal(err)
	}
	defer zk.Close()
	// cons lists at least the connection that asks.
	waitScrape(t, zk, "connections collector", func(s sample) error {
		if s[srv("zookeeper_client_connections", e.Addrs()[0])] < 1 {
			return fmt.Errorf("client connections %v", s[srv("zookeeper_client_connections", e.Addrs()[0])])
		}
		return expect(s, map[string]float64{srv("zookeeper_read_only", e.Addrs()[0]): 0, `zookeeper_scrape_collector_success{collector="connections"}`: 1})
	})
}
