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

// Package reload runs a binary's configuration reloads one at a time and
// tells in two gauges whether the last one worked and when one last did,
// as Prometheus and Alertmanager do.
package reload

import (
	"sync"
	"sync/atomic"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
)

// Reloader calls a reload function and keeps the gauges
// <namespace>_config_last_reload_successful and
// <namespace>_config_last_reload_success_timestamp_seconds.
type Reloader struct {
	gen        atomic.Uint64 // reloads attempted
	mu         sync.Mutex
	fn         func() error
	logger     log.Logger
	ok, okTime prometheus.Gauge
}

// New registers the gauges on reg. The configuration loaded at start counts
// as the first successful load: the binary would not have started otherwise.
func New(namespace, what string, fn func() error, reg prometheus.Registerer, logger log.Logger) *Reloader {
	r := &Reloader{fn: fn, logger: logger,
		ok: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: namespace + "_config_last_reload_successful",
			Help: "1 when the last reload of the " + what + " succeeded (the one loaded at start counts).",
		}),
		okTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: namespace + "_config_last_reload_success_timestamp_seconds",
			Help: "When the " + what + " was last loaded successfully.",
		}),
	}
	reg.MustRegister(r.ok, r.okTime)
	r.ok.Set(1)
	r.okTime.SetToCurrentTime()
	return r
}

// Reload calls the reload function; on failure the old configuration stays.
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.gen.Add(1)
	if err := r.fn(); err != nil {
		r.ok.Set(0)
		level.Error(r.logger).Log("msg", "Reload failed, keeping the old configuration", "err", err)
		return err
	}
	r.ok.Set(1)
	r.okTime.SetToCurrentTime()
	level.Info(r.logger).Log("msg", "Configuration reloaded")
	return nil
}

// Generation counts the reloads attempted; the reload gauges change only
// when it does. A nil Reloader has none.
func (r *Reloader) Generation() uint64 {
	if r == nil {
		return 0
	}
	return r.gen.Load()
}
