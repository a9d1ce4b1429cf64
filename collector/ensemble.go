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
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/collector/internal/series"
	"github.com/zkwatch/zkwatch/internal/discovery"
	"github.com/zkwatch/zkwatch/internal/fourlw"
)

// confTTL is how long a member's conf answer is reused. Membership and
// server ids change rarely; re-asking every scrape would add a third
// connection per member.
const confTTL = 5 * time.Minute

// serverStates are the one-hot values of zookeeper_server_state.
var serverStates = []string{"leader", "follower", "observer", "standalone", "looking", "read-only"}

func init() {
	registerCollector("ensemble", defaultEnabled, func(cfg Config, logger log.Logger) (Collector, error) {
		c, err := newEnsembleCollector(cfg, logger)
		if err != nil || cfg.ProbeReuse <= 0 {
			return c, err
		}
		return newReusingEnsemble(c, cfg.ProbeReuse), nil
	})
}

type ensembleDescs struct {
	up, probeDuration, lastSeen, state, isLeader, info         typedDesc
	epoch, counter, lag, epochBehind, allowed, probeErrors     typedDesc
	members, membersUp, leaders, quorumSize, hasQuorum, synced typedDesc
	leaderChanges, votersUp                                    typedDesc
}

// newEnsembleDescs returns the collector's own descriptors, reserving
// their names in mntr so that no mntr field takes them.
func newEnsembleDescs(mntr *descCache) *ensembleDescs {
	reserve := func(td typedDesc) typedDesc {
		mntr.Reserve(td.fam)
		return td
	}
	d := func(name, help string, vt prometheus.ValueType, labels ...string) typedDesc {
		return reserve(newTypedDesc(name, help, vt, labels...))
	}
	g, c := prometheus.GaugeValue, prometheus.CounterValue
	return &ensembleDescs{
		up:            d("up", "1 when the member answered (imok, or a valid mntr/srvr), 0 otherwise.", g, "server"),
		probeDuration: d("probe_duration_seconds", "How long probing the member took.", g, "server"),
		lastSeen:      d("last_seen_timestamp_seconds", "When the member last answered, as a Unix timestamp.", g, "server"),
		state:         d("server_state", "The member's state, one-hot.", g, "server", "state"),
		isLeader:      d("server_is_leader", "1 when the member leads the ensemble (or runs standalone).", g, "server"),
		info:          d("server_info", "Version and server id of the member.", g, "server", "version", "server_id"),
		epoch:         d("zxid_epoch", "Leader epoch of the member's last zxid.", g, "server"),
		counter:       d("zxid_counter", "Transaction counter of the member's last zxid.", g, "server"),
		lag:           d("follower_zxid_lag", "Transactions this follower is behind the leader; 0 for a follower synced with a leader that has not committed in its new epoch yet.", g, "server"),
		epochBehind:   d("follower_epoch_behind", "1 when this follower has not synced with the leader, or is in an older epoch while the leader has committed in its new one.", g, "server"),
		allowed:       reserve(newCommandAllowedDesc()),
		probeErrors:   d("probe_errors_total", "Failed probes of the member by reason.", c, "server", "reason"),
		members:       d("ensemble_members", "Configured members of the ensemble.", g),
		membersUp:     d("ensemble_members_up", "Members that answered.", g),
		votersUp:      d("ensemble_voters_up", "Members that answered and vote (all but observers): compare with the quorum size.", g),
		leaders:       d("ensemble_leaders", "Members reporting that they lead; anything but 1 is a problem.", g),
		quorumSize:    d("ensemble_quorum_size", "Voting members needed for a quorum.", g),
		hasQuorum:     d("ensemble_has_quorum", "1 when exactly one leader has a majority of voters in sync.", g),
		synced:        d("ensemble_synced_followers", "Voting followers in sync with the leader, as the leader reports.", g),
		leaderChanges: d("ensemble_leader_changes_total", "Times the leader's identity or epoch changed between scrapes.", c),
	}
}

