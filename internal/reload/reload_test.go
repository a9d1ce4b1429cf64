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

package reload

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestReloadGauges(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	fail := false
	r := New("x", "configuration", func() error {
		if fail {
			return errors.New("bad file")
		}
		return nil
	}, reg, log.NewNopLogger())
	want := func(v string) {
		t.Helper()
		exp := "# HELP x_config_last_reload_successful 1 when the last reload of the configuration succeeded (the one loaded at start counts).\n" +
			"# TYPE x_config_last_reload_successful gauge\nx_config_last_reload_successful " + v + "\n"
		if err := testutil.GatherAndCompare(reg, strings.NewReader(exp), "x_config_last_reload_successful"); err != nil {
			t.Fatal(err)
		}
	}
	want("1")
	fail = true
	if err := r.Reload(); err == nil {
		t.Fatal("failed reload reported no error")
	}
	want("0")
	fail = false
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	want("1")
	if n, err := testutil.GatherAndCount(reg, "x_config_last_reload_success_timestamp_seconds"); err != nil || n != 1 {
		t.Fatalf("timestamp series: %d, %v", n, err)
	}
}
