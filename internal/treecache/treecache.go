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

// Package treecache keeps an in-memory view of a watched znode and its
// children current with one-shot watches, and re-reads and diffs the whole
// view after a session loss.
package treecache

import (
	"errors"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/go-zookeeper/zk"

	"github.com/zkwatch/zkwatch/internal/zksession"
)

// Mode says how much of the tree under the root a Cache reads.
type Mode int

const (
	// ModeNode watches the root only: existence and stat.
	ModeNode Mode = iota
	// ModeCount adds the number of the root's children, without names.
	ModeCount
	// ModeChildren adds the names of the root's children.
	ModeChildren
	// ModeChildStat adds each child's stat, read once when it appears.
	ModeChildStat
	// ModeChildData adds each child's data, decoded and kept current by a
	// data watch per child.
	ModeChildData
)

// Stat is the part of a znode's stat the cache keeps.
type Stat struct {
	Czxid   int64
	Ctime   int64 // milliseconds since the epoch
	Mtime   int64 // milliseconds since the epoch
	Version int32
	// DataLength and NumChildren are as of the last read of the stat.
	DataLength, NumChildren int32
}

func statOf(s *zk.Stat) Stat {
	return Stat{Czxid: s.Czxid, Ctime: s.Ctime, Mtime: s.Mtime, Version: s.Version, DataLength: s.DataLength, NumChildren: s.NumChildren}
}

// Node is one child in the view.
type Node struct {
	Name    string
	Czxid   int64
	Ctime   int64 // milliseconds since the epoch
	Version int32
	// EphemeralOwner is the session that owns an ephemeral node (0 for a
	// persistent one), for ModeChildStat and ModeChildData.
	EphemeralOwner int64
	// DataLength and NumChildren are from the child's last read
	// (ModeChildStat and ModeChildData): its data size in bytes, kept
	// current in ModeChildData, and its children then.
	DataLength, NumChildren int32
	// Value is what Options.Decode made of the node's data.
	Value any
	// seq is the session's EventSeq after the read that gave this node
	// (ModeChildData): a NodeDeleted event numbered above it was sent
	// after that read's reply, by the watch the read set.
	seq uint64
}

// ChangeKind says what happened to a node.
type ChangeKind int

// The change kinds.
const (
	Join ChangeKind = iota
	Leave
	Update
	RootCreated
	RootDeleted
	RootUpdated
)

// Change is one difference between two views. Old and New are nil where
// they do not apply; root changes carry no nodes.
type Change struct {
	Kind     ChangeKind
	Name     string
	Old, New *Node
	// OldRoot and NewRoot are set on root changes.
	OldRoot, NewRoot Stat
}

// View is the cache's state, read under its lock.
type View struct {
	Exists bool
	Root   Stat
	// Children holds the tracked children (at most MaxChildren).
	Children map[string]*Node
	// Total is the number of children the root had at the last read,
	// including those not tracked because of MaxChildren, less the
	// tracked children seen deleted since.
	Total  int
	Synced bool
	// Initialized is set after the first complete read: changes seen
	// before it are the initial population, not events.
	Initialized bool
}

// Options configure a Cache.
type Options struct {
	// Path is the root's path on the server (with any chroot).
	Path string
	Mode Mode
	// Decode turns a child's data (cut to MaxDataBytes) into Node.Value
	// in ModeChildData. An error is counted as reason "bad_data"; the
	// value returned with it is kept.
	Decode func(name string, data []byte) (any, error)
	// MaxChildren caps the tracked children (0: unlimited).
	MaxChildren int
	// MaxDataBytes cuts the data passed to Decode (0: 4096).
	MaxDataBytes int
	// OnChange is called from the cache's goroutine, with the cache's write
	// lock held, after the view took the changes in. It must not call the
	// cache; lock order is the cache first, then the callee's own lock.
	OnChange func(v *View, changes []Change)
	Logger   log.Logger
	// Concurrency bounds parallel child reads of this cache (0: 16).
	Concurrency int
}

// Error reasons counted by Errors.
const (
	ReasonACL        = "acl"        // read denied by the node's ACL
	ReasonBadData    = "bad_data"   // Decode failed
	ReasonConnection = "connection" // connection or session lost mid-read
	ReasonOther      = "other"
)

// Reasons lists every error reason.
var Reasons = []string{ReasonACL, ReasonBadData, ReasonConnection, ReasonOther}

