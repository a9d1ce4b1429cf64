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
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/zkwatch/zkwatch/collector/internal/series"
	"github.com/zkwatch/zkwatch/internal/treecache"
	"github.com/zkwatch/zkwatch/internal/watchconfig"
	"github.com/zkwatch/zkwatch/internal/zksession"
)

func init() {
	registerCollector("group", defaultEnabled, NewGroupCollector)
}

// groupCollector exports process groups: the children of a path are the
// live instances of a program.
type groupCollector struct {
	watchCollector
	members, up, changes, since, lastChange, info, expected typedDesc
}

// NewGroupCollector returns the process group collector.
func NewGroupCollector(cfg Config, logger log.Logger) (Collector, error) {
	wc, err := newWatchCollector(cfg, logger)
	if err != nil {
		return nil, err
	}
	g := []string{"group"}
	gm := []string{"group", "member"}
	return &groupCollector{
		watchCollector: wc,
		members: newTypedDesc("group_members",
			"Members (children) present in the group.", prometheus.GaugeValue, g...),
		up: newTypedDesc("group_member_up",
			"1 if the member is present, 0 if it left (kept until forget-after) or is expected but missing.", prometheus.GaugeValue, gm...),
		changes: newTypedDesc("group_member_changes_total",
			"Members that joined or left the group since the exporter started.", prometheus.CounterValue, "group", "change"),
		since: newTypedDesc("group_member_since_timestamp_seconds",
			"Creation time of the member's znode.", prometheus.GaugeValue, gm...),
		lastChange: newTypedDesc("group_last_change_timestamp_seconds",
			"Time of the last join or leave seen in the group.", prometheus.GaugeValue, g...),
		info: newTypedDesc("group_member_info",
			"Host and IP a member published in its znode's data (JSON or host:ip text).", prometheus.GaugeValue, "group", "member", "host", "ip"),
		expected: newTypedDesc("group_expected_members",
			"Configured expected number of members.", prometheus.GaugeValue, g...),
	}, nil
}

// groupItem is one watched group.
type groupItem struct {
	lc labeledCache

	mu          sync.Mutex
	expected    []string
	expectedSet map[string]bool
	expectedN   int
	forgetAfter time.Duration
	joins       float64
	leaves      float64
	lastChange  time.Time
	departed    map[string]departedMember

	// The members in label order, kept until the view changes: byName by
	// member, byInfo the indexes of those with info by host, ip and
	// member (the label order of member_info). Sorting them at every
	// scrape was a fifth of a scrape's CPU at 100,000 members.
	ordered bool
	byName  []*treecache.Node
	byInfo  []int32
}

type departedMember struct {
	leftAt time.Time
}

// memberInfo is what a member's data says about it.
type memberInfo struct{ host, ip string }

func (w *watcher) groupSpec(g watchconfig.Group) itemSpec {
	forget := w.opts.ForgetAfter
	if g.ForgetAfter > 0 {
		forget = time.Duration(g.ForgetAfter)
	}
	limit := w.maxMembers(g.MaxMembers)
	set := func(it *groupItem) {
		it.mu.Lock()
		defer it.mu.Unlock()
		it.expected = append([]string(nil), g.Expected...)
		it.expectedSet = map[string]bool{}
		for _, m := range g.Expected {
			it.expectedSet[m] = true
		}
		it.expectedN = g.ExpectedCount
		if it.expectedN == 0 {
			it.expectedN = len(g.Expected)
		}
		it.forgetAfter = forget
	}
	return itemSpec{
		key: "group\x00" + g.Path,
		build: func(m *zksession.Manager) watchItem {
			it := &groupItem{departed: map[string]departedMember{}}
			set(it)
			it.lc = w.newCache(m, g.Path, treecache.Options{
				Mode:        treecache.ModeChildData,
				Decode:      decodeMember,
				MaxChildren: limit,
				OnChange:    it.onChange,
			})
			return it
		},
		update: func(wi watchItem) bool {
			it := wi.(*groupItem)
			if it.lc.cache.MaxChildren() != limit {
				return false
			}
			set(it)
			return true
		},
	}
}

func (g *groupItem) root() string           { return g.lc.path }
func (g *groupItem) caches() []labeledCache { return []labeledCache{g.lc} }
func (g *groupItem) close()                 { g.lc.cache.Close() }

