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
		members: typedDesc{prometheus.NewDesc("zookeeper_group_members",
			"Members (children) present in the group.", g, nil), prometheus.GaugeValue},
		up: typedDesc{prometheus.NewDesc("zookeeper_group_member_up",
			"1 if the member is present, 0 if it left (kept until forget-after) or is expected but missing.", gm, nil), prometheus.GaugeValue},
		changes: typedDesc{prometheus.NewDesc("zookeeper_group_member_changes_total",
			"Members that joined or left the group since the exporter started.", []string{"group", "change"}, nil), prometheus.CounterValue},
		since: typedDesc{prometheus.NewDesc("zookeeper_group_member_since_timestamp_seconds",
			"Creation time of the member's znode.", gm, nil), prometheus.GaugeValue},
		lastChange: typedDesc{prometheus.NewDesc("zookeeper_group_last_change_timestamp_seconds",
			"Time of the last join or leave seen in the group.", g, nil), prometheus.GaugeValue},
		info: typedDesc{prometheus.NewDesc("zookeeper_group_member_info",
			"Host and IP a member published in its znode's data (JSON or host:ip text).", []string{"group", "member", "host", "ip"}, nil), prometheus.GaugeValue},
		expected: typedDesc{prometheus.NewDesc("zookeeper_group_expected_members",
			"Configured expected number of members.", g, nil), prometheus.GaugeValue},
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
}

type departedMember struct {
	leftAt time.Time
}

// memberInfo is what a member's data says about it.
type memberInfo struct{ host, ip string }

func (w *watcher) groupSpec(g watchconfig.Group) itemSpec {
	forget := *watchForgetAfter
	if g.ForgetAfter > 0 {
		forget = time.Duration(g.ForgetAfter)
	}
	limit := maxMembers(g.MaxMembers)
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
func (c *groupCollector) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	now := time.Now()
	c.w.each("group", func(wi watchItem) {
		wi.(*groupItem).collect(c, now, ch)
	})
	return nil
}

func (g *groupItem) collect(c *groupCollector, now time.Time, ch chan<- prometheus.Metric) {
	name := g.lc.path
	g.lc.cache.Read(func(v *treecache.View) {
		g.mu.Lock()
		defer g.mu.Unlock()
		ch <- c.members.mustNewConstMetric(float64(v.Total), name)
		c.collectPresent(name, v.Children, ch)
		for member, d := range g.departed {
			if _, back := v.Children[member]; back {
				delete(g.departed, member)
				continue
			}
			if !g.expectedSet[member] && g.forgetAfter > 0 && now.Sub(d.leftAt) > g.forgetAfter {
				delete(g.departed, member)
				continue
			}
			ch <- c.up.mustNewConstMetric(0, name, labelSafe(member))
		}
		for _, member := range g.expected {
			_, present := v.Children[member]
			_, gone := g.departed[member]
			if !present && !gone {
				ch <- c.up.mustNewConstMetric(0, name, labelSafe(member))
			}
		}
		ch <- c.changes.mustNewConstMetric(g.joins, name, "join")
		ch <- c.changes.mustNewConstMetric(g.leaves, name, "leave")
		if !g.lastChange.IsZero() {
			ch <- c.lastChange.mustNewConstMetric(float64(g.lastChange.UnixNano())/1e9, name)
		}
		if g.expectedN > 0 {
			ch <- c.expected.mustNewConstMetric(float64(g.expectedN), name)
		}
	})
}

