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

package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// BenchmarkAlertToRestart measures the time from amtool adding an alert
// to the start of its restart command, through a real Alertmanager, with
// one receiver (no ZooKeeper) and with two replicas claiming through a
// 3-member ensemble. Alerts are fired one at a time.
func BenchmarkAlertToRestart(b *testing.B) {
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			s := startReplicas(b, n)
			b.ResetTimer()
			const alerts = 20
			var lat []float64
			for range b.N {
				lat = lat[:0]
				for i := 0; i < alerts; i++ {
					begin := time.Now()
					if err := s.fire("alertname=ZooKeeperProcessMemberDown", "batch=bench", fmt.Sprintf("member=b%d", time.Now().UnixNano())); err != nil {
						b.Fatal(err)
					}
					started, err := s.runSince(begin)
					if err != nil {
						b.Fatal(err)
					}
					lat = append(lat, started.Sub(begin).Seconds()*1000)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(lat[len(lat)/2], "median-ms")
			b.ReportMetric(lat[len(lat)-1], "max-ms")
		})
	}
}

// runSince waits for a restart command that started after begin and returns
// its start time.
func (s *haStack) runSince(begin time.Time) (time.Time, error) {
	var at time.Time
	err := zktest.WaitFor(60*time.Second, time.Millisecond, func() error {
		for _, name := range s.names {
			b, _ := os.ReadFile(s.path("runs-" + name))
			for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				f := strings.Fields(l)
				if len(f) < 2 {
					continue
				}
				ns, err := strconv.ParseInt(f[1], 10, 64)
				if err != nil {
					return zktest.Permanent(err)
				}
				if t := time.Unix(0, ns); t.After(begin) {
					at = t
					return nil
				}
			}
		}
		return fmt.Errorf("no restart since %s", begin)
	})
	return at, err
}