// EnsembleCollector probes every member of one ensemble concurrently and
// derives the ensemble's health from their answers.
type EnsembleCollector struct {
	servers []string           // the members, as last resolved (c.mu)
	list    *discovery.Members // what the servers are resolved from
	prober  fourlw.Prober      // the ZooKeeperCollector's member client
	logger  log.Logger
	d       *ensembleDescs
	mntr    descCache

	mu            sync.Mutex
	conf          map[string]confEntry
	ids           map[string]int // server id of each address that told it, kept while it is down
	lastSeen      map[string]time.Time
	probeErrors   map[[2]string]float64
	refusals      refusals
	leader        string
	leaderEpoch   uint32
	leaderChanges float64
}

type confEntry struct {
	conf *fourlw.Conf
	at   time.Time
}

// newEnsembleCollector returns the collector for cfg.Servers, asking them
// through the member client New put in cfg.
func newEnsembleCollector(cfg Config, logger log.Logger) (*EnsembleCollector, error) {
	if len(cfg.Servers) == 0 {
		return nil, errors.New("no ZooKeeper servers given")
	}
	if cfg.members == nil {
		return nil, errors.New("no member client (collectors are built by New)")
	}
	list, err := newMemberList(cfg)
	if err != nil {
		return nil, err
	}
	c := &EnsembleCollector{
		servers: cfg.Servers, list: list, prober: cfg.members, logger: logger,
		conf: map[string]confEntry{}, ids: map[string]int{}, lastSeen: map[string]time.Time{},
		probeErrors: map[[2]string]float64{},
	}
	c.d = newEnsembleDescs(&c.mntr)
	return c, nil
}

// Update implements Collector.
func (c *EnsembleCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	return series.Send(ch, func(sink *series.Sink) error { return c.collectSeries(ctx, sink) })
}

// collectSeries implements seriesCollector. It is the whole scrape of an
// ensemble, in order: which members to probe (targets), each member's own
// answer as samples (probeAll), then what the answers say together.
func (c *EnsembleCollector) collectSeries(ctx context.Context, sink *series.Sink) error {
	// The members: the server list (DNS entries looked up again), followed
	// through dynamic reconfiguration.
	if err := c.resolveServers(ctx); err != nil {
		return err
	}
	now := time.Now()
	servers, dyn := c.targets()
	// Each member probed at once; its mntr (or srvr) answer becomes its
	// samples as soon as it is in.
	statuses := c.probeAll(ctx, sink, servers, now)
	defer releaseMntr(statuses)

	// Each member's state, and the ensemble's.
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range statuses {
		c.record(st, now)
	}
	modes := inferModes(statuses)
	up, votersUp, leaders := 0, 0, 0
	leaderIdx := -1
	for i, st := range statuses {
		if st.Up {
			up++
			if modes[i] != "observer" {
				votersUp++
			}
		}
		if modes[i] == "leader" || modes[i] == "standalone" {
			leaders++
			leaderIdx = i
		}
	}
	e := series.NewEmitter(sink, &c.mntr.Cache)
	for i, st := range statuses {
		c.emitMember(e, st, modes[i])
	}
	var leader *fourlw.Status
	if leaders == 1 {
		leader = statuses[leaderIdx]
		c.trackLeader(leader)
		c.emitLag(e, leader, statuses, modes)
	}
	quorum, members := c.quorum(modes, dyn)
	synced, haveSynced := syncedVoters(leader, statuses, modes)
	hasQuorum := 0.0
	if leaders == 1 && (modes[leaderIdx] == "standalone" || synced+1 >= quorum) {
		hasQuorum = 1
	}
	d := c.d
	e.Emit(d.members.fam, float64(members))
	e.Emit(d.membersUp.fam, float64(up))
	e.Emit(d.votersUp.fam, float64(votersUp))
	e.Emit(d.leaders.fam, float64(leaders))
	e.Emit(d.quorumSize.fam, float64(quorum))
	e.Emit(d.hasQuorum.fam, hasQuorum)
	if haveSynced {
		e.Emit(d.synced.fam, float64(synced))
	}
	e.Emit(d.leaderChanges.fam, c.leaderChanges)
	if up == 0 {
		return errors.New("no ensemble member answered")
	}
	return nil
}

