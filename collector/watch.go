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

package collector

import (
	"crypto/tls"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/zkwatch/zkwatch/internal/treecache"
	"github.com/zkwatch/zkwatch/internal/watchconfig"
	"github.com/zkwatch/zkwatch/internal/zksession"
)

// Flags of the watch collectors (group, tasks, lock, election, znode, queue,
// session). They share one ZooKeeper session, opened only when something
// is configured to be watched.
var (
	watchGroups = kingpin.Flag("watch.group",
		"ZooKeeper path whose children are the members of a process group (repeatable).").Strings()
	watchConfigFile = kingpin.Flag("watch.config.file",
		"YAML file listing groups, tasks roots, locks, elections, znodes and queues to watch; re-read on reload.").Default("").String()
	watchForgetAfter = kingpin.Flag("watch.group.forget-after",
		"How long a member that left stays exported as member_up 0 (unless expected).").Default("24h").Duration()
	watchMaxMembers = kingpin.Flag("watch.max-members",
		"Maximum children tracked per watched path; more are counted in zookeeper_watch_dropped_members_total.").Default("100000").Int()
	watchSessionTimeout = kingpin.Flag("watch.session-timeout",
		"Session timeout of the exporter's watch session (the server may lower it).").Default("10s").Duration()
	watchDigestFile = kingpin.Flag("watch.auth.digest-file",
		"File holding user:password for ZooKeeper digest authentication of the watch session.").Default("").String()
	watchChroot = kingpin.Flag("watch.chroot",
		"Chroot prepended to every watched path, e.g. /myapp.").Default("").String()
)

// maxDataBytes bounds the part of a node's data that is decoded.
const maxDataBytes = 4096

func init() {
	registerReloader(reloadWatches)
}

// watchItem is one configured thing to watch, backed by one or more caches.
type watchItem interface {
	// root is the label value of zookeeper_watch_synced and friends.
	root() string
	caches() []labeledCache
	close()
}

// labeledCache is a cache with the configured (chroot-less) path of its root.
type labeledCache struct {
	path  string
	cache *treecache.Cache
}

// watcher is the state shared by the watch collectors.
type watcher struct {
	servers []string
	tls     *tls.Config
	logger  log.Logger

	mu    sync.Mutex
	m     *zksession.Manager
	items map[string]watchItem // by kind + "\x00" + path
}

var shared struct {
	sync.Mutex
	w    *watcher
	refs int
}

// acquireWatcher returns the shared watcher, creating it on first use. It
// connects only if something is configured.
func acquireWatcher(cfg Config, logger log.Logger) (*watcher, error) {
	shared.Lock()
	defer shared.Unlock()
	if shared.w == nil {
		w := &watcher{servers: cfg.Servers, tls: cfg.TLS, logger: logger, items: map[string]watchItem{}}
		wc, err := loadWatchConfig()
		if err != nil {
			return nil, err
		}
		if err := w.apply(wc); err != nil {
			w.closeAll()
			return nil, err
		}
		shared.w = w
	}
	shared.refs++
	return shared.w, nil
}

// releaseWatcher drops one reference; the last closes the session.
func releaseWatcher() {
	shared.Lock()
	defer shared.Unlock()
	if shared.refs == 0 {
		return
	}
	shared.refs--
	if shared.refs == 0 && shared.w != nil {
		shared.w.closeAll()
		shared.w = nil
	}
}

func reloadWatches() error {
	shared.Lock()
	w := shared.w
	shared.Unlock()
	if w == nil {
		return nil
	}
	wc, err := loadWatchConfig()
	if err != nil {
		level.Error(w.logger).Log("msg", "watch configuration not reloaded, keeping the previous one", "err", err)
		return err
	}
	return w.apply(wc)
}

// loadWatchConfig merges the config file and the --watch.group flags.
func loadWatchConfig() (*watchconfig.Config, error) {
	wc := &watchconfig.Config{}
	if *watchConfigFile != "" {
		var err error
		if wc, err = watchconfig.LoadFile(*watchConfigFile); err != nil {
			return nil, err
		}
	}
	for _, p := range *watchGroups {
		if err := zksession.ValidatePath(p); err != nil {
			return nil, fmt.Errorf("--watch.group: %w", err)
		}
		dup := false
		for _, g := range wc.Groups {
			dup = dup || g.Path == p
		}
		if !dup {
			wc.Groups = append(wc.Groups, watchconfig.Group{Path: p})
		}
	}
	return wc, nil
}

