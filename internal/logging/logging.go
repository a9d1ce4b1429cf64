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

// Package logging wires the --log.level and --log.format flags to both the
// go-kit logger zkwatch's packages use and the slog logger exporter-toolkit
// wants, so that both write the same format at the same level.
package logging

import (
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

// New returns a go-kit logger and an slog logger configured by cfg.
func New(cfg *promslog.Config) (log.Logger, *slog.Logger) {
	var l log.Logger
	w := log.NewSyncWriter(os.Stderr)
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
	switch lvl {
	case "debug":
		opt = level.AllowDebug()
	case "warn":
		opt = level.AllowWarn()
	case "error":
		opt = level.AllowError()
	default:
		opt = level.AllowInfo()
	}
	l = level.NewFilter(l, opt)
	l = log.With(l, "ts", log.DefaultTimestampUTC, "caller", log.DefaultCaller)
	return l, promslog.New(cfg)
}
