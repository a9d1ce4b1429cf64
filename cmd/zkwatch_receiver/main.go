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

// Command zkwatch_receiver is an Alertmanager webhook receiver that records
// incidents durably, notifies people and, where allowed, restarts what went
// down.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/zkwatch/zkwatch/receiver"
	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/store"
	receiverweb "github.com/zkwatch/zkwatch/receiver/web"
)

const name = "zkwatch_receiver"

func main() {
	os.Exit(run())
}

func run() int {
	var (
		configFile  = kingpin.Flag("config.file", "Receiver configuration file.").Default("receiver.yml").String()
		storagePath = kingpin.Flag("storage.path", "Directory of the incident store.").Default("data/").String()
		configCheck = kingpin.Flag("config.check", "Validate the configuration file and exit.").Default("false").Bool()
		toolkit     = kingpinflag.AddFlags(kingpin.CommandLine, ":9143")
	)
	logCfg := &promslog.Config{}
	flag.AddFlags(kingpin.CommandLine, logCfg)
	kingpin.Version(version.Print(name))
	kingpin.HelpFlag.Short('h')
	kingpin.Parse()
	logger := promslog.New(logCfg)

	cfg, err := config.LoadFile(*configFile)
	if err != nil {
		logger.Error("invalid configuration", "err", err)
		return 1
	}
	if *configCheck {
		fmt.Printf("%s: configuration is valid (%d notifiers, %d routes, %d restart rules)\n",
			*configFile, len(cfg.Notifiers), len(cfg.Routes), len(cfg.Restarts))
		return 0
	}
	logger.Info("starting "+name, "version", version.Info(), "build_context", version.BuildContext())

	if before, after, err := store.Compact(*storagePath); err != nil {
		logger.Warn("compacting store failed", "err", err)
	} else if after < before {
		logger.Info("compacted store", "before_bytes", before, "after_bytes", after)
	}
	st, err := store.Open(*storagePath)
	if err != nil {
		logger.Error("opening store", "err", err)
		return 1
	}
	defer st.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector(name),
	)
	reloadOK := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: name + "_config_last_reload_successful", Help: "Whether the last configuration reload succeeded.",
	})
	reloadTime := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: name + "_config_last_reload_success_timestamp_seconds", Help: "Time of the last successful configuration reload.",
	})
	reg.MustRegister(reloadOK, reloadTime)
	rcv, err := receiver.New(st, cfg, reg, logger)
	if err != nil {
		logger.Error("applying configuration", "err", err)
		return 1
	}
	reloadOK.Set(1)
	reloadTime.SetToCurrentTime()

	var reloadMu sync.Mutex
	reload := func() error {
		reloadMu.Lock()
		defer reloadMu.Unlock()
		c, err := config.LoadFile(*configFile)
		if err == nil {
			err = rcv.ApplyConfig(c)
		}
		if err != nil {
			reloadOK.Set(0)
			logger.Error("reload failed, keeping the old configuration", "err", err)
			return err
		}
		reloadOK.Set(1)
		reloadTime.SetToCurrentTime()
		logger.Info("configuration reloaded")
		return nil
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for {
			select {
			case <-hup:
				_ = reload()
			case <-ctx.Done():
				return
			}
		}
	}()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); rcv.Run(ctx) }()

	handler := receiverweb.New(rcv, receiverweb.Options{
		Logger:  logger,
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError)}),
		Reload:  reload,
	})
	// Bounded reads: a client trickling a body cannot hold a request forever.
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 5 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- web.ListenAndServe(srv, toolkit, logger) }()
	code := 0
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			logger.Error("HTTP server failed", "err", err)
			code = 1
		}
		stop()
	case <-ctx.Done():
		logger.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
	}
	wg.Wait()
	return code
}
