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

// Package collector holds zookeeper_exporter's collectors, one file each.
// The collectors compiled in are registered by name; which of them run and
// with what options is a Config that main fills from flags (AddFlags).
package collector

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/zkwatch/zkwatch/collector/internal/series"
	"github.com/zkwatch/zkwatch/internal/fourlw"
)

// Namespace is the prefix of every metric the exporter exposes.
const Namespace = "zookeeper"

const (
	defaultEnabled  = true
	defaultDisabled = false
)

// newTypedDesc returns the descriptor of zookeeper_<name> (the one place
// where the namespace is added) with its value type, and its family for
// collectors that build series directly.
func newTypedDesc(name, help string, vt prometheus.ValueType, labels ...string) typedDesc {
	typ := dto.MetricType_GAUGE
	if vt == prometheus.CounterValue {
		typ = dto.MetricType_COUNTER
	}
	f := series.NewDesc(Namespace+"_"+name, help, typ, labels...)
	return typedDesc{desc: f.PromDesc(), valueType: vt, fam: f}
}

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

// Config is what every collector factory gets. main fills it from flags
// (see AddFlags); tests and embedders fill it directly, so that several
// exporters can live in one process.
type Config struct {
	// Servers are the ensemble's members: host:port, or dns+NAME:PORT
	// (NAME's A/AAAA records) and dnssrv+NAME (NAME's SRV records), looked
	// up again at every scrape.
	Servers   []string
	Timeout   time.Duration // per-scrape deadline for talking to members
	Transport string        // "4lw" or "admin"
	// AdminPorts maps a client address to its AdminServer address for the
	// admin transport; missing entries use host:8080.
	AdminPorts map[string]string
	// TLS, when set, is used for every connection to the members: four-letter
	// words and the watch session go to the secure client port, the admin
	// transport uses https.
	TLS *tls.Config
	// Resolver looks up the DNS entries of Servers (nil: the system's).
	Resolver *net.Resolver
	// ProbeReuse lets the ensemble collector serve a probe that finished
	// less than this ago (0: probe at every scrape).
	ProbeReuse time.Duration
	// Watch configures the watch collectors.
	Watch WatchOptions
	// TopClients is how many client addresses per member the connections
	// collector names (0: DefaultTopClients); the rest are summed as
	// client="other".
	TopClients int
	// JuteMaxBuffer is the members' jute.maxbuffer in bytes (0:
	// DefaultJuteMaxBuffer), exported for the znode size guardrail.
	JuteMaxBuffer int64

	// watcher is the watch state shared by the watch collectors of one
	// ZooKeeperCollector; New sets it.
	watcher *watcher
	// itemsPerSession, when positive, replaces the watch collectors'
	// itemsPerSession (tests).
	itemsPerSession int
	// members is the one client through which every collector reaches the
	// members (transport, TLS, deadlines), as
	// mysqld_exporter hands its scrapers the instance; New sets it.
	members *fourlw.Client
}

// WatchOptions are the options of the watch collectors (group, tasks, lock,
// election, znode, queue, session).
type WatchOptions struct {
	Groups         []string      // paths whose children are process group members
	ConfigFile     string        // YAML file of things to watch, re-read on Reload
	ForgetAfter    time.Duration // how long a departed member stays exported
	MaxMembers     int           // children tracked per watched path
	SessionTimeout time.Duration // requested session timeout
	DigestFile     string        // file with user:password lines
	Chroot         string        // prepended to every watched path
}

// DefaultWatchOptions are the defaults of the --watch.* flags.
func DefaultWatchOptions() WatchOptions {
	return WatchOptions{ForgetAfter: 24 * time.Hour, MaxMembers: 100000, SessionTimeout: 10 * time.Second}
}

// Factory builds a collector.
type Factory func(cfg Config, logger log.Logger) (Collector, error)

// collectorInfo is a registered collector.
type collectorInfo struct {
	factory        Factory
	defaultEnabled bool
}

// factories is filled by init functions only (registerCollector) and
// read-only afterwards: the set of collectors compiled in, not
// configuration. TestNoPackageState keeps it so.
var factories = map[string]collectorInfo{}

func registerCollector(name string, isDefaultEnabled bool, factory Factory) {
	factories[name] = collectorInfo{factory: factory, defaultEnabled: isDefaultEnabled}
}

