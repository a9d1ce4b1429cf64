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

package bench

import (
	"os"
	"testing"
)

func TestMetricValue(t *testing.T) {
	body := "# HELP go_memstats_heap_inuse_bytes x\n# TYPE go_memstats_heap_inuse_bytes gauge\n" +
		"go_memstats_heap_inuse_bytes_total 7\ngo_memstats_heap_inuse_bytes 4.5056e+06\n"
	if v, ok := metricValue(body, "go_memstats_heap_inuse_bytes"); !ok || v != 4.5056e+06 {
		t.Errorf("got %v %v, want 4.5056e+06 (not the _total series, not the comments)", v, ok)
	}
	if _, ok := metricValue(body, "absent"); ok {
		t.Error("an absent metric was found")
	}
}

func TestProcField(t *testing.T) {
	if rss := vmRSS(os.Getpid()); rss < 1<<20 {
		t.Errorf("own VmRSS %d B, want at least 1 MiB", rss)
	}
	if m := memAvailable(); m <= 0 {
		t.Errorf("MemAvailable %d", m)
	}
	if v := procField("/nonexistent", "VmRSS:"); v != 0 {
		t.Errorf("missing file: %d", v)
	}
}
