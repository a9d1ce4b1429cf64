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

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/zkwatch/zkwatch/collector"
	"github.com/zkwatch/zkwatch/internal/discovery"
	"github.com/zkwatch/zkwatch/internal/httpguard"
	"github.com/zkwatch/zkwatch/internal/reload"
)

type handler struct {
	logger log.Logger
	// exporterRegistry holds the exporter's own metrics: build info,
	// reload gauges, and client_golang's go_ and process_ collectors.
	exporterRegistry *prometheus.Registry
	limit            limiter
	timeoutOffset    float64
	cfg              collector.Config
	maxTargets       int
	allowed          *regexp.Regexp // nil allows every target
	probes           *probeCache
	metricsPath      string
	// gzip compresses answers at BestSpeed: promhttp's default level cost
	// a fifth of a scrape's CPU time for a few percent of size
	// (bench/NOTES.md, change 18).
	gzip func(http.Handler) http.HandlerFunc
}

func newHandler(logger log.Logger, o *options, cfg collector.Config, allowed *regexp.Regexp) *handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(versioncollector.NewCollector("zookeeper_exporter"), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	gz, err := gzhttp.NewWrapper(gzhttp.CompressionLevel(gzip.BestSpeed))
	if err != nil {
		panic(err) // fixed options, valid
	}
	return &handler{
		logger: logger, exporterRegistry: reg, limit: newLimiter(o.maxRequests),
		timeoutOffset: o.timeoutOffset, cfg: cfg, maxTargets: o.probeMaxTargets, allowed: allowed,
		probes: newProbeCache(o.probeMaxEnsembles), metricsPath: o.metricsPath, gzip: gz,
	}
}

// mux routes the exporter's endpoints. /metrics and /probe share one limit
// of concurrent requests.
func (h *handler) mux(zk *collector.ZooKeeperCollector, r *reload.Reloader) (*http.ServeMux, error) {
	mux := http.NewServeMux()
	mux.Handle(h.metricsPath, h.limit.wrap(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h.serve(w, req, zk, h.exporterRegistry)
	})))
	mux.Handle("/probe", h.limit.wrap(http.HandlerFunc(h.probe)))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "OK") })
	mux.Handle("/-/reload", httpguard.CrossOrigin(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return
		}
		if err := r.Reload(); err != nil {
			http.Error(w, "reload failed: "+err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "OK")
	})))
	if h.metricsPath == "/" {
		return mux, nil
	}
	links := []web.LandingLinks{{Address: h.metricsPath, Text: "Metrics"}}
	if first := h.cfg.Servers[0]; !discovery.HasDNS(first) { // /probe takes host:port only
		links = append(links, web.LandingLinks{Address: "/probe?target=" + first, Text: "Probe " + first})
	}
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        "ZooKeeper Exporter",
		Description: "Prometheus exporter for ZooKeeper ensembles, part of zkwatch",
		Version:     version.Info(),
		Links:       append(links, web.LandingLinks{Address: "/-/healthy", Text: "Health"}),
	})
	if err != nil {
		return nil, err
	}
	mux.Handle("/", landing)
	return mux, nil
}

// limiter bounds concurrent requests across the handlers it wraps; nil
// means no limit.
type limiter chan struct{}

func newLimiter(n int) limiter {
	if n <= 0 {
		return nil
	}
	return make(limiter, n)
}

func (l limiter) wrap(next http.Handler) http.Handler {
	if l == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case l <- struct{}{}:
			defer func() { <-l }()
			next.ServeHTTP(w, r)
		default:
			http.Error(w, "too many concurrent requests (--web.max-requests)", http.StatusServiceUnavailable)
		}
	})
}

// scrapeContext bounds a scrape by Prometheus's announced timeout minus the
// offset, as blackbox and mysqld exporters do.
func (h *handler) scrapeContext(r *http.Request) (context.Context, context.CancelFunc) {
	if v := r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
			s -= h.timeoutOffset
			if s < 0.1 {
				s = 0.1
			}
			return context.WithTimeout(r.Context(), time.Duration(s*float64(time.Second)))
		}
	}
	return context.WithCancel(r.Context())
}

// serve answers one scrape: the ZooKeeper collectors under the request's
// context and, when own is set, the exporter's own metrics. promhttp
// writes the answer in the negotiated format.
func (h *handler) serve(w http.ResponseWriter, r *http.Request, zk *collector.ZooKeeperCollector, own prometheus.Gatherer) {
	ctx, cancel := h.scrapeContext(r)
	defer cancel()
	err := zk.GatherFunc(ctx, func(mfs []*dto.MetricFamily) error {
		var err error
		if own != nil {
			ownMfs, ownErr := own.Gather()
			mfs, err = collector.MergeFamilies(mfs, ownMfs)
			err = errors.Join(ownErr, err)
		}
		// Serve what was gathered, as promhttp with ContinueOnError.
		gathered := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return mfs, nil })
		h.gzip(promhttp.HandlerFor(gathered, promhttp.HandlerOpts{DisableCompression: true})).ServeHTTP(w, r)
		return err
	})
	if err != nil {
		level.Error(h.logger).Log("msg", "error gathering metrics", "err", err)
	}
}

