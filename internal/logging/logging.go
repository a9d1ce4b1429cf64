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

// Package logging wires the --log.level and --log.format flags to the
// go-kit logger zkwatch's packages use. exporter-toolkit wants an slog
// logger: it gets one whose handler writes through the same go-kit logger,
// so every line of a binary has one format and honours one level.
package logging

import (
	"io"
	"log/slog"
	"os"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/promslog/flag"
)

// AddFlags adds --log.level and --log.format to app.
func AddFlags(app *kingpin.Application) *promslog.Config {
	cfg := &promslog.Config{}
	flag.AddFlags(app, cfg)
	return cfg
}

// New returns a go-kit logger configured by cfg writing to standard error,
// and an slog logger for exporter-toolkit that writes through it.
func New(cfg *promslog.Config) (log.Logger, *slog.Logger) {
	return newLoggers(os.Stderr, cfg)
}

func newLoggers(out io.Writer, cfg *promslog.Config) (log.Logger, *slog.Logger) {
	w := log.NewSyncWriter(out)
	var l log.Logger
	if cfg.Format != nil && cfg.Format.String() == "json" {
		l = log.NewJSONLogger(w)
	} else {
		l = log.NewLogfmtLogger(w)
	}
	lvl := "info"
	if cfg.Level != nil {
		lvl = cfg.Level.String()
	}
	var opt level.Option
	min := slog.LevelInfo
	switch lvl {
	case "debug":
		opt, min = level.AllowDebug(), slog.LevelDebug
	case "warn":
		opt, min = level.AllowWarn(), slog.LevelWarn
	case "error":
		opt, min = level.AllowError(), slog.LevelError
	default:
		opt = level.AllowInfo()
	}
	base := log.With(level.NewFilter(l, opt), "ts", log.DefaultTimestampUTC)
	kit := log.With(base, "caller", log.DefaultCaller)
	return kit, slog.New(&kitHandler{logger: base, min: min})
}
