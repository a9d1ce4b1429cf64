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

// Command zookeeper_exporter exports the health of a ZooKeeper ensemble and
// of the processes, tasks, locks and elections kept in it as Prometheus
// metrics.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/zkwatch/zkwatch/collector"
	"github.com/zkwatch/zkwatch/internal/logging"
	"github.com/zkwatch/zkwatch/internal/reload"
	"github.com/zkwatch/zkwatch/internal/zktls"
)

func main() { os.Exit(run(os.Args[1:])) }

// options are the exporter's own flags; the collectors' are in
// collector.Flags.
type options struct {
	servers, adminServers, transport, metricsPath, allowedTargets string
	timeout, probeReuse, idleTimeout                              time.Duration
	maxRequests, probeMaxTargets, probeMaxEnsembles, maxProcs     int
	timeoutOffset                                                 float64
}

func addFlags(app *kingpin.Application) *options {
	o := &options{}
	app.Flag("zookeeper.servers", "Comma-separated host:port list of the ensemble's members; dns+NAME:PORT (A/AAAA) and dnssrv+NAME (SRV) entries are looked up at every scrape.").
		Default("localhost:2181").StringVar(&o.servers)
	app.Flag("zookeeper.timeout", "Deadline for probing all members in one scrape.").
		Default("2s").DurationVar(&o.timeout)
	app.Flag("zookeeper.probe-reuse", "On /metrics, serve an ensemble probe that finished less than this ago instead of probing again; concurrent scrapes share one probe. 0 probes at every scrape. /probe always probes.").
		Default("500ms").DurationVar(&o.probeReuse)
	app.Flag("zookeeper.transport", "How to ask members: 4lw (four-letter words) or admin (AdminServer JSON).").
		Default("4lw").EnumVar(&o.transport, "4lw", "admin")
	app.Flag("zookeeper.admin.servers", "Comma-separated AdminServer host:port of each member, in the order of --zookeeper.servers (admin transport; default host:8080).").
		Default("").StringVar(&o.adminServers)
	app.Flag("web.telemetry-path", "Path under which to expose metrics.").
		Default("/metrics").StringVar(&o.metricsPath)
	app.Flag("web.max-requests", "Maximum number of parallel /metrics and /probe requests together; more get 503. 0 disables the limit.").
		Default("40").IntVar(&o.maxRequests)
	app.Flag("web.idle-timeout", "Close a keep-alive connection idle for this long, so idle clients cannot hold connections forever.").
		Default("5m").DurationVar(&o.idleTimeout)
	app.Flag("web.timeout-offset", "Seconds to subtract from Prometheus's scrape timeout, to leave time to answer.").
		Default("0.25").Float64Var(&o.timeoutOffset)
	app.Flag("probe.max-targets", "Maximum number of members in one /probe target list.").
		Default("16").IntVar(&o.probeMaxTargets)
	app.Flag("probe.max-ensembles", "Number of /probe target lists whose collector (leader changes counted across probes) is kept; beyond it the least recently probed is forgotten.").
		Default("1000").IntVar(&o.probeMaxEnsembles)
	app.Flag("probe.allowed-targets", "Regular expression (anchored) every /probe target host:port must match; others get 403. Empty allows any.").
		Default("").StringVar(&o.allowedTargets)
	// As node_exporter: one CPU by default, so that the exporter, usually
	// beside the ZooKeeper it watches, takes at most one core from it. It
	// also answers sooner: the members answer while the exporter waits,
	// and one P spends no time waking others for the short work between.
	app.Flag("runtime.gomaxprocs", "The target number of CPUs Go will run on (GOMAXPROCS).").
		Envar("GOMAXPROCS").Default("1").IntVar(&o.maxProcs)
	return o
}

// run is the exporter; it returns the exit code.
func run(args []string) int {
	app := kingpin.New("zookeeper_exporter", "Prometheus exporter for ZooKeeper ensembles and what runs in them.")
	opts := addFlags(app)
	colFlags := collector.AddFlags(app)
	zkTLS := zktls.AddFlags(app)
	toolkitFlags := kingpinflag.AddFlags(app, ":9141")
	logConfig := logging.AddFlags(app)
	app.Version(version.Print("zookeeper_exporter"))
	app.UsageWriter(os.Stdout)
	app.HelpFlag.Short('h')
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "zookeeper_exporter: %v, try --help\n", err)
		return 2
	}
	logger, slogger := logging.New(logConfig)
	level.Info(logger).Log("msg", "Starting zookeeper_exporter", "version", version.Info())
	if opts.maxProcs > 0 {
		runtime.GOMAXPROCS(opts.maxProcs)
	}
	level.Debug(logger).Log("msg", "Go MAXPROCS", "procs", runtime.GOMAXPROCS(0))
	level.Info(logger).Log("msg", "Build context", "build_context", version.BuildContext())

	cfg, allowed, err := buildConfig(opts, colFlags.WatchOptions())
	if err == nil {
		err = colFlags.Apply(&cfg)
	}
	if err == nil {
		cfg.TLS, err = zkTLS.TLSConfig()
	}
	if err != nil {
		level.Error(logger).Log("msg", "Invalid flags", "err", err)
		return 2
	}
	zk, err := collector.New(cfg, logger, colFlags.Enabled()...)
	if err != nil {
		level.Error(logger).Log("msg", "Could not create collectors", "err", err)
		return 1
	}
	defer zk.Close()
	level.Info(logger).Log("msg", "Enabled collectors", "collectors", strings.Join(colFlags.Enabled(), ","))

	h := newHandler(logger, opts, cfg, allowed)
	reloader := reload.New("zookeeper_exporter", "watch configuration", zk.Reload, h.exporterRegistry, logger)
	mux, err := h.mux(zk, reloader)
	if err != nil {
		level.Error(logger).Log("err", err)
		return 1
	}
	return serve(mux, opts.idleTimeout, toolkitFlags, logger, slogger, reloader)
}

// serve runs the HTTP server until SIGTERM or SIGINT, then shuts it down
// gracefully; SIGHUP reloads.
func serve(mux *http.ServeMux, idle time.Duration, flags *web.FlagConfig, logger log.Logger, slogger *slog.Logger, r *reload.Reloader) int {
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: idle}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, os.Interrupt)
	defer signal.Stop(sigs)
	done := make(chan error, 1)
	go func() { done <- web.ListenAndServe(server, flags, slogger) }()
	for {
		select {
		case err := <-done:
			level.Error(logger).Log("err", err)
			return 1
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				_ = r.Reload()
				continue
			}
			level.Info(logger).Log("msg", "Shutting down", "signal", sig)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := server.Shutdown(ctx); err != nil {
				level.Error(logger).Log("msg", "Shutdown", "err", err)
				return 1
			}
			if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
				level.Error(logger).Log("err", err)
				return 1
			}
			return 0
		}
	}
}

// compileAllowed compiles --probe.allowed-targets, anchored.
func compileAllowed(expr string) (*regexp.Regexp, error) {
	if expr == "" {
		return nil, nil
	}
	re, err := regexp.Compile("^(?:" + expr + ")$")
	if err != nil {
		return nil, fmt.Errorf("--probe.allowed-targets: %w", err)
	}
	return re, nil
}