// Cache is a watched view of one root.
type Cache struct {
	opts   Options
	prefix string // the root's path with a trailing slash
	m      *zksession.Manager
	logger log.Logger

	pmu     sync.Mutex
	pending work
	wake    chan struct{}
	done    chan struct{}
	unsub   func()

	mu   sync.RWMutex
	view View
	// tombs holds the children whose deletion NodeEventAt applied, with
	// the event's number: a read that may have been served before the
	// deletion must not bring them back.
	tombs    map[string]uint64
	epoch    uint64 // bumped whenever the session is suspended or lost
	errs     map[string]float64
	dropped  float64
	overflow int

	// beforeMerge, when set (by tests), runs after a batch of child reads
	// and before their results are merged.
	beforeMerge func()
}

type work struct {
	resync bool // read everything again
	full   bool // with the watches on children too (new session)
	root   bool
	kids   map[string]struct{}
}

// New makes a cache; Start begins watching.
func New(m *zksession.Manager, opts Options) *Cache {
	if opts.MaxDataBytes <= 0 {
		opts.MaxDataBytes = 4096
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	if opts.Logger == nil {
		opts.Logger = log.NewNopLogger()
	}
	prefix := opts.Path
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return &Cache{
		opts:   opts,
		prefix: prefix,
		m:      m,
		logger: log.With(opts.Logger, "root", opts.Path),
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		view:   View{Children: map[string]*Node{}},
		errs:   map[string]float64{},
	}
}

// Start subscribes to the session and syncs as soon as it is live.
func (c *Cache) Start() {
	go c.run()
	c.unsub = c.m.Subscribe(c, c.opts.Path)
}

// Close stops watching. A read in flight finishes in the background and is
// discarded.
func (c *Cache) Close() {
	select {
	case <-c.done:
		return
	default:
	}
	close(c.done)
	if c.unsub != nil {
		c.unsub()
	}
}

// Path returns the root's server path.
func (c *Cache) Path() string { return c.opts.Path }

// Read calls f with the view under the read lock; f must not keep
// references to the map.
func (c *Cache) Read(f func(v *View)) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	f(&c.view)
}

// Synced reports whether the view is known to be current.
func (c *Cache) Synced() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.view.Synced
}

// Errors returns the read errors by reason and the count of children left
// out because of MaxChildren.
func (c *Cache) Errors() (map[string]float64, float64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return maps(c.errs), c.dropped
}

func maps(m map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// NodeEventAt implements zksession.OrderedListener. A tracked child's
// NodeDeleted event, when sent after the reply of the read that tracked
// it, removes the child at once: the read set the data watch, and the
// watch fired, so that child is gone. Other events are queued for a read.
func (c *Cache) NodeEventAt(ev zk.Event, seq uint64) {
	if ev.Type == zk.EventNodeDeleted && c.opts.Mode == ModeChildData &&
		strings.HasPrefix(ev.Path, c.prefix) && c.applyDelete(ev.Path[len(c.prefix):], seq) {
		return
	}
	c.NodeEvent(ev)
}

// applyDelete removes the named child if the event numbered seq was sent
// after the read that gave it; it reports whether it did.
func (c *Cache) applyDelete(name string, seq uint64) bool {
	applied := false
	c.commit(func(v *View) []Change {
		n, ok := v.Children[name]
		if !ok || seq <= n.seq {
			return nil
		}
		applied = true
		if c.tombs == nil {
			c.tombs = map[string]uint64{}
		}
		c.tombs[name] = seq
		return []Change{c.leave(v, n)}
	})
	return applied
}

// leave removes a tracked child found deleted outside a read of the root.
// The view's lock is held.
func (c *Cache) leave(v *View, n *Node) Change {
	delete(v.Children, n.Name)
	// The root's last read listed the child (else it would have left
	// then): it has one child less.
	if v.Total > len(v.Children) {
		v.Total--
	}
	return Change{Kind: Leave, Name: n.Name, Old: n}
}

// NodeEvent implements zksession.Listener.
func (c *Cache) NodeEvent(ev zk.Event) {
	c.pmu.Lock()
	if ev.Path == c.opts.Path {
		c.pending.root = true
	} else if c.opts.Mode == ModeChildData && path.Dir(ev.Path) == c.opts.Path {
		if c.pending.kids == nil {
			c.pending.kids = map[string]struct{}{}
		}
		c.pending.kids[path.Base(ev.Path)] = struct{}{}
	} else {
		c.pmu.Unlock()
		return
	}
	c.pmu.Unlock()
	c.signal()
}

// SessionEvent implements zksession.Listener.
func (c *Cache) SessionEvent(ev zksession.SessionEvent) {
	switch ev.State {
	case zksession.Suspended, zksession.Lost:
		// Blind from now on: whatever the view says may be stale.
		c.mu.Lock()
		c.view.Synced = false
		c.epoch++
		c.mu.Unlock()
		if ev.State == zksession.Lost {
			c.pmu.Lock()
			c.pending.full = true
			c.pmu.Unlock()
		}
	case zksession.Connected, zksession.Reconnected:
		c.pmu.Lock()
		c.pending.resync = true
		c.pending.full = c.pending.full || ev.NewSession
		c.pmu.Unlock()
		c.signal()
	}
}

func (c *Cache) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *Cache) take() work {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	w := c.pending
	c.pending = work{}
	return w
}

