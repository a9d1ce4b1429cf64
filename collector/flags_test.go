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
	"slices"
	"testing"
	"time"

	"github.com/alecthomas/kingpin/v2"
)

func TestFlags(t *testing.T) {
	var defaults []string
	for _, n := range Names() {
		if DefaultEnabled(n) {
			defaults = append(defaults, n)
		}
	}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{nil, defaults},
		{[]string{"--collector.connections"}, append(slices.Clone(defaults), "connections")},
		{[]string{"--no-collector.group"}, slices.DeleteFunc(slices.Clone(defaults), func(s string) bool { return s == "group" })},
		{[]string{"--collector.disable-defaults", "--collector.ensemble"}, []string{"ensemble"}},
		{[]string{"--collector.disable-defaults", "--no-collector.ensemble"}, nil},
	} {
		app := kingpin.New("test", "")
		f := AddFlags(app)
		if _, err := app.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(c.want)
		slices.Sort(want)
		if got := f.Enabled(); !slices.Equal(got, want) {
			t.Errorf("%v: enabled %v, want %v", c.args, got, want)
		}
	}
	app := kingpin.New("test", "")
	f := AddFlags(app)
	if _, err := app.Parse([]string{"--watch.group=/a", "--watch.group=/b", "--watch.chroot=/app", "--watch.max-members=7", "--watch.session-timeout=3s"}); err != nil {
		t.Fatal(err)
	}
	o := f.WatchOptions()
	if !slices.Equal(o.Groups, []string{"/a", "/b"}) || o.Chroot != "/app" || o.MaxMembers != 7 || o.SessionTimeout != 3*time.Second || o.ForgetAfter != 24*time.Hour {
		t.Errorf("watch options %+v", o)
	}
}