// probe serves /probe?target=host:port[,host:port...]: the ensemble
// collector for the given members. The collector of each target list is
// kept (probeCache), so that leader changes are counted across probes;
// its probe is fresh at every request.
func (h *handler) probe(w http.ResponseWriter, r *http.Request) {
	targets, err := parseTargets(r.URL.Query().Get("target"), h.maxTargets)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, t := range targets {
		if h.allowed != nil && !h.allowed.MatchString(t) {
			http.Error(w, fmt.Sprintf("target %q is not allowed by --probe.allowed-targets", t), http.StatusForbidden)
			return
		}
	}
	key := strings.Join(targets, ",")
	zk, err := h.probes.get(key, func() (*collector.ZooKeeperCollector, error) {
		cfg := h.cfg
		cfg.Servers, cfg.ProbeReuse = targets, 0 // a probe is fresh, as the blackbox exporter's
		return collector.New(cfg, log.With(h.logger, "target", key), "ensemble")
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.serve(w, r, zk, nil)
}

// parseTargets validates a comma-separated host:port list.
func parseTargets(s string, max int) ([]string, error) { return parseList(s, max, validateAddr) }

// parseList validates a comma-separated list of at most max entries, each
// with validate, and drops repeated entries.
func parseList(s string, max int, validate func(string) (string, error)) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("missing target parameter (target=host:port[,host:port...])")
	}
	parts := strings.Split(s, ",")
	if len(parts) > max {
		return nil, fmt.Errorf("too many targets: %d (at most %d)", len(parts), max)
	}
	seen := map[string]bool{}
	var out []string
	for _, p := range parts {
		addr, err := validate(strings.TrimSpace(p))
		if err != nil {
			return nil, fmt.Errorf("invalid target %q: %v", p, err)
		}
		if !seen[addr] {
			seen[addr] = true
			out = append(out, addr)
		}
	}
	return out, nil
}

// parseServers validates --zookeeper.servers: host:port entries as /probe
// targets are, and dns+NAME:PORT and dnssrv+NAME entries, looked up at
// every scrape.
func parseServers(s string) ([]string, error) {
	return parseList(s, 255, func(p string) (string, error) {
		if !discovery.HasDNS(p) {
			return validateAddr(p)
		}
		e, err := discovery.Parse(p)
		return e.String(), err
	})
}

// validateAddr accepts host:port only: no scheme, path, user info or
// spaces, a port between 1 and 65535.
func validateAddr(a string) (string, error) {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return "", errors.New("want host:port")
	}
	if host == "" || strings.ContainsAny(host, "/@?#% \t") {
		return "", errors.New("bad host")
	}
	for _, r := range host {
		if !(r == '.' || r == '-' || r == ':' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return "", errors.New("bad host")
		}
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", errors.New("bad port")
	}
	return net.JoinHostPort(host, port), nil
}

// buildConfig turns the flags into a collector.Config and the compiled
// --probe.allowed-targets.
func buildConfig(o *options, watch collector.WatchOptions) (collector.Config, *regexp.Regexp, error) {
	cfg := collector.Config{Timeout: o.timeout, Transport: o.transport, AdminPorts: map[string]string{}, Watch: watch, ProbeReuse: o.probeReuse}
	if o.timeout <= 0 {
		return cfg, nil, errors.New("--zookeeper.timeout must be positive")
	}
	if o.probeMaxEnsembles < 1 {
		return cfg, nil, errors.New("--probe.max-ensembles must be at least 1")
	}
	list, err := parseServers(o.servers)
	if err != nil {
		return cfg, nil, fmt.Errorf("--zookeeper.servers: %w", err)
	}
	cfg.Servers = list
	if o.adminServers != "" && slices.ContainsFunc(list, discovery.HasDNS) {
		return cfg, nil, errors.New("--zookeeper.admin.servers cannot pair addresses with dns+ or dnssrv+ entries (their members use host:8080)")
	}
	if o.adminServers != "" {
		admins, err := parseTargets(o.adminServers, 255)
		if err != nil {
			return cfg, nil, fmt.Errorf("--zookeeper.admin.servers: %w", err)
		}
		if len(admins) != len(list) {
			return cfg, nil, fmt.Errorf("--zookeeper.admin.servers lists %d addresses for %d servers", len(admins), len(list))
		}
		for i, a := range admins {
			cfg.AdminPorts[list[i]] = a
		}
	}
	allowed, err := compileAllowed(o.allowedTargets)
	return cfg, allowed, err
}

// probeCache keeps a collector per probed ensemble so that leader changes
// are tracked across probes; the least recently used is dropped when full.
type probeCache struct {
	mu   sync.Mutex
	max  int
	m    map[string]*probeEntry
	tick uint64
}

type probeEntry struct {
	zk   *collector.ZooKeeperCollector
	used uint64
}

func newProbeCache(max int) *probeCache { return &probeCache{max: max, m: map[string]*probeEntry{}} }

func (c *probeCache) get(key string, build func() (*collector.ZooKeeperCollector, error)) (*collector.ZooKeeperCollector, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tick++
	if e, ok := c.m[key]; ok {
		e.used = c.tick
		return e.zk, nil
	}
	zk, err := build()
	if err != nil {
		return nil, err
	}
	if len(c.m) >= c.max {
		oldest := ""
		for k, e := range c.m {
			if oldest == "" || e.used < c.m[oldest].used {
				oldest = k
			}
		}
		c.m[oldest].zk.Close()
		delete(c.m, oldest)
	}
	c.m[key] = &probeEntry{zk, c.tick}
	return zk, nil
}