// putBack merges work that failed into the pending work.
func (c *Cache) putBack(w work) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	c.pending.resync = c.pending.resync || w.resync
	c.pending.full = c.pending.full || w.full
	c.pending.root = c.pending.root || w.root
	for k := range w.kids {
		if c.pending.kids == nil {
			c.pending.kids = map[string]struct{}{}
		}
		c.pending.kids[k] = struct{}{}
	}
}

func (c *Cache) run() {
	backoff := time.Duration(0)
	var retry <-chan time.Time
	for {
		select {
		case <-c.done:
			return
		case <-c.wake:
		case <-retry:
			retry = nil
		}
		w := c.take()
		if !w.resync && !w.root && len(w.kids) == 0 {
			continue
		}
		err := c.process(w)
		if err == nil {
			backoff = 0
			continue
		}
		select {
		case <-c.done:
			return
		default:
		}
		// A failed event-driven read is redone as a resync: the watch it
		// should have set may be missing.
		w.resync = true
		c.putBack(w)
		if backoff == 0 {
			backoff = 250 * time.Millisecond
		} else if backoff < 30*time.Second {
			backoff *= 2
		}
		if retry == nil {
			retry = time.After(backoff)
		}
	}
}

func (c *Cache) countError(err error) {
	reason := ReasonOther
	lvl := level.Warn
	switch {
	case errors.Is(err, zk.ErrNoAuth), errors.Is(err, zk.ErrAuthFailed):
		reason = ReasonACL
		lvl = level.Error
	case errors.Is(err, zk.ErrConnectionClosed), errors.Is(err, zk.ErrNoServer),
		errors.Is(err, zk.ErrSessionExpired), errors.Is(err, zk.ErrClosing),
		errors.Is(err, zk.ErrSessionMoved):
		reason = ReasonConnection
		lvl = level.Debug
	}
	c.mu.Lock()
	c.errs[reason]++
	c.mu.Unlock()
	msg := "watch read failed"
	if reason == ReasonACL {
		msg = "watch read denied by ACL: grant the exporter's identity read access (see --watch.auth.digest-file)"
	}
	lvl(c.logger).Log("msg", msg, "reason", reason, "err", err)
}

func (c *Cache) process(w work) error {
	c.mu.Lock()
	epoch := c.epoch
	// The reads below start after every event numbered up to now.
	c.pruneTombs(c.m.EventSeq())
	c.mu.Unlock()
	if w.resync {
		if err := c.refreshRoot(w.full); err != nil {
			c.countError(err)
			return err
		}
		c.mu.Lock()
		if c.epoch == epoch && !c.closed() {
			c.view.Synced = true
		}
		c.view.Initialized = true
		c.mu.Unlock()
		return nil
	}
	// Children first: a child deleted and created again must be seen as
	// a leave and a join even when the root's read sees the new one.
	if len(w.kids) > 0 {
		names := make([]string, 0, len(w.kids))
		for k := range w.kids {
			names = append(names, k)
		}
		if err := c.refreshKids(names, true); err != nil {
			c.countError(err)
			return err
		}
	}
	if w.root {
		if err := c.refreshRoot(false); err != nil {
			c.countError(err)
			return err
		}
	}
	return nil
}

