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
	"fmt"
	"sort"
	"time"

	"github.com/alecthomas/kingpin/v2"
)

// Flags holds the values of the collector flags of one kingpin
// application, as mysqld_exporter does: AddFlags defines them, main parses
// and turns them into a Config and the list of enabled collectors.
type Flags struct {
	state           map[string]*bool
	forced          map[string]bool
	disableDefaults *bool

	watchGroups         *[]string
	watchConfigFile     *string
	watchForgetAfter    *time.Duration
	watchMaxMembers     *int
	watchSessionTimeout *time.Duration
	watchDigestFile     *string
	watchChroot         *string

	topClients    *int
	juteMaxBuffer *int64
}

// AddFlags defines --collector.<name>, --collector.disable-defaults and
// the --watch.* flags on app.
func AddFlags(app *kingpin.Application) *Flags {
	f := &Flags{state: map[string]*bool{}, forced: map[string]bool{}}
	for _, name := range Names() {
		state := "disabled"
		if DefaultEnabled(name) {
			state = "enabled"
		}
		f.state[name] = app.Flag("collector."+name, fmt.Sprintf("Enable the %s collector (default: %s).", name, state)).
			Default(fmt.Sprint(DefaultEnabled(name))).Action(f.force(name)).Bool()
	}
	f.disableDefaults = app.Flag("collector.disable-defaults", "Set all collectors to disabled by default.").Default("false").Bool()
	d := DefaultWatchOptions()
	f.watchGroups = app.Flag("watch.group",
		"ZooKeeper path whose children are the members of a process group (repeatable).").Strings()
	f.watchConfigFile = app.Flag("watch.config.file",
		"YAML file listing groups, tasks roots, locks, elections, znodes and queues to watch; re-read on reload.").Default("").String()
	f.watchForgetAfter = app.Flag("watch.group.forget-after",
		"How long a member that left stays exported as member_up 0 (unless expected).").Default(d.ForgetAfter.String()).Duration()
	f.watchMaxMembers = app.Flag("watch.max-members",
		"Maximum children tracked per watched path; more are counted in zookeeper_watch_dropped_members_total.").Default(fmt.Sprint(d.MaxMembers)).Int()
	f.watchSessionTimeout = app.Flag("watch.session-timeout",
		"Session timeout of the exporter's watch session (the server may lower it).").Default(d.SessionTimeout.String()).Duration()
	f.watchDigestFile = app.Flag("watch.auth.digest-file",
		"File holding user:password for ZooKeeper digest authentication of the watch session.").Default("").String()
	f.watchChroot = app.Flag("watch.chroot",
		"Chroot prepended to every watched path, e.g. /myapp.").Default("").String()
	f.topClients = app.Flag("collector.connections.top-clients",
		fmt.Sprintf("Client addresses per member the connections collector names by connections (1–%d); the rest are summed as client=\"other\".", MaxTopClients)).
		Default(fmt.Sprint(DefaultTopClients)).Int()
	f.juteMaxBuffer = app.Flag("zookeeper.jute-maxbuffer",
		"The members' jute.maxbuffer in bytes, exported as zookeeper_jute_maxbuffer_bytes for the znode size alert (ZooKeeper 3.8 prints it neither in envi nor in conf).").
		Default(fmt.Sprint(DefaultJuteMaxBuffer)).Int64()
	return f
}

// Apply sets the collector options of cfg that are flags here (top
// clients, jute.maxbuffer); a value out of bounds is an error.
func (f *Flags) Apply(cfg *Config) error {
	if n := *f.topClients; n < 1 || n > MaxTopClients {
		return fmt.Errorf("--collector.connections.top-clients must be between 1 and %d, not %d", MaxTopClients, n)
	}
	if *f.juteMaxBuffer <= 0 {
		return fmt.Errorf("--zookeeper.jute-maxbuffer must be positive, not %d", *f.juteMaxBuffer)
	}
	cfg.TopClients = *f.topClients
	cfg.JuteMaxBuffer = *f.juteMaxBuffer
	return nil
}

func (f *Flags) force(name string) func(*kingpin.ParseContext) error {
	return func(*kingpin.ParseContext) error {
		f.forced[name] = true
		return nil
	}
}

// Enabled returns the names of the collectors switched on, sorted. With
// --collector.disable-defaults only those named explicitly are on.
func (f *Flags) Enabled() []string {
	var names []string
	for name, on := range f.state {
		if *on && (!*f.disableDefaults || f.forced[name]) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// WatchOptions returns the --watch.* flags' values.
func (f *Flags) WatchOptions() WatchOptions {
	return WatchOptions{
		Groups: *f.watchGroups, ConfigFile: *f.watchConfigFile, ForgetAfter: *f.watchForgetAfter,
		MaxMembers: *f.watchMaxMembers, SessionTimeout: *f.watchSessionTimeout,
		DigestFile: *f.watchDigestFile, Chroot: *f.watchChroot,
	}
}
