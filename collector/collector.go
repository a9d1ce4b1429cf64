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

// Package collector holds zookeeper_exporter's collectors, one file each,
// registered in a registry that creates their --collector.<name> flags.
package collector

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
)

// Namespace is the prefix of every metric the exporter exposes.
const Namespace = "zookeeper"

const (
	defaultEnabled  = true
	defaultDisabled = false
)

var (
	scrapeDurationDesc = prometheus.NewDesc(
		prometheus.BuildFQName(Namespace, "scrape", "collector_duration_seconds"),
		"Duration of a collector scrape.", []string{"collector"}, nil)
	scrapeSuccessDesc = prometheus.NewDesc(
		prometheus.BuildFQName(Namespace, "scrape", "collector_success"),
		"Whether a collector succeeded.", []string{"collector"}, nil)
)

// ErrNoData tells the umbrella collector that a collector had nothing to
// report: logged at debug level, success is 0.
var ErrNoData = errors.New("collector returned no data")

// Collector is the interface a collector implements.
type Collector interface {
	// Update sends the collector's metrics to ch. ctx carries the scrape
	// deadline.
	Update(ctx context.Context, ch chan<- prometheus.Metric) error
}

// Closer is implemented by collectors that own background work (sessions,
// watches) which must stop with the exporter.
type Closer interface {
	Close() error
}

// Config is what every collector factory gets.
type Config struct {
	Servers   []string      // ensemble members, host:port
	Timeout   time.Duration // per-scrape deadline for talking to members
	Transport string        // "4lw" or "admin"
	// AdminPorts maps a client address to its AdminServer address for the
	// admin transport; missing entries use host:8080.
	AdminPorts map[string]string
	// TLS, when set, is used for every connection to the members: four-letter
	// words and the watch session go to the secure client port, the admin
	// transport uses https.
	TLS *tls.Config
}

// Factory builds a collector.
type Factory func(cfg Config, logger log.Logger) (Collector, error)

var (
	factories      = map[string]Factory{}
	collectorState = map[string]*bool{}
	// forcedCollectors are collectors named explicitly on the command line.
	forcedCollectors = map[string]bool{}
	disableDefaults  bool
)

func registerCollector(name string, isDefaultEnabled bool, factory Factory) {
	helpDefaultState := "disabled"
	if isDefaultEnabled {
		helpDefaultState = "enabled"
	}
	flagName := "collector." + name
	flagHelp := fmt.Sprintf("Enable the %s collector (default: %s).", name, helpDefaultState)
	defaultValue := fmt.Sprintf("%v", isDefaultEnabled)
	flag := kingpin.Flag(flagName, flagHelp).Default(defaultValue).Action(collectorFlagAction(name)).Bool()
	collectorState[name] = flag
	factories[name] = factory
}

func collectorFlagAction(name string) func(*kingpin.ParseContext) error {
	return func(*kingpin.ParseContext) error {
		forcedCollectors[name] = true
		return nil
	}
}

var reloaders []func() error

// registerReloader adds a function that Reload calls, for collectors that
// read a configuration file.
func registerReloader(f func() error) { reloaders = append(reloaders, f) }

// Reload re-reads the configuration of every collector that has one (on
// SIGHUP or POST /-/reload). It returns the first error; a collector keeps its
// old configuration when the new one is invalid.
func Reload() error {
	var errs []error
	for _, f := range reloaders {
		errs = append(errs, f())
	}
	return errors.Join(errs...)
}

// DisableDefaultCollectors, when called before parsing, turns every
// collector off unless it is enabled explicitly.
func DisableDefaultCollectors() {
	for name := range collectorState {
		if !forcedCollectors[name] {
			*collectorState[name] = false
		}
	}
}

func init() {
	kingpin.Flag("collector.disable-defaults", "Set all collectors to disabled by default.").Default("false").BoolVar(&disableDefaults)
}

// Enabled returns the names of the collectors switched on by flags, sorted.
func Enabled() []string {
	if disableDefaults {
		DisableDefaultCollectors()
	}
	var names []string
	for name, on := range collectorState {
		if *on {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// ZooKeeperCollector runs a set of collectors concurrently and reports the
// duration and success of each.
type ZooKeeperCollector struct {
	Collectors map[string]Collector
	logger     log.Logger
	// Timeout bounds one Collect; ScrapeContext may shorten it.
	Timeout time.Duration
}

// New builds the named collectors (all enabled ones when names is empty).
func New(cfg Config, logger log.Logger, names ...string) (*ZooKeeperCollector, error) {
	if len(names) == 0 {
		names = Enabled()
	}
	c := &ZooKeeperCollector{Collectors: map[string]Collector{}, logger: logger, Timeout: cfg.Timeout}
	for _, name := range names {
		f, ok := factories[name]
		if !ok {
			c.Close()
			return nil, fmt.Errorf("unknown collector %q", name)
		}
		col, err := f(cfg, log.With(logger, "collector", name))
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("collector %s: %w", name, err)
		}
		c.Collectors[name] = col
	}
	return c, nil
}

// Close stops collectors that own background work.
func (c *ZooKeeperCollector) Close() {
	for _, col := range c.Collectors {
		if cl, ok := col.(Closer); ok {
			_ = cl.Close()
		}
	}
}

// Describe implements prometheus.Collector. It sends nothing, which makes
// the collector unchecked: the metrics of mntr depend on the server version.
func (c *ZooKeeperCollector) Describe(ch chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (c *ZooKeeperCollector) Collect(ch chan<- prometheus.Metric) {
	c.CollectContext(context.Background(), ch)
}

// CollectContext collects under ctx (which may carry the scrape timeout
// Prometheus announced).
func (c *ZooKeeperCollector) CollectContext(ctx context.Context, ch chan<- prometheus.Metric) {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	var wg sync.WaitGroup
	wg.Add(len(c.Collectors))
	for name, col := range c.Collectors {
		go func(name string, col Collector) {
			defer wg.Done()
			execute(ctx, name, col, ch, c.logger)
		}(name, col)
	}
	wg.Wait()
}

func execute(ctx context.Context, name string, col Collector, ch chan<- prometheus.Metric, logger log.Logger) {
	begin := time.Now()
	err := col.Update(ctx, ch)
	duration := time.Since(begin)
	success := 1.0
	if err != nil {
		success = 0
		if errors.Is(err, ErrNoData) {
			level.Debug(logger).Log("msg", "collector returned no data", "name", name, "duration_seconds", duration.Seconds(), "err", err)
		} else {
			level.Error(logger).Log("msg", "collector failed", "name", name, "duration_seconds", duration.Seconds(), "err", err)
		}
	}
	ch <- prometheus.MustNewConstMetric(scrapeDurationDesc, prometheus.GaugeValue, duration.Seconds(), name)
	ch <- prometheus.MustNewConstMetric(scrapeSuccessDesc, prometheus.GaugeValue, success, name)
}

// typedDesc pairs a descriptor with its value type.
type typedDesc struct {
	desc      *prometheus.Desc
	valueType prometheus.ValueType
}

func (d *typedDesc) mustNewConstMetric(value float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d.desc, d.valueType, value, labels...)
}
