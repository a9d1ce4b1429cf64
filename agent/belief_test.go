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

package agent

import (
	"fmt"
	"testing"

	"github.com/go-zookeeper/zk"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/internal/zksession"
)

// belief returns the session label of the one series of a belief metric
// (zkwatch_agent_lock_held_info, zkwatch_agent_election_leader_info) whose
// key label is path, "" when there is none; it fails on any other series.
func belief(t *testing.T, info *prometheus.GaugeVec, key, path string) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(info)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	session := ""
	for _, f := range fams {
		for _, s := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels[key] != path || session != "" || s.GetGauge().GetValue() != 1 {
				t.Fatalf("unexpected series %s %v = %v", f.GetName(), labels, s.GetGauge().GetValue())
			}
			session = labels["session"]
		}
	}
	return session
}

// holderSession returns the session (hex) owning the lowest contender node
// named with marker under dir, as ZooKeeper sees it.
func holderSession(obs *zk.Conn, dir, marker string) (string, error) {
	children, _, err := obs.Children(dir)
	if err != nil {
		return "", err
	}
	sorted := sortedContenders(children, marker)
	if len(sorted) == 0 {
		return "", fmt.Errorf("%s has no contender", dir)
	}
	ok, st, err := obs.Exists(dir + "/" + sorted[0])
	if err != nil || !ok {
		return "", fmt.Errorf("holder node: %v %v", ok, err)
	}
	return zksession.SessionHex(st.EphemeralOwner), nil
}