// onChange counts joins and leaves; it runs under the cache's lock.
func (g *groupItem) onChange(v *treecache.View, changes []treecache.Change) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ordered = false
	now := time.Now()
	if !v.Initialized {
		// The initial population: the last change we can vouch for is the
		// newest member's creation.
		for _, n := range v.Children {
			if t := time.UnixMilli(n.Ctime); t.After(g.lastChange) {
				g.lastChange = t
			}
		}
		return
	}
	for _, c := range changes {
		switch c.Kind {
		case treecache.Join:
			g.joins++
			delete(g.departed, c.Name)
			g.lastChange = now
		case treecache.Leave:
			g.leaves++
			g.departed[c.Name] = departedMember{leftAt: now}
			g.lastChange = now
		}
	}
}

// Update implements Collector.
func (c *groupCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	return series.Send(ch, func(sink *series.Sink) error { return c.collectSeries(ctx, sink) })
}

// collectSeries implements seriesCollector. Label pairs are not cached: a
// group's members come and go.
func (c *groupCollector) collectSeries(_ context.Context, sink *series.Sink) error {
	now := time.Now()
	e := series.NewEmitter(sink, nil)
	c.w.each("group", func(wi watchItem) {
		wi.(*groupItem).collect(c, now, e)
	})
	return nil
}

func (g *groupItem) collect(c *groupCollector, now time.Time, e *series.Emitter) {
	name := g.lc.path
	group := labelPair(&labelGroup, name)
	g.lc.cache.Read(func(v *treecache.View) {
		g.mu.Lock()
		defer g.mu.Unlock()
		e.Emit(c.members.fam, float64(v.Total), name)
		// In label order: each family is sorted at the end, which is
		// cheap for input already in order.
		byName, byInfo := g.order(v)
		// Members that are not there (up 0) go in their place among
		// the present ones.
		absent := g.absent(now, v)
		s := newPairSlab(len(byName))
		members := make([]*dto.LabelPair, len(byName))
		for i, n := range byName {
			member := labelSafe(n.Name)
			for len(absent) > 0 && absent[0] < member {
				e.Emit(c.up.fam, 0, name, absent[0])
				absent = absent[1:]
			}
			m := s.pair(&labelMember, member)
			members[i] = m
			labels := s.labels(group, m)
			e.EmitPairs(c.up.fam, 1, labels)
			e.EmitPairs(c.since.fam, millis(n.Ctime), labels)
		}
		for _, i := range byInfo {
			mi := infoOf(byName[i])
			e.EmitPairs(c.info.fam, 1, s.labels(group, s.pair(&labelHost, mi.host), s.pair(&labelIP, mi.ip), members[i]))
		}
		for _, member := range absent {
			e.Emit(c.up.fam, 0, name, member)
		}
		e.Emit(c.changes.fam, g.joins, name, "join")
		e.Emit(c.changes.fam, g.leaves, name, "leave")
		if !g.lastChange.IsZero() {
			e.Emit(c.lastChange.fam, float64(g.lastChange.UnixNano())/1e9, name)
		}
		if g.expectedN > 0 {
			e.Emit(c.expected.fam, float64(g.expectedN), name)
		}
	})
}

// order returns the members by member label and the indexes of those
// with info by host, ip and member label. Both are kept until the view
// changes (onChange). The cache's read lock and g.mu are held.
func (g *groupItem) order(v *treecache.View) ([]*treecache.Node, []int32) {
	if g.ordered {
		return g.byName, g.byInfo
	}
	byName := g.byName[:0]
	if cap(byName) < len(v.Children) {
		byName = make([]*treecache.Node, 0, len(v.Children))
	}
	for _, n := range v.Children {
		byName = append(byName, n)
	}
	clear(byName[len(byName):cap(byName)]) // keep no left member alive
	slices.SortFunc(byName, func(a, b *treecache.Node) int {
		return strings.Compare(labelSafe(a.Name), labelSafe(b.Name))
	})
	byInfo := g.byInfo[:0]
	for i, n := range byName {
		if infoOf(n) != nil {
			byInfo = append(byInfo, int32(i))
		}
	}
	// Stable: members with the same host and ip stay in member order.
	slices.SortStableFunc(byInfo, func(a, b int32) int {
		x, y := infoOf(byName[a]), infoOf(byName[b])
		return cmp.Or(strings.Compare(x.host, y.host), strings.Compare(x.ip, y.ip))
	})
	g.byName, g.byInfo, g.ordered = byName, byInfo, true
	return byName, byInfo
}

