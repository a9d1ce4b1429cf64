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
	stdlog "log"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/zkwatch/zkwatch/internal/logging"
	"github.com/zkwatch/zkwatch/internal/reload"
	"github.com/zkwatch/zkwatch/receiver"
	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/store"
	receiverweb "github.com/zkwatch/zkwatch/receiver/web"
)

const name = "zkwatch_receiver"

func main() { os.Exit(run(os.Args[1:])) }

// flags are the receiver's command-line flags.
type flags struct {
	configFile, storagePath, externalURL *string
	configCheck, allowUnauth             *bool
	toolkit                              *web.FlagConfig
	log                                  *promslog.Config
	ha                                   *haFlags
}

func addFlags(app *kingpin.Application) *flags {
	return &flags{
		configFile:  app.Flag("config.file", "Receiver configuration file.").Default("receiver.yml").String(),
		storagePath: app.Flag("storage.path", "Directory of the incident store.").Default("data/").String(),
		configCheck: app.Flag("config.check", "Validate the configuration file and exit.").Default("false").Bool(),
		allowUnauth: app.Flag("web.allow-unauthenticated",
			"Serve without authentication on a non-loopback address (unsafe: anyone reaching the port can post alerts, read the incident history and run the restart rules).").Default("false").Bool(),
		externalURL: app.Flag("web.external-url",
			"The URL under which the receiver is reachable (for example, if it is served via a reverse proxy). Messages link to incident pages below it; without it they show incident ids only.").
			Default("").String(),
		toolkit: kingpinflag.AddFlags(app, ":9143"),
		log:     logging.AddFlags(app),
		ha:      addHAFlags(app),
	}
}

func run(args []string) int {
	app := kingpin.New(name, "Alertmanager webhook receiver: notifications, deduplication, durable history and guarded restarts.")
	f := addFlags(app)
	app.Version(version.Print(name))
	app.UsageWriter(os.Stdout)
	app.HelpFlag.Short('h')
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v, try --help\n", name, err)
		return 2
	}
	configFile, storagePath, externalURL, toolkit, haConfig := f.configFile, f.storagePath, f.externalURL, f.toolkit, f.ha
	logger, slogger := logging.New(f.log)
	if err := checkExternalURL(*externalURL); err != nil {
		level.Error(logger).Log("msg", "invalid --web.external-url", "err", err)
		return 1
	}

	cfg, err := config.LoadFile(*configFile)
	if err != nil {
		level.Error(logger).Log("msg", "invalid configuration", "err", err)
		return 1
	}
	if *f.configCheck {
		fmt.Printf("%s: configuration is valid (%d notifiers, %d routes, %d restart rules)\n",
			*configFile, len(cfg.Notifiers), len(cfg.Routes), len(cfg.Restarts))
		return 0
	}
	exp, err := startupExposure(toolkit, *f.allowUnauth, cfg, logger)
	if err != nil {
		level.Error(logger).Log("msg", "unsafe setup", "err", err)
		return 1
	}
	level.Info(logger).Log("msg", "starting "+name, "version", version.Info(), "build_context", version.BuildContext())

	st, err := openStore(*storagePath, logger)
	if err != nil {
		level.Error(logger).Log("msg", "opening store", "err", err)
		return 1
	}
	defer st.Close()

	reg := newRegistry()
	rcv, stopHA, err := startReceiver(st, cfg, reg, *externalURL, haConfig, *toolkit.WebListenAddresses, logger)
	if err != nil {
		level.Error(logger).Log("msg", "starting the receiver", "err", err)
		return 1
	}
	defer stopHA()
	rl := reload.New(name, "configuration", reloadFunc(*configFile, rcv, exp), reg, logger)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	watchSIGHUP(ctx, rl)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); rcv.Run(ctx) }()

	handler := receiverweb.New(rcv, receiverweb.Options{
		Logger: logger,
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{
			ErrorLog: stdlog.New(log.NewStdlibAdapter(level.Error(logger)), "", 0),
		}),
		Reload:       rl.Reload,
		Exposure:     func() error { return exp.check(rcv.Config()) },
		LoopbackHost: func() bool { return exp.loopbackOnly() && exp.unauthenticated(rcv.Config()) },
		ExternalHost: externalHost(*externalURL),
	})
	code := serve(ctx, handler, toolkit, logger, slogger)
	stop()
	wg.Wait()
	return code
}

// newRegistry is the registry of /metrics, with the process's own
// collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector(name),
	)
	return reg
}

// startReceiver builds the receiver over st, gives it its external URL
// and its coordination with other replicas, and settles the restarts a
// crash interrupted; the returned function stops the coordination.
func startReceiver(st *store.Store, cfg *config.Config, reg prometheus.Registerer, externalURL string, ha *haFlags,
	listen []string, logger log.Logger) (*receiver.Receiver, func(), error) {
	rcv, err := receiver.New(st, cfg, reg, logger)
	if err != nil {
		return nil, nil, fmt.Errorf("applying configuration: %w", err)
	}
	rcv.SetExternalURL(externalURL)
	stopHA, err := ha.attach(rcv, listen, reg, logger)
	if err != nil {
		return nil, nil, fmt.Errorf("setting up replica coordination: %w", err)
	}
	rcv.Recover()
	return rcv, stopHA, nil
}

// checkExternalURL accepts "" or an absolute http(s) URL.
func checkExternalURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q must be an absolute http(s) URL without query or fragment", s)
	}
	return nil
}

// externalHost is the host name of a checked --web.external-url, or "".
func externalHost(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Hostname()
	}
	return ""
}

// openStore compacts the store (best effort) and opens it.
func openStore(path string, logger log.Logger) (*store.Store, error) {
	if before, after, err := store.Compact(path); err != nil {
		level.Warn(logger).Log("msg", "compacting store failed", "err", err)
	} else if after < before {
		level.Info(logger).Log("msg", "compacted store", "before_bytes", before, "after_bytes", after)
	}
	return store.Open(path)
}

// serve runs the HTTP server until it fails or ctx ends (SIGINT/SIGTERM),
// then shuts it down gracefully. It returns the process exit code.
func serve(ctx context.Context, handler http.Handler, toolkit *web.FlagConfig, logger log.Logger, slogger *slog.Logger) int {
	// Bounded reads: a client trickling a body cannot hold a request forever.
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 5 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- web.ListenAndServe(srv, toolkit, slogger) }()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			level.Error(logger).Log("msg", "HTTP server failed", "err", err)
			return 1
		}
		return 0
	case <-ctx.Done():
		level.Info(logger).Log("msg", "shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return 0
	}
}

// reloadFunc re-reads the configuration file; the exposure check runs
// again, so a reload cannot open the restart hook to the network.
func reloadFunc(file string, rcv *receiver.Receiver, exp *exposure) func() error {
	return func() error {
		c, err := config.LoadFile(file)
		if err == nil {
			err = exp.check(c)
		}
		if err == nil {
			err = rcv.ApplyConfig(c)
		}
		return err
	}
}

// watchSIGHUP reloads on every SIGHUP until ctx ends. The signal is
// subscribed before it returns, so an early SIGHUP cannot kill the process.
func watchSIGHUP(ctx context.Context, rl *reload.Reloader) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-hup:
				_ = rl.Reload()
			case <-ctx.Done():
				return
			}
		}
	}()
}
