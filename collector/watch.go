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
	"net"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/zkwatch/zkwatch/internal/treecache"
	"github.com/zkwatch/zkwatch/internal/watchconfig"
	"github.com/zkwatch/zkwatch/internal/zksession"
)

// maxDataBytes bounds the part of a node's data that is decoded.
const maxDataBytes = 4096

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

// watcher is the state shared by the watch collectors of one
// ZooKeeperCollector. It connects only if something is configured.
type watcher struct {
	servers    []string
	resolver   *net.Resolver // for the dns+ entries of servers
	opts       WatchOptions
	tls        *tls.Config
	logger     log.Logger
	perSession int // itemsPerSession, or fewer in tests

	startOnce sync.Once
	startErr  error
	started   bool // set under mu once the first configuration is applied

	mu       sync.Mutex
	sessions []*watchSession
	owner    map[string]*watchSession // the session of each item
	items    map[string]watchItem     // by kind + "\x00" + path
	stats    zksession.Sessions       // the sessions' metrics, as one
}

// watchSession is one ZooKeeper session of the watcher.
type watchSession struct {
	m     *zksession.Manager
	items int
}

// The watched items are spread over up to maxSessions sessions, one per
// itemsPerSession items: a ZooKeeper server reads and answers a
// connection's requests one at a time, through a chain of threads, so the
// initial reads of many groups go about twice as fast, and cost both sides
// less CPU, over several connections (bench/notes/watch-scale.md). Each
// item keeps its session for its lifetime: its reads, watches and events
// are those of one session, as with a single one.
const itemsPerSession = 250

const maxSessions = 4

// watchSendBuffer bounds a watch session's requests: its largest is the
// re-sending of its watches after a reconnection, in batches of 128 KiB of
// paths.
const watchSendBuffer = 256 << 10

func newWatcher(cfg Config, logger log.Logger) *watcher {
	w := &watcher{servers: cfg.Servers, resolver: cfg.Resolver, opts: cfg.Watch, tls: cfg.TLS, logger: logger, perSession: itemsPerSession,
		items: map[string]watchItem{}, owner: map[string]*watchSession{}}
	if cfg.itemsPerSession > 0 {
		w.perSession = cfg.itemsPerSession
	}
	return w
}

// start applies the configuration once, when the first watch collector is
// built.
func (w *watcher) start() error {
	w.startOnce.Do(func() {
		wc, err := w.loadConfig()
		if err == nil {
			err = w.apply(wc)
		}
		if err != nil {
			w.closeAll()
			w.startErr = err
			return
		}
		w.mu.Lock()
		w.started = true
		w.mu.Unlock()
	})
	return w.startErr
}

// reload re-reads the configuration; the old one stays when it is invalid.
func (w *watcher) reload() error {
	w.mu.Lock()
	started := w.started
	w.mu.Unlock()
	if !started {
		return nil
	}
	wc, err := w.loadConfig()
	if err != nil {
		level.Error(w.logger).Log("msg", "watch configuration not reloaded, keeping the previous one", "err", err)
		return err
	}
	return w.apply(wc)
}

// loadConfig merges the config file and the groups given as flags.
func (w *watcher) loadConfig() (*watchconfig.Config, error) {
	wc := &watchconfig.Config{}
	if w.opts.ConfigFile != "" {
		var err error
		if wc, err = watchconfig.LoadFile(w.opts.ConfigFile); err != nil {
			return nil, err
		}
	}
	for _, p := range w.opts.Groups {
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

// session returns the session for a new item, out of total items: a new
// one while fewer than the items call for, else the least used.
func (w *watcher) session(total int) (*watchSession, error) {
	if len(w.sessions) < min(maxSessions, (total+w.perSession-1)/w.perSession) {
		m, err := w.newManager()
		if err != nil {
			return nil, err
		}
		ws := &watchSession{m: m}
		w.sessions = append(w.sessions, ws)
		return ws, nil
	}
	least := w.sessions[0]
	for _, ws := range w.sessions[1:] {
		if ws.items < least.items {
			least = ws
		}
	}
	return least, nil
}

// managers returns the sessions' managers.
func (w *watcher) managers() []*zksession.Manager {
	w.mu.Lock()
	defer w.mu.Unlock()
	ms := make([]*zksession.Manager, len(w.sessions))
	for i, ws := range w.sessions {
		ms[i] = ws.m
	}
	return ms
}

// closeSessions closes the sessions without items (all with all true).
func (w *watcher) closeSessions(all bool) {
	kept := w.sessions[:0]
	for _, ws := range w.sessions {
		if ws.items > 0 && !all {
			kept = append(kept, ws)
			continue
		}
		w.stats.Retire(ws.m)
		ws.m.Close()
	}
	clear(w.sessions[len(kept):])
	w.sessions = kept
}

func (w *watcher) newManager() (*zksession.Manager, error) {
	if len(w.servers) == 0 {
		return nil, errors.New("watching needs ZooKeeper servers to connect to")
	}
	opts := zksession.Options{
		Servers:        w.servers,
		Resolver:       w.resolver,
		SessionTimeout: w.opts.SessionTimeout,
		Chroot:         w.opts.Chroot,
		TLS:            w.tls,
		Logger:         log.With(w.logger, "component", "watch-session"),
		// The sessions only read and watch (1.5 MiB by default, per
		// session).
		SendBufferSize: watchSendBuffer,
	}
	if w.opts.DigestFile != "" {
		digest, err := zksession.ReadDigestFile(w.opts.DigestFile)
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
			w.remove(key, it)
		}
	}
	defer w.closeSessions(false)
	for _, s := range specs {
		if _, ok := w.items[s.key]; ok {
			continue
		}
		ws, err := w.session(len(want))
		if err != nil {
			return err
		}
		w.items[s.key] = s.build(ws.m)
		w.owner[s.key] = ws
		ws.items++
	}
	return nil
}

// remove closes an item. w.mu is held.
func (w *watcher) remove(key string, it watchItem) {
	it.close()
	delete(w.items, key)
	w.owner[key].items--
	delete(w.owner, key)
}

func (w *watcher) closeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for key, it := range w.items {
		w.remove(key, it)
	}
	w.closeSessions(true)
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
	for _, sub := range wc.Guardrails.Subtrees {
		specs = append(specs, w.guardrailSpec(sub, time.Duration(wc.Guardrails.Interval)))
	}
	return specs
}

func (w *watcher) maxMembers(override int) int {
	if override > 0 {
		return override
	}
	return w.opts.MaxMembers
}

// watchCollector is embedded by every watch collector: it holds the
// watcher of its ZooKeeperCollector, which closes it.
type watchCollector struct {
	w *watcher
}

func (watchCollector) readsMemoryOnly() {}

func newWatchCollector(cfg Config, _ log.Logger) (watchCollector, error) {
	if cfg.watcher == nil {
		return watchCollector{}, errors.New("watch collectors are built by collector.New")
	}
	if err := cfg.watcher.start(); err != nil {
		return watchCollector{}, err
	}
	return watchCollector{w: cfg.watcher}, nil
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