// collectPresent sends the up, since and info series of the members
// present. At 100,000 members the per-series allocations dominate a scrape,
// so the label pairs and metrics of a group come from a few slices, and
// each family is sent in the registry's label order (group, then the other
// labels by name), which its sort then only has to confirm.
func (c *groupCollector) collectPresent(group string, children map[string]*treecache.Node, ch chan<- prometheus.Metric) {
	members := make([]groupMember, 0, len(children))
	infos := 0
	for _, n := range children {
		mi, _ := n.Value.(*memberInfo)
		if mi != nil {
			infos++
		}
		members = append(members, groupMember{label: labelSafe(n.Name), since: millis(n.Ctime), info: mi})
	}
	slices.SortFunc(members, func(a, b groupMember) int { return strings.Compare(a.label, b.label) })
	groupPair := labelPair(&labelGroup, group)
	// The up and info series share one gauge of value 1.
	one := 1.0
	oneGauge := &dto.Gauge{Value: &one}
	// Per member: its pair, its since gauge, and the {group, member} slice
	// shared by up and since; per member with info: host and ip pairs and a
	// slice of four.
	pairs := make([]dto.LabelPair, len(members)+2*infos)
	gauges := make([]dto.Gauge, len(members))
	ptrs := make([]*dto.LabelPair, 2*len(members)+4*infos)
	series := make([]sharedLabelsMetric, 2*len(members)+infos)
	for i := range members {
		m := &members[i]
		pairs[i] = dto.LabelPair{Name: &labelMember, Value: &m.label}
		m.pair = &pairs[i]
		gauges[i].Value = &m.since
		labels := ptrs[2*i : 2*i+2 : 2*i+2]
		labels[0], labels[1] = groupPair, m.pair
		series[2*i] = sharedLabelsMetric{desc: c.up.desc, labels: labels, gauge: oneGauge}
		series[2*i+1] = sharedLabelsMetric{desc: c.since.desc, labels: labels, gauge: &gauges[i]}
		ch <- &series[2*i]
		ch <- &series[2*i+1]
	}
	if infos == 0 {
		return
	}
	pairs, ptrs, series = pairs[len(members):], ptrs[2*len(members):], series[2*len(members):]
	withInfo := make([]*groupMember, 0, infos)
	for i := range members {
		if members[i].info != nil {
			withInfo = append(withInfo, &members[i])
		}
	}
	slices.SortFunc(withInfo, func(a, b *groupMember) int {
		return cmp.Or(strings.Compare(a.info.host, b.info.host), strings.Compare(a.info.ip, b.info.ip),
			strings.Compare(a.label, b.label))
	})
	for i, m := range withInfo {
		host, ip := &pairs[2*i], &pairs[2*i+1]
		*host = dto.LabelPair{Name: &labelHost, Value: &m.info.host}
		*ip = dto.LabelPair{Name: &labelIP, Value: &m.info.ip}
		labels := ptrs[4*i : 4*i+4 : 4*i+4]
		labels[0], labels[1], labels[2], labels[3] = groupPair, host, ip, m.pair
		series[i] = sharedLabelsMetric{desc: c.info.desc, labels: labels, gauge: oneGauge}
		ch <- &series[i]
	}
}

// groupMember is a present member while its series are built.
type groupMember struct {
	label string
	since float64 // seconds
	info  *memberInfo
	pair  *dto.LabelPair
}

// Label names for sharedLabelsMetric.
var (
	labelGroup  = "group"
	labelMember = "member"
	labelHost   = "host"
	labelIP     = "ip"
)

func labelPair(name *string, value string) *dto.LabelPair {
	return &dto.LabelPair{Name: name, Value: &value}
}

// sharedLabelsMetric is a gauge whose label pairs, and gauge, are shared
// with other series of the same member and group. At 100,000 members,
// building three series per member with MustNewConstMetric takes about
// three times as long. Label pairs must be sorted by name and hold valid
// UTF-8; the pairs, the gauge and the values they point to must not change
// once sent.
type sharedLabelsMetric struct {
	desc   *prometheus.Desc
	labels []*dto.LabelPair
	gauge  *dto.Gauge
}

func (m *sharedLabelsMetric) Desc() *prometheus.Desc { return m.desc }

func (m *sharedLabelsMetric) Write(out *dto.Metric) error {
	out.Label = m.labels
	out.Gauge = m.gauge
	return nil
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