// targets returns the members to probe: the configured servers, followed
// through dynamic reconfiguration when there is one (members added at run
// time are probed, removed ones no longer), and that configuration.
func (c *EnsembleCollector) targets() ([]string, *fourlw.Conf) {
	c.mu.Lock()
	defer c.mu.Unlock()
	dyn := c.dynamicConf()
	if dyn == nil {
		return c.servers, nil
	}
	member := map[int]bool{}
	for _, m := range dyn.Members {
		member[m.ID] = true
	}
	var out []string
	seen := map[string]bool{}
	for _, addr := range c.servers {
		if id, ok := c.ids[addr]; ok && !member[id] {
			continue // removed from the ensemble
		}
		out = append(out, addr)
		seen[addr] = true
	}
	for _, m := range dyn.Members {
		if !seen[m.Client] && !c.probedAs(m.ID, seen) {
			out = append(out, m.Client)
			seen[m.Client] = true
		}
	}
	return out, dyn
}

// dynamicConf returns the ensemble's dynamic configuration when the members
// told one (conf lists every member with its client address, as
// reconfigEnabled ensembles do): the leader's, else the newest. c.mu is held.
func (c *EnsembleCollector) dynamicConf() *fourlw.Conf {
	if e, ok := c.conf[c.leader]; ok && e.conf.Clients() != nil {
		return e.conf
	}
	var newest *fourlw.Conf
	for _, e := range c.conf {
		if e.conf.Clients() != nil && (newest == nil || e.conf.Version > newest.Version) {
			newest = e.conf
		}
	}
	return newest
}

// probedAs reports whether one of the addresses in seen is known to be
// server id. c.mu is held.
func (c *EnsembleCollector) probedAs(id int, seen map[string]bool) bool {
	for addr := range seen {
		if known, ok := c.ids[addr]; ok && known == id {
			return true
		}
	}
	return false
}

// probeAll probes every server at once, the first on this goroutine, and
// adds each member's samples as soon as its answer is in: they depend on
// nothing else, and slower members are still answering.
func (c *EnsembleCollector) probeAll(ctx context.Context, sink *series.Sink, servers []string, now time.Time) []*fourlw.Status {
	statuses := make([]*fourlw.Status, len(servers))
	probe := func(i int, addr string) {
		st := c.prober.Probe(ctx, addr, c.needConf(addr, now))
		statuses[i] = st
		c.memberSamples(st, sink)
	}
	var wg sync.WaitGroup
	for i, addr := range servers[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			probe(i+1, addr)
		}()
	}
	if len(servers) > 0 {
		probe(0, servers[0])
	}
	wg.Wait()
	return statuses
}

// needConf reports whether to ask addr for conf: when its answer is stale,
// and at every scrape from the leader of a dynamic configuration, which may
// change at any time.
func (c *EnsembleCollector) needConf(addr string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.conf[addr]
	return !ok || now.Sub(e.at) > confTTL || (addr == c.leader && e.conf.Clients() != nil)
}

// memberSamples adds what a member's own answer says (mntr.go): its mntr
// fields, or when mntr is refused what srvr gives, under the names mntr
// would use.
func (c *EnsembleCollector) memberSamples(st *fourlw.Status, sink *series.Sink) {
	switch {
	case st.Mntr != nil:
		mntrSamples(st.Addr, st.Mntr, &c.mntr, sink.Buf())
	case st.Up && st.Srvr != nil:
		mntrSamples(st.Addr, srvrFields(st.Srvr), &c.mntr, sink.Buf())
	}
}

// srvrFields expresses srvr's numbers as the mntr fields they equal.
func srvrFields(s *fourlw.Srvr) []fourlw.Field {
	f := func(k string, v float64) fourlw.Field { return fourlw.Field{Key: k, Value: v, Numeric: true} }
	return []fourlw.Field{
		f("zk_min_latency", s.LatencyMin), f("zk_avg_latency", s.LatencyAvg), f("zk_max_latency", s.LatencyMax),
		f("zk_packets_received", s.Received), f("zk_packets_sent", s.Sent),
		f("zk_num_alive_connections", s.Connections), f("zk_outstanding_requests", s.Outstanding),
		f("zk_znode_count", s.NodeCount),
	}
}

