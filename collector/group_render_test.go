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
	"strings"
	"testing"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/zkwatch/zkwatch/internal/treecache"
)

// presentCollector renders the present members of one group.
type presentCollector struct {
	g        *groupCollector
	children map[string]*treecache.Node
}

func (p presentCollector) Describe(chan<- *prometheus.Desc) {}

func (p presentCollector) Collect(ch chan<- prometheus.Metric) {
	p.g.collectPresent("/g", p.children, ch)
}

// TestGroupPresentSeries checks the series of present members, and that
// each family comes in the registry's label order (which makes its sort a
// linear check at 100,000 members): info by host before member.
func TestGroupPresentSeries(t *testing.T) {
	setWatchFlags(t, watchFlags{})
	col, err := NewGroupCollector(Config{}, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer col.(*groupCollector).Close()
	p := presentCollector{g: col.(*groupCollector), children: map[string]*treecache.Node{}}
	for _, n := range []treecache.Node{
		{Name: "m-1", Ctime: 1000, Value: &memberInfo{host: "zeta", ip: "10.0.0.1"}},
		{Name: "m-2", Ctime: 2000, Value: &memberInfo{host: "alpha", ip: "10.0.0.2"}},
		{Name: "m-3", Ctime: 3000, Value: &memberInfo{host: "alpha", ip: "10.0.0.0"}},
		{Name: "m-4", Ctime: 4500},
		{Name: "b\xff", Ctime: 5000, Value: &memberInfo{host: "mid"}},
	} {
		p.children[n.Name] = &n
	}

	// In emission order, per family.
	ch := make(chan prometheus.Metric, 100)
	p.Collect(ch)
	close(ch)
	order := map[string][]string{}
	for m := range ch {
		var out dto.Metric
		if err := m.Write(&out); err != nil {
			t.Fatal(err)
		}
		var vals []string
		for _, l := range out.GetLabel() {
			vals = append(vals, l.GetName()+"="+l.GetValue())
		}
		name := m.Desc().String()
		name = name[strings.Index(name, `"`)+1:]
		name = name[:strings.Index(name, `"`)]
		order[name] = append(order[name], strings.Join(vals, ","))
	}
	wantOrder := map[string][]string{
		"zookeeper_group_member_up": {
			"group=/g,member=invalid-utf8:62ff", "group=/g,member=m-1", "group=/g,member=m-2",
			"group=/g,member=m-3", "group=/g,member=m-4"},
		"zookeeper_group_member_info": {
			"group=/g,host=alpha,ip=10.0.0.0,member=m-3", "group=/g,host=alpha,ip=10.0.0.2,member=m-2",
			"group=/g,host=mid,ip=,member=invalid-utf8:62ff", "group=/g,host=zeta,ip=10.0.0.1,member=m-1"},
	}
	wantOrder["zookeeper_group_member_since_timestamp_seconds"] = wantOrder["zookeeper_group_member_up"]
	for fam, want := range wantOrder {
		if got := strings.Join(order[fam], " "); got != strings.Join(want, " ") {
			t.Errorf("%s sent in order\n%s\nwant\n%s", fam, got, strings.Join(want, " "))
		}
	}

	// What the registry makes of them.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(p)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, mf := range mfs {
		mf.Help = nil
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			t.Fatal(err)
		}
	}
	want := `# TYPE zookeeper_group_member_info gauge
zookeeper_group_member_info{group="/g",host="alpha",ip="10.0.0.0",member="m-3"} 1
zookeeper_group_member_info{group="/g",host="alpha",ip="10.0.0.2",member="m-2"} 1
zookeeper_group_member_info{group="/g",host="mid",ip="",member="invalid-utf8:62ff"} 1
zookeeper_group_member_info{group="/g",host="zeta",ip="10.0.0.1",member="m-1"} 1
# TYPE zookeeper_group_member_since_timestamp_seconds gauge
zookeeper_group_member_since_timestamp_seconds{group="/g",member="invalid-utf8:62ff"} 5
zookeeper_group_member_since_timestamp_seconds{group="/g",member="m-1"} 1
zookeeper_group_member_since_timestamp_seconds{group="/g",member="m-2"} 2
zookeeper_group_member_since_timestamp_seconds{group="/g",member="m-3"} 3
zookeeper_group_member_since_timestamp_seconds{group="/g",member="m-4"} 4.5
# TYPE zookeeper_group_member_up gauge
zookeeper_group_member_up{group="/g",member="invalid-utf8:62ff"} 1
zookeeper_group_member_up{group="/g",member="m-1"} 1
zookeeper_group_member_up{group="/g",member="m-2"} 1
zookeeper_group_member_up{group="/g",member="m-3"} 1
zookeeper_group_member_up{group="/g",member="m-4"} 1
`
	if buf.String() != want {
		t.Errorf("rendered\n%s\nwant\n%s", buf.String(), want)
	}
}
