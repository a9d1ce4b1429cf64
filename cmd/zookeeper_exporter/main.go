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
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/zkwatch/zkwatch/collector"
	"github.com/zkwatch/zkwatch/internal/logging"
	"github.com/zkwatch/zkwatch/internal/zktls"
)

func main() {
	var (
		servers = kingpin.Flag("zookeeper.servers", "Comma-separated host:port list of the ensemble's members.").
			Default("localhost:2181").String()
		timeout = kingpin.Flag("zookeeper.timeout", "Deadline for probing all members in one scrape.").
			Default("2s").Duration()
		transport = kingpin.Flag("zookeeper.transport", "How to ask members: 4lw (four-letter words) or admin (AdminServer JSON).").
				Default("4lw").Enum("4lw", "admin")
		adminServers = kingpin.Flag("zookeeper.admin.servers", "Comma-separated AdminServer host:port of each member, in the order of --zookeeper.servers (admin transport; default host:8080).").
				Default("").String()
		metricsPath = kingpin.Flag("web.telemetry-path", "Path under which to expose metrics.").
				Default("/metrics").String()
		maxRequests = kingpin.Flag("web.max-requests", "Maximum number of parallel scrape requests. 0 disables the limit.").
				Default("40").Int()
		timeoutOffset = kingpin.Flag("web.timeout-offset", "Seconds to subtract from Prometheus's scrape timeout, to leave time to answer.").
				Default("0.25").Float64()
		probeMaxTargets = kingpin.Flag("probe.max-targets", "Maximum number of members in one /probe target list.").
				Default("16").Int()
		zkTLS        = zktls.AddFlags(kingpin.CommandLine)
		toolkitFlags = kingpinflag.AddFlags(kingpin.CommandLine, ":9141")
		logConfig    = logging.AddFlags(kingpin.CommandLine)
	)
	kingpin.Version(version.Print("zookeeper_exporter"))
	kingpin.CommandLine.UsageWriter(os.Stdout)
	kingpin.HelpFlag.Short('h')
	kingpin.Parse()
	logger, slogger := logging.New(logConfig)

	level.Info(logger).Log("msg", "Starting zookeeper_exporter", "version", version.Info())
	level.Info(logger).Log("msg", "Build context", "build_context", version.BuildContext())

	cfg, err := buildConfig(*servers, *adminServers, *timeout, *transport)
	if err == nil {
		cfg.TLS, err = zkTLS.TLSConfig()
	}
	if err != nil {
		level.Error(logger).Log("msg", "Invalid flags", "err", err)
		os.Exit(2)
	}
	zk, err := collector.New(cfg, logger)
	if err != nil {
		level.Error(logger).Log("msg", "Could not create collectors", "err", err)
		os.Exit(1)
	}
	defer zk.Close()
	level.Info(logger).Log("msg", "Enabled collectors", "collectors", strings.Join(collector.Enabled(), ","))

	exporterRegistry := prometheus.NewRegistry()
	exporterRegistry.MustRegister(
		versioncollector.NewCollector("zookeeper_exporter"),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)

	h := &handler{
		logger: logger, exporterRegistry: exporterRegistry, maxRequests: *maxRequests,
		timeoutOffset: *timeoutOffset, cfg: cfg, maxTargets: *probeMaxTargets,
		probes: newProbeCache(64),
	}
	if err := registerRoutes(h, zk, *metricsPath); err != nil {
		level.Error(logger).Log("err", err)
		os.Exit(1)
	}
	reloadOnSIGHUP(logger)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, os.Interrupt)
	server := &http.Server{ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-term
		level.Info(logger).Log("msg", "Shutting down")
		zk.Close()
		os.Exit(0)
	}()
	if err := web.ListenAndServe(server, toolkitFlags, slogger); err != nil {
		level.Error(logger).Log("err", err)
		os.Exit(1)
	}
}

// registerRoutes installs the exporter's endpoints on the default mux:
// metrics, /probe, health, reload and the landing page.
func registerRoutes(h *handler, zk *collector.ZooKeeperCollector, metricsPath string) error {
	http.Handle(metricsPath, h.metrics(zk))
	http.Handle("/probe", http.HandlerFunc(h.probe))
	http.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "OK") })
	http.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return
		}
		if err := collector.Reload(); err != nil {
			http.Error(w, "reload failed: "+err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "OK")
	})
	if metricsPath == "/" {
		return nil
	}
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        "ZooKeeper Exporter",
		Description: "Prometheus exporter for ZooKeeper ensembles, part of zkwatch",
		Version:     version.Info(),
		Links: []web.LandingLinks{
			{Address: metricsPath, Text: "Metrics"},
			{Address: "/probe?target=" + h.cfg.Servers[0], Text: "Probe " + h.cfg.Servers[0]},
			{Address: "/-/healthy", Text: "Health"},
		},
	})
	if err != nil {
		return err
	}
	http.Handle("/", landing)
	return nil
}

// reloadOnSIGHUP re-reads the collectors' configuration on every SIGHUP.
func reloadOnSIGHUP(logger log.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			if err := collector.Reload(); err != nil {
				level.Error(logger).Log("msg", "Reload failed, keeping the old configuration", "err", err)
			} else {
				level.Info(logger).Log("msg", "Configuration reloaded")
			}
		}
	}()
}