// releaseMntr recycles the parsed mntr answers once a scrape has turned
// them into series (which keep no reference to them).
func releaseMntr(statuses []*fourlw.Status) {
	for _, st := range statuses {
		if st != nil {
			fourlw.ReleaseFields(st.Mntr)
			st.Mntr = nil
		}
	}
}

// record updates what the collector remembers of a member. c.mu is held.
func (c *EnsembleCollector) record(st *fourlw.Status, now time.Time) {
	if st.Conf != nil {
		c.conf[st.Addr] = confEntry{st.Conf, now}
		c.ids[st.Addr] = st.Conf.ServerID
	}
	if st.Up {
		c.lastSeen[st.Addr] = now
	} else {
		delete(c.conf, st.Addr) // ask again once it is back: it may have been reconfigured
		c.probeErrors[[2]string{st.Addr, fourlw.Reason(st.Err)}]++
		level.Debug(c.logger).Log("msg", "member probe failed", "server", st.Addr, "err", st.Err)
	}
	for cmd, ok := range st.Allowed {
		if !ok {
			c.refusals.note(c.logger, st.Addr, cmd)
		}
	}
}

// inferModes returns each member's state. A live member that is "not
// serving" is electing, unless the others follow and no one else leads: then
// it is a leader configured with leaderServes=no.
func inferModes(statuses []*fourlw.Status) []string {
	modes := make([]string, len(statuses))
	leaders, followers, notServing := 0, 0, -1
	for i, st := range statuses {
		if !st.Up {
			continue
		}
		modes[i] = st.Mode()
		switch modes[i] {
		case "leader", "standalone":
			leaders++
		case "follower", "observer":
			followers++
		case "":
			if st.NotServing {
				modes[i] = "looking"
				if notServing == -1 {
					notServing = i
				} else {
					notServing = -2
				}
			}
		}
	}
	if leaders == 0 && followers > 0 && notServing >= 0 {
		modes[notServing] = "leader"
	}
	return modes
}

func (c *EnsembleCollector) emitMember(e *series.Emitter, st *fourlw.Status, mode string) {
	d := c.d
	up := 0.0
	if st.Up {
		up = 1
	}
	e.Emit(d.up.fam, up, st.Addr)
	e.Emit(d.probeDuration.fam, st.Duration.Seconds(), st.Addr)
	if t, ok := c.lastSeen[st.Addr]; ok {
		e.Emit(d.lastSeen.fam, float64(t.UnixNano())/1e9, st.Addr)
	}
	for _, s := range serverStates {
		v := 0.0
		if s == mode {
			v = 1
		}
		e.Emit(d.state.fam, v, st.Addr, s)
	}
	isLeader := 0.0
	if mode == "leader" || mode == "standalone" {
		isLeader = 1
	}
	e.Emit(d.isLeader.fam, isLeader, st.Addr)
	for cmd, ok := range st.Allowed {
		v := 0.0
		if ok {
			v = 1
		}
		e.Emit(d.allowed.fam, v, st.Addr, cmd)
	}
	for k, v := range c.probeErrors {
		if k[0] == st.Addr {
			e.Emit(d.probeErrors.fam, v, k[0], k[1])
		}
	}
	if !st.Up {
		return
	}
	id := ""
	if e, ok := c.conf[st.Addr]; ok && e.conf.ServerID >= 0 {
		id = strconv.Itoa(e.conf.ServerID)
	}
	e.Emit(d.info.fam, 1, st.Addr, st.Version(), id)
	if st.Srvr != nil {
		e.Emit(d.epoch.fam, float64(st.Srvr.Zxid.Epoch()), st.Addr)
		e.Emit(d.counter.fam, float64(st.Srvr.Zxid.Counter()), st.Addr)
	}
}