// Names returns the names of every collector compiled in, sorted.
func Names() []string {
	names := make([]string, 0, len(factories))
	for name := range factories {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// DefaultEnabled tells whether a collector is on unless switched off.
func DefaultEnabled(name string) bool { return factories[name].defaultEnabled }

// ZooKeeperCollector runs a set of collectors concurrently and reports the
// duration and success of each.
type ZooKeeperCollector struct {
	Collectors map[string]Collector
	logger     log.Logger
	// Timeout bounds one Collect; ScrapeContext may shorten it.
	Timeout time.Duration
	watcher *watcher
	// meta are zookeeper_scrape_collector_{duration_seconds,success} and
	// the collector label of each collector.
	meta collectorMeta
}

// collectorMeta describes the two series every collector gets per scrape.
type collectorMeta struct {
	duration, success typedDesc
	labels            map[string][]*dto.LabelPair
}

func newCollectorMeta(names []string) collectorMeta {
	m := collectorMeta{
		duration: newTypedDesc("scrape_collector_duration_seconds", "Duration of a collector scrape.", prometheus.GaugeValue, "collector"),
		success:  newTypedDesc("scrape_collector_success", "Whether a collector succeeded.", prometheus.GaugeValue, "collector"),
		labels:   map[string][]*dto.LabelPair{},
	}
	for _, name := range names {
		m.labels[name] = series.LabelPairs([]string{"collector"}, []string{name})
	}
	return m
}

// Reload re-reads the watch configuration (on SIGHUP or POST /-/reload).
// The collectors keep their old configuration when the new one is invalid.
func (c *ZooKeeperCollector) Reload() error { return c.watcher.reload() }

// New builds the named collectors. Everything they share (the member
// client, the watch session) belongs to the returned collector: two of them
// are independent.
func New(cfg Config, logger log.Logger, names ...string) (*ZooKeeperCollector, error) {
	members, err := fourlw.NewClient(fourlw.ClientOptions{
		Transport: cfg.Transport, TLS: cfg.TLS, AdminAddrs: cfg.AdminPorts, Timeout: cfg.Timeout,
	})
	if err != nil {
		return nil, err
	}
	cfg.members = members
	cfg.watcher = newWatcher(cfg, logger)
	c := &ZooKeeperCollector{Collectors: map[string]Collector{}, logger: logger, Timeout: cfg.Timeout, watcher: cfg.watcher, meta: newCollectorMeta(names)}
	for _, name := range names {
		info, ok := factories[name]
		if !ok {
			c.Close()
			return nil, fmt.Errorf("unknown collector %q", name)
		}
		col, err := info.factory(cfg, log.With(logger, "collector", name))
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("collector %s: %w", name, err)
		}
		c.Collectors[name] = col
	}
	return c, nil
}

// Close stops collectors that own background work and the watch session.
func (c *ZooKeeperCollector) Close() {
	for _, col := range c.Collectors {
		if cl, ok := col.(Closer); ok {
			_ = cl.Close()
		}
	}
	c.watcher.closeAll()
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
	c.collect(ctx, ch, nil)
}

// Gather collects under ctx like CollectContext and returns the families
// as a registry would, sorted by name: the series of collectors that build
// them directly (the ensemble's) are turned into families without passing
// through a registry, the rest is gathered by one.
func (c *ZooKeeperCollector) Gather(ctx context.Context) ([]*dto.MetricFamily, error) {
	var mfs []*dto.MetricFamily
	err := c.gather(ctx, false, func(m []*dto.MetricFamily) error { mfs = m; return nil })
	return mfs, err
}

// GatherFunc is Gather for families that f uses and forgets: their
// buffers are reused by later scrapes once f returns. f's error is
// returned, joined with the gathering's.
func (c *ZooKeeperCollector) GatherFunc(ctx context.Context, f func([]*dto.MetricFamily) error) error {
	return c.gather(ctx, true, f)
}

func (c *ZooKeeperCollector) gather(ctx context.Context, pool bool, f func([]*dto.MetricFamily) error) error {
	sink := series.NewSink(pool)
	defer sink.Release()
	var (
		mfs []*dto.MetricFamily
		err error
	)
	// Most of a scrape goes to sink; a registry checks and gathers only
	// what collectors sent as metrics, when they sent any.
	if sent := c.collectSink(ctx, sink); len(sent) > 0 {
		reg := prometheus.NewRegistry()
		if err := reg.Register(collectorFunc(func(ch chan<- prometheus.Metric) {
			for _, m := range sent {
				ch <- m
			}
		})); err != nil {
			return err
		}
		mfs, err = reg.Gather()
	}
	fb := series.NewFamilies(pool)
	defer fb.Release()
	merged, mergeErr := MergeFamilies(mfs, fb.Build(sink))
	return errors.Join(err, mergeErr, f(merged))
}

// collectSink runs collect into sink and returns what collectors sent to
// its channel instead.
func (c *ZooKeeperCollector) collectSink(ctx context.Context, sink *series.Sink) []prometheus.Metric {
	ch := make(chan prometheus.Metric, 16)
	done := make(chan struct{})
	var sent []prometheus.Metric
	go func() {
		defer close(done)
		for m := range ch {
			sent = append(sent, m)
		}
	}()
	c.collect(ctx, ch, sink)
	close(ch)
	<-done
	return sent
}

// collect runs the collectors that ask ZooKeeper concurrently, then those
// that read the watch collectors' in-memory view: the view is read as late
// as possible, so an answer tells the state as of when it is sent rather
// than as of when the scrape began (a watch-driven change is visible one
// probe duration earlier).
func (c *ZooKeeperCollector) collect(ctx context.Context, ch chan<- prometheus.Metric, sink *series.Sink) {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	// Those that ask ZooKeeper at once, the first on this goroutine.
	var wg sync.WaitGroup
	var first func()
	for name, col := range c.Collectors {
		if _, ok := col.(memoryReader); ok {
			continue
		}
		run := func() { c.execute(ctx, name, col, ch, sink) }
		if first == nil {
			first = run
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			run()
		}()
	}
	if first != nil {
		first()
	}
	wg.Wait()
	// Those that read memory one after another: none waits for anything.
	for name, col := range c.Collectors {
		if _, ok := col.(memoryReader); ok {
			c.execute(ctx, name, col, ch, sink)
		}
	}
}

// memoryReader is implemented by collectors that only read state kept in
// memory (the watch collectors).
type memoryReader interface{ readsMemoryOnly() }

// seriesCollector is implemented by collectors that build their samples
// into the scrape's sink (package series) instead of sending metrics; their
// Update is series.Send of the same.
type seriesCollector interface {
	collectSeries(ctx context.Context, sink *series.Sink) error
}

// collectorFunc is a prometheus.Collector of one function, unchecked.
type collectorFunc func(ch chan<- prometheus.Metric)

func (f collectorFunc) Describe(chan<- *prometheus.Desc)    {}
func (f collectorFunc) Collect(ch chan<- prometheus.Metric) { f(ch) }

// MergeFamilies merges sets of families gathered apart into one list
// sorted by name, as a registry gathers them. A name in several sets is
// merged and checked by prometheus.Gatherers.
func MergeFamilies(sets ...[]*dto.MetricFamily) ([]*dto.MetricFamily, error) {
	var all []*dto.MetricFamily
	for _, s := range sets {
		all = append(all, s...)
	}
	slices.SortStableFunc(all, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	for i := 1; i < len(all); i++ {
		if all[i-1].GetName() == all[i].GetName() {
			merged := make(prometheus.Gatherers, len(sets))
			for i, s := range sets {
				merged[i] = gathered(s)
			}
			return merged.Gather()
		}
	}
	return all, nil
}

// gathered is an already gathered result.
type gathered []*dto.MetricFamily

func (g gathered) Gather() ([]*dto.MetricFamily, error) { return g, nil }

func (c *ZooKeeperCollector) execute(ctx context.Context, name string, col Collector, ch chan<- prometheus.Metric, sink *series.Sink) {
	logger := c.logger
	begin := time.Now()
	var err error
	if sc, ok := col.(seriesCollector); ok && sink != nil {
		err = sc.collectSeries(ctx, sink)
	} else {
		err = col.Update(ctx, ch)
	}
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
	if sink == nil {
		ch <- c.meta.duration.mustNewConstMetric(duration.Seconds(), name)
		ch <- c.meta.success.mustNewConstMetric(success, name)
		return
	}
	e := series.NewEmitter(sink, nil)
	e.EmitPairs(c.meta.duration.fam, duration.Seconds(), c.meta.labels[name])
	e.EmitPairs(c.meta.success.fam, success, c.meta.labels[name])
}

// newCommandAllowedDesc is zookeeper_command_allowed, which the ensemble
// and connections collectors both emit, for the commands each sends.
func newCommandAllowedDesc() typedDesc {
	return newTypedDesc("command_allowed", "1 when the member allows the four-letter word (or admin command), 0 when its whitelist refuses it.", prometheus.GaugeValue, "server", "command")
}

// refusals logs, once per member and command, that a member's
// 4lw.commands.whitelist refuses a command.
type refusals struct {
	mu     sync.Mutex
	logged map[[2]string]bool
}

func (r *refusals) note(logger log.Logger, addr, cmd string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.logged[[2]string{addr, cmd}] {
		return
	}
	if r.logged == nil {
		r.logged = map[[2]string]bool{}
	}
	r.logged[[2]string{addr, cmd}] = true
	level.Warn(logger).Log("msg", "command refused by the server's 4lw.commands.whitelist; metrics are limited to what the other commands give. Add it to the whitelist for full metrics", "server", addr, "command", cmd)
}

// typedDesc pairs a descriptor with its value type, and its family for
// the collectors that emit samples through package series.
type typedDesc struct {
	desc      *prometheus.Desc
	valueType prometheus.ValueType
	fam       *series.Desc
}

func (d *typedDesc) mustNewConstMetric(value float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d.desc, d.valueType, value, labels...)
}