func (w *watcher) manager() (*zksession.Manager, error) {
	if w.m != nil {
		return w.m, nil
	}
	if len(w.servers) == 0 {
		return nil, errors.New("watching needs ZooKeeper servers to connect to")
	}
	opts := zksession.Options{
		Servers:        w.servers,
		SessionTimeout: *watchSessionTimeout,
		Chroot:         *watchChroot,
		TLS:            w.tls,
		Logger:         log.With(w.logger, "component", "watch-session"),
	}
	if *watchDigestFile != "" {
		digest, err := zksession.ReadDigestFile(*watchDigestFile)
		if err != nil {
			return nil, fmt.Errorf("--watch.auth.digest-file: %w", err)
		}
		opts.Digest = digest
	}
	m, err := zksession.New(opts)
	if err != nil {
		return nil, err
	}
	if err := m.Start(); err != nil {
		return nil, err
	}
	w.m = m
	return m, nil
}

// itemSpec is a wanted item: its key and how to build it.
type itemSpec struct {
	key   string
	build func(m *zksession.Manager) watchItem
	// update adjusts an existing item in place; false means rebuild.
	update func(it watchItem) bool
}

// apply makes the watched items match the configuration.
func (w *watcher) apply(wc *watchconfig.Config) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	specs := w.specs(wc)
	want := map[string]itemSpec{}
	for _, s := range specs {
		want[s.key] = s
	}
	for key, it := range w.items {
		s, ok := want[key]
		if !ok || s.update == nil || !s.update(it) {
			it.close()
			delete(w.items, key)
		}
	}
	if len(want) == 0 {
		if w.m != nil {
			w.m.Close()
			w.m = nil
		}
		return nil
	}
	m, err := w.manager()
	if err != nil {
		return err
	}
	for _, s := range specs {
		if _, ok := w.items[s.key]; !ok {
			w.items[s.key] = s.build(m)
		}
	}
	return nil
}

func (w *watcher) closeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for key, it := range w.items {
		it.close()
		delete(w.items, key)
	}
	if w.m != nil {
		w.m.Close()
		w.m = nil
	}
}

// each calls f for the items of one kind, in key order, under the lock.
func (w *watcher) each(kind string, f func(it watchItem)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	keys := make([]string, 0, len(w.items))
	for k := range w.items {
		if kind == "" || strings.HasPrefix(k, kind+"\x00") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		f(w.items[k])
	}
}

func (w *watcher) newCache(m *zksession.Manager, p string, opts treecache.Options) labeledCache {
	opts.Path = m.Path(p)
	opts.Logger = w.logger
	if opts.MaxDataBytes == 0 {
		opts.MaxDataBytes = maxDataBytes
	}
	c := treecache.New(m, opts)
	c.Start()
	return labeledCache{path: p, cache: c}
}

func (w *watcher) specs(wc *watchconfig.Config) []itemSpec {
	var specs []itemSpec
	for _, g := range wc.Groups {
		specs = append(specs, w.groupSpec(g))
	}
	for _, t := range wc.Tasks {
		specs = append(specs, w.tasksSpec(t))
	}
	for _, r := range wc.Locks {
		specs = append(specs, w.lockSpec(r.Path))
	}
	for _, r := range wc.Elections {
		specs = append(specs, w.electionSpec(r.Path))
	}
	for _, r := range wc.Znodes {
		specs = append(specs, w.znodeSpec(r.Path))
	}
	for _, r := range wc.Queues {
		specs = append(specs, w.queueSpec(r.Path))
	}
	return specs
}

func maxMembers(override int) int {
	if override > 0 {
		return override
	}
	return *watchMaxMembers
}

// watchCollector is embedded by every watch collector: it holds the shared
// watcher and releases it once on Close.
type watchCollector struct {
	w    *watcher
	once *sync.Once
}

func newWatchCollector(cfg Config, logger log.Logger) (watchCollector, error) {
	w, err := acquireWatcher(cfg, logger)
	if err != nil {
		return watchCollector{}, err
	}
	return watchCollector{w: w, once: new(sync.Once)}, nil
}

// Close implements Closer.
func (c watchCollector) Close() error {
	c.once.Do(releaseWatcher)
	return nil
}

// simpleItem is an item backed by one cache.
type simpleItem struct{ lc labeledCache }

func (s *simpleItem) root() string           { return s.lc.path }
func (s *simpleItem) caches() []labeledCache { return []labeledCache{s.lc} }
func (s *simpleItem) close()                 { s.lc.cache.Close() }

// labelSafe turns a znode name into a label value: names that are not valid
// UTF-8 become "invalid-utf8:" and their hex bytes, so that distinct names
// stay distinct.
func labelSafe(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return fmt.Sprintf("invalid-utf8:%x", s)
}

// millis converts ZooKeeper milliseconds to Prometheus seconds.
func millis(ms int64) float64 { return float64(ms) / 1000 }

func joinPath(parent, child string) string { return path.Join(parent, child) }