// pruneTombs forgets the deletions that reads starting after event seq
// cannot predate. The view's lock is held.
func (c *Cache) pruneTombs(seq uint64) {
	for name, s := range c.tombs {
		if s <= seq {
			delete(c.tombs, name)
		}
	}
}

func (c *Cache) closed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// commit applies changes to the view and tells OnChange, under the lock.
func (c *Cache) commit(update func(v *View) []Change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed() {
		return
	}
	changes := update(&c.view)
	if len(changes) > 0 && c.opts.OnChange != nil {
		c.opts.OnChange(&c.view, changes)
	}
}

func (c *Cache) conn() *zk.Conn { return c.m.Conn() }

func (c *Cache) refreshRoot(full bool) error {
	if c.opts.Mode == ModeNode {
		ok, st, _, err := c.conn().ExistsW(c.opts.Path)
		if err != nil {
			return err
		}
		c.setRoot(ok, st, nil)
		return nil
	}
	var children []string
	var st *zk.Stat
	for attempt := 0; ; attempt++ {
		var err error
		children, st, _, err = c.conn().ChildrenW(c.opts.Path)
		if err == nil {
			break
		}
		if !errors.Is(err, zk.ErrNoNode) {
			return err
		}
		// Not there (yet): watch for its creation.
		ok, _, _, err := c.conn().ExistsW(c.opts.Path)
		if err != nil {
			return err
		}
		if !ok || attempt >= 3 {
			c.setRoot(false, nil, nil)
			return nil
		}
	}
	keep := c.setRoot(true, st, children)
	if c.opts.Mode == ModeChildren || c.opts.Mode == ModeCount {
		return nil
	}
	// Read the children that are new, or all of them after a session loss
	// (to set their watches again and to see those replaced meanwhile).
	var fetch []string
	c.mu.RLock()
	for _, name := range keep {
		if _, known := c.view.Children[name]; full || !known {
			fetch = append(fetch, name)
		}
	}
	c.mu.RUnlock()
	return c.refreshKids(fetch, false)
}

// setRoot records the root's existence and children list; it returns the
// children to track. Children not listed leave the view.
func (c *Cache) setRoot(exists bool, st *zk.Stat, children []string) []string {
	var keep []string
	c.commit(func(v *View) []Change {
		var changes []Change
		old := v.Root
		var now Stat
		if exists {
			now = statOf(st)
		}
		switch {
		case exists && !v.Exists:
			changes = append(changes, Change{Kind: RootCreated, NewRoot: now})
		case !exists && v.Exists:
			changes = append(changes, Change{Kind: RootDeleted, OldRoot: old})
		case exists && (now.Czxid != old.Czxid || now.Version != old.Version):
			changes = append(changes, Change{Kind: RootUpdated, OldRoot: old, NewRoot: now})
		}
		v.Exists, v.Root = exists, now
		if c.opts.Mode == ModeNode {
			return changes
		}
		v.Total = len(children)
		if c.opts.Mode == ModeCount {
			return changes
		}
		present := make(map[string]struct{}, len(children))
		for _, name := range children {
			present[name] = struct{}{}
		}
		for name, n := range v.Children {
			if _, ok := present[name]; !ok {
				delete(v.Children, name)
				changes = append(changes, Change{Kind: Leave, Name: name, Old: n})
			}
		}
		// Tracked children stay; new ones are added in name order up to
		// the cap.
		var fresh []string
		for _, name := range children {
			if _, ok := v.Children[name]; ok {
				keep = append(keep, name)
			} else {
				fresh = append(fresh, name)
			}
		}
		slices.Sort(fresh)
		room := len(fresh)
		if c.opts.MaxChildren > 0 {
			room = max(0, min(room, c.opts.MaxChildren-len(keep)))
		}
		overflow := len(fresh) - room
		if overflow > c.overflow {
			c.dropped += float64(overflow - c.overflow)
			if c.overflow == 0 {
				level.Warn(c.logger).Log("msg", "too many children, some are not tracked (see --watch.max-members)", "children", len(children), "max", c.opts.MaxChildren)
			}
		}
		c.overflow = overflow
		fresh = fresh[:room]
		keep = append(keep, fresh...)
		if c.opts.Mode == ModeChildren {
			for _, name := range fresh {
				n := &Node{Name: name}
				v.Children[name] = n
				changes = append(changes, Change{Kind: Join, Name: name, New: n})
			}
		}
		return changes
	})
	return keep
}