// trackLeader counts changes of the leader's identity or epoch. c.mu is held.
func (c *EnsembleCollector) trackLeader(leader *fourlw.Status) {
	var epoch uint32
	if leader.Srvr != nil {
		epoch = leader.Srvr.Zxid.Epoch()
	} else {
		epoch = c.leaderEpoch // a non-serving leader tells no zxid
	}
	if c.leader != "" && (c.leader != leader.Addr || c.leaderEpoch != epoch) {
		c.leaderChanges++
	}
	c.leader, c.leaderEpoch = leader.Addr, epoch
}

// emitLag reports each follower's distance from the leader's zxid.
func (c *EnsembleCollector) emitLag(e *series.Emitter, leader *fourlw.Status, statuses []*fourlw.Status, modes []string) {
	if leader.Srvr == nil {
		return
	}
	for i, st := range statuses {
		if (modes[i] != "follower" && modes[i] != "observer") || st.Srvr == nil {
			continue
		}
		lag, behind, ok := followerLag(leader.Srvr.Zxid, st)
		if ok {
			e.Emit(c.d.lag.fam, float64(lag), st.Addr)
		}
		e.Emit(c.d.epochBehind.fam, behind, st.Addr)
	}
}

// followerLag compares a follower's last zxid with the leader's zxid lz. It
// returns the transactions the follower lacks (ok false when unknown) and
// whether it is behind by an epoch.
//
// After an election the leader's zxid is (new epoch, 0) while its followers
// still show the last zxid of the old epoch until the first write: that is
// not lag. A follower that finished its sync with the leader (mntr's
// zk_peer_state "following - broadcast"; without mntr, serving srvr as a
// follower, which a server does only once synced) has every transaction of
// the older epochs. It lacks only what the leader committed in the new
// epoch, which is the leader's counter.
func followerLag(lz fourlw.Zxid, st *fourlw.Status) (lag int64, behind float64, ok bool) {
	z := st.Srvr.Zxid
	switch {
	case z.Epoch() == lz.Epoch():
		// Members are asked concurrently, so a follower may already
		// have committed what the leader reported a moment earlier.
		return max(int64(lz.Counter())-int64(z.Counter()), 0), 0, true
	case z.Epoch() > lz.Epoch():
		// The leader was asked before it committed in a newer epoch.
		return 0, 0, true
	case !synced(st):
		return 0, 1, false
	case lz.Counter() == 0:
		return 0, 0, true
	default:
		// Synced, yet nothing of the new epoch applied while the leader
		// has committed in it.
		return int64(lz.Counter()), 1, true
	}
}

// synced reports whether a follower or observer says it finished its sync
// with the leader. Without zk_peer_state (srvr only, older servers) a member
// that serves as follower is taken as synced.
func synced(st *fourlw.Status) bool {
	for _, f := range st.Mntr {
		if f.Key == "zk_peer_state" {
			return strings.HasSuffix(f.Text, "- broadcast")
		}
	}
	return true
}

// quorum returns the quorum size and the number of configured members.
// Voters come from the dynamic configuration when there is one, else from
// conf when a member told it, else from the server list. c.mu is held.
func (c *EnsembleCollector) quorum(modes []string, dyn *fourlw.Conf) (int, int) {
	if dyn != nil {
		return dyn.Voters()/2 + 1, len(dyn.Members)
	}
	members := len(c.servers)
	voters := 0
	for _, e := range c.conf {
		if v := e.conf.Voters(); v > voters {
			voters = v
		}
	}
	if voters == 0 {
		voters = members
		for _, m := range modes {
			if m == "observer" {
				voters--
			}
		}
	}
	if len(c.servers) == 1 && (modes[0] == "standalone" || voters <= 1) {
		return 1, members
	}
	return voters/2 + 1, members
}

// syncedVoters counts voting followers in sync with the leader: what the
// leader's mntr says, or else the members that answer as followers.
func syncedVoters(leader *fourlw.Status, statuses []*fourlw.Status, modes []string) (int, bool) {
	if leader != nil {
		for _, f := range leader.Mntr {
			if f.Key == "zk_synced_followers" {
				return int(f.Value), true
			}
		}
	}
	n := 0
	for i := range statuses {
		if modes[i] == "follower" {
			n++
		}
	}
	return n, false
}
