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

package e2e

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/tools/zkwatch-demo/demo"
)

// BenchmarkKillRestart crashes the demo process ten times and reports the
// median of each stage from the crash to the resolved notification:
// detect (scrape + rule evaluation + the alert's 2s "for"), notify
// (Alertmanager group_wait + receiver), restart (receiver's hook starting
// the command), back (command + agent registration + next scrape), and
// resolve (evaluation + Alertmanager + receiver).
func BenchmarkKillRestart(b *testing.B) {
	s := startStack(b)
	ctx := context.Background()
	stages := map[string][]time.Duration{}
	const runs = 10
	b.ResetTimer()
	for i := 0; i < runs; i++ {
		st, err := s.KillAppStep(ctx)
		if err != nil {
			b.Fatalf("run %d: %v", i, err)
		}
		add := func(name string, from, to time.Time) { stages[name] = append(stages[name], to.Sub(from)) }
		add("detect", st.Killed, st.Firing)
		add("notify", st.Firing, st.Notified)
		add("restart", st.Notified, st.Restarted)
		add("back", st.Restarted, st.Back)
		add("resolve", st.Back, st.Resolved)
		add("kill-to-back", st.Killed, st.Back)
	}
	b.StopTimer()
	if n := len(demo.Restarts(s.Dir())); n != runs {
		b.Errorf("restart command ran %d times for %d crashes", n, runs)
	}
	for name, d := range stages {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		b.ReportMetric(d[len(d)/2].Seconds(), name+"-s")
	}
}