type kidResult struct {
	name string
	gone bool
	node *Node
	bad  error
	err  error
	// The session's EventSeq before the request and after its reply.
	before, after uint64
}

// refreshKids reads the named children (setting data watches in
// ModeChildData) and merges them into the view. onlyKnown restricts the
// merge to children already tracked (for data events).
func (c *Cache) refreshKids(names []string, onlyKnown bool) error {
	if len(names) == 0 {
		return nil
	}
	results := c.readKids(names)
	if c.beforeMerge != nil {
		c.beforeMerge()
	}
	return c.mergeKids(results, onlyKnown)
}

// readKids reads the named children.
func (c *Cache) readKids(names []string) []kidResult {
	results := make([]kidResult, len(names))
	// At most Concurrency reads of this cache, and a bound per session on
	// the reads in flight (many caches sync at once after a session loss).
	// A goroutine is started per read only once both allow it: goroutines
	// waiting for a slot would each keep a goroutine descriptor alive for
	// good (about 80 bytes per member at 1,000 groups of 100).
	limit := make(chan struct{}, c.opts.Concurrency)
	var wg sync.WaitGroup
	for i := range names {
		limit <- struct{}{}
		release := c.m.Acquire()
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = c.readKid(names[i])
			release()
			<-limit
		}()
	}
	wg.Wait()
	return results
}

// mergeKids merges the results of child reads into the view and returns
// the first read error.
func (c *Cache) mergeKids(results []kidResult, onlyKnown bool) error {
	var firstErr error
	bad, relist := 0, false
	c.commit(func(v *View) []Change {
		var changes []Change
		for _, r := range results {
			if r.err != nil {
				if firstErr == nil {
					firstErr = r.err
				}
				continue
			}
			if s, ok := c.tombs[r.name]; ok && s > r.before {
				// The read may have been served before a deletion
				// already applied: list the root again instead, which
				// reads the child afresh if it is back.
				relist = true
				continue
			}
			old, known := v.Children[r.name]
			if onlyKnown && !known {
				continue
			}
			if r.bad != nil {
				bad++
			}
			switch {
			case r.gone:
				if known {
					changes = append(changes, c.leave(v, old))
				}
			case !known:
				v.Children[r.name] = r.node
				changes = append(changes, Change{Kind: Join, Name: r.name, New: r.node})
			case old.Czxid != r.node.Czxid:
				// Deleted and created again while we were not looking.
				v.Children[r.name] = r.node
				changes = append(changes, Change{Kind: Leave, Name: r.name, Old: old},
					Change{Kind: Join, Name: r.name, New: r.node})
			case old.Version != r.node.Version:
				v.Children[r.name] = r.node
				changes = append(changes, Change{Kind: Update, Name: r.name, Old: old, New: r.node})
			}
		}
		if bad > 0 {
			c.errs[ReasonBadData] += float64(bad)
		}
		return changes
	})
	if relist {
		c.pmu.Lock()
		c.pending.root = true
		c.pmu.Unlock()
		c.signal()
	}
	return firstErr
}

func (c *Cache) readKid(name string) kidResult {
	// Child names hold no slash: a concatenation is the joined path.
	p := c.prefix + name
	r := kidResult{name: name, before: c.m.EventSeq()}
	var st *zk.Stat
	var data []byte
	var err error
	if c.opts.Mode == ModeChildData {
		data, st, _, err = c.conn().GetW(p)
		r.after = c.m.EventSeq()
	} else {
		var ok bool
		ok, st, err = c.conn().Exists(p)
		if err == nil && !ok {
			err = zk.ErrNoNode
		}
	}
	switch {
	case errors.Is(err, zk.ErrNoNode):
		r.gone = true
		return r
	case err != nil:
		r.err = err
		return r
	}
	r.node = &Node{Name: name, Czxid: st.Czxid, Ctime: st.Ctime, Version: st.Version, EphemeralOwner: st.EphemeralOwner,
		DataLength: st.DataLength, NumChildren: st.NumChildren, seq: r.after}
	if c.opts.Mode == ModeChildData && c.opts.Decode != nil {
		if len(data) > c.opts.MaxDataBytes {
			data = data[:c.opts.MaxDataBytes]
		}
		r.node.Value, r.bad = c.opts.Decode(name, data)
	}
	return r
}

// MaxChildren returns the cap on tracked children.
func (c *Cache) MaxChildren() int { return c.opts.MaxChildren }
