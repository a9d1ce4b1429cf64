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

package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-kit/log/level"
	"github.com/go-logfmt/logfmt"
	"github.com/prometheus/common/promslog"
)

func config(t *testing.T, lvl, format string) *promslog.Config {
	t.Helper()
	cfg := &promslog.Config{Level: promslog.NewLevel(), Format: promslog.NewFormat()}
	if err := cfg.Level.Set(lvl); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Format.Set(format); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// logfmtLines decodes every line into its keys in order and their values.
func logfmtLines(t *testing.T, out string) [][][2]string {
	t.Helper()
	var lines [][][2]string
	d := logfmt.NewDecoder(strings.NewReader(out))
	for d.ScanRecord() {
		var kv [][2]string
		for d.ScanKeyval() {
			kv = append(kv, [2]string{string(d.Key()), string(d.Value())})
		}
		lines = append(lines, kv)
	}
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// The slog logger exporter-toolkit gets writes the go-kit format: the same
// keys in the same order, the caller of the slog call, one level filter.
func TestSlogLinesMatchGoKit(t *testing.T) {
	var buf bytes.Buffer
	kit, sl := newLoggers(&buf, config(t, "info", "logfmt"))
	level.Info(kit).Log("msg", "from go-kit", "k", 1)
	sl.With("tls", false).WithGroup("http2").Info("Listening on", "address", "127.0.0.1:9141")
	sl.Debug("hidden at info")
	level.Debug(kit).Log("msg", "hidden too")
	sl.Warn("warned", "err", "boom")

	lines := logfmtLines(t, buf.String())
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), buf.String())
	}
	keys := func(kv [][2]string) string {
		var k []string
		for _, p := range kv {
			k = append(k, p[0])
		}
		return strings.Join(k, " ")
	}
	if got := keys(lines[0]); got != "level ts caller msg k" {
		t.Errorf("go-kit keys %q", got)
	}
	if got := keys(lines[1]); got != "level ts caller msg tls http2.address" {
		t.Errorf("slog keys %q", got)
	}
	for i, want := range []string{"info", "info", "warn"} {
		if lines[i][0][1] != want {
			t.Errorf("line %d level %q, want %q", i, lines[i][0][1], want)
		}
	}
	if c := lines[1][2][1]; !strings.HasPrefix(c, "logging_test.go:") {
		t.Errorf("slog caller %q, want this file", c)
	}
	if strings.Contains(buf.String(), "time=") || strings.Contains(buf.String(), "source=") {
		t.Errorf("slog's own format leaked:\n%s", buf.String())
	}
}

func TestSlogHonoursLevelAndJSON(t *testing.T) {
	var buf bytes.Buffer
	_, sl := newLoggers(&buf, config(t, "error", "json"))
	sl.Warn("not shown")
	sl.Error("shown", "n", 2)
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("%v: %q", err, buf.String())
	}
	if m["level"] != "error" || m["msg"] != "shown" || m["n"] != float64(2) || m["ts"] == nil || m["caller"] == nil {
		t.Errorf("json line %v", m)
	}
}