// infoOf returns what a member's data says, or nil.
func infoOf(n *treecache.Node) *memberInfo {
	mi, _ := n.Value.(*memberInfo)
	return mi
}

// absent returns the member label values reported as member_up 0, sorted:
// members that left (until forgotten) and expected members that never
// came. g.mu is held.
func (g *groupItem) absent(now time.Time, v *treecache.View) []string {
	var out []string
	for member, d := range g.departed {
		if _, back := v.Children[member]; back {
			delete(g.departed, member)
			continue
		}
		if !g.expectedSet[member] && g.forgetAfter > 0 && now.Sub(d.leftAt) > g.forgetAfter {
			delete(g.departed, member)
			continue
		}
		out = append(out, labelSafe(member))
	}
	for _, member := range g.expected {
		_, present := v.Children[member]
		_, gone := g.departed[member]
		if !present && !gone {
			out = append(out, labelSafe(member))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Label names of the group collector, shared by every label pair it builds
// (never written).
var (
	labelGroup  = "group"
	labelMember = "member"
	labelHost   = "host"
	labelIP     = "ip"
)

func labelPair(name *string, value string) *dto.LabelPair {
	return &dto.LabelPair{Name: name, Value: &value}
}

// pairSlab hands out the label pairs of a group's members from a few
// allocations: at 100,000 members, one allocation per pair and per label
// list was most of the collector's time. Its capacity is fixed, so the
// pointers it returns stay valid.
type pairSlab struct {
	pairs []dto.LabelPair
	vals  []string
	ptrs  []*dto.LabelPair
}

// newPairSlab makes room for members with a member, host and ip pair and
// two label lists (two and four pairs) each.
func newPairSlab(members int) *pairSlab {
	return &pairSlab{
		pairs: make([]dto.LabelPair, 0, 3*members),
		vals:  make([]string, 0, 3*members),
		ptrs:  make([]*dto.LabelPair, 0, 6*members),
	}
}

func (s *pairSlab) pair(name *string, value string) *dto.LabelPair {
	if len(s.pairs) == cap(s.pairs) {
		return labelPair(name, value)
	}
	s.vals = append(s.vals, value)
	s.pairs = s.pairs[:len(s.pairs)+1]
	p := &s.pairs[len(s.pairs)-1]
	p.Name, p.Value = name, &s.vals[len(s.vals)-1]
	return p
}

// labels returns a list of the pairs (sorted by name by the caller).
func (s *pairSlab) labels(pairs ...*dto.LabelPair) []*dto.LabelPair {
	if len(s.ptrs)+len(pairs) > cap(s.ptrs) {
		return append([]*dto.LabelPair(nil), pairs...)
	}
	start := len(s.ptrs)
	s.ptrs = append(s.ptrs, pairs...)
	return s.ptrs[start:len(s.ptrs):len(s.ptrs)]
}

// maxInfoLen bounds the host and ip label values.
const maxInfoLen = 255

// decodeMember reads a member's data: a JSON object with host/hostname
// and ip/address fields, or "host:ip" text. Empty data gives no info.
func decodeMember(_ string, data []byte) (any, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, nil
	}
	var host, ip string
	if data[0] == '{' {
		var err error
		if host, ip, err = decodeMemberJSON(data); err != nil {
			return nil, err
		}
	} else {
		text := string(data)
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			text = text[:i]
		}
		host, ip, _ = strings.Cut(strings.TrimSpace(text), ":")
	}
	if host == "" && ip == "" {
		return nil, nil
	}
	return &memberInfo{host: boundLabel(host), ip: boundLabel(ip)}, nil
}

// decodeMemberJSON reads host and ip from a JSON object.
func decodeMemberJSON(data []byte) (host, ip string, err error) {
	if v, ok := scanMember(data); ok {
		return cmp.Or(v[0], v[1]), cmp.Or(v[2], v[3], v[4]), nil
	}
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil {
		return "", "", errors.New("member data is not valid JSON")
	}
	return firstString(obj, "host", "hostname"), firstString(obj, "ip", "address", "addr"), nil
}

func firstString(obj map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := obj[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

func boundLabel(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxInfoLen {
		s = s[:maxInfoLen]
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
