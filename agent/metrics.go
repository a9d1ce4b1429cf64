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

package agent

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the agent's own metrics. The names are shared with the
// exporter's dashboards and alerts; do not rename them.
type Metrics struct {
	Registered         prometheus.Gauge
	ChildRestarts      prometheus.Counter
	SessionExpirations prometheus.Counter
	LockHeld           prometheus.Gauge
	// LockHeldInfo has one series, {lock, session}, while the agent
	// believes it holds its lock; the exporter's zookeeper_lock_holder_info
	// says which session ZooKeeper thinks holds it (split-brain check).
	LockHeldInfo   *prometheus.GaugeVec
	ElectionLeader prometheus.Gauge
	// ElectionLeaderInfo is LockHeldInfo for election mode, {election,
	// session}; the exporter's side is zookeeper_election_leader_info.
	ElectionLeaderInfo *prometheus.GaugeVec
	Tasks              *prometheus.GaugeVec
	Conflicts          prometheus.Counter
}

// Modes of the agent, as NewModeMetrics takes them.
const (
	ModeRegister = "register"
	ModeLock     = "lock"
	ModeElection = "election"
	ModeWorker   = "worker"
)

// NewMetrics creates the metrics and registers all of them on reg when it is
// not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := newMetrics()
	if reg != nil {
		reg.MustRegister(m.Registered, m.ChildRestarts, m.SessionExpirations, m.LockHeld, m.LockHeldInfo,
			m.ElectionLeader, m.ElectionLeaderInfo, m.Tasks, m.Conflicts)
	}
	return m
}

// NewModeMetrics creates the metrics and registers on reg only those that
// mean something in mode, so that no agent exports a state it cannot be in
// (a lock agent is never "not registered", a register agent never "not
// holding" a lock): zkwatch_agent_registered and _conflicts_total in
// register and worker mode, zkwatch_agent_lock_held and
// zkwatch_agent_lock_held_info in lock mode, zkwatch_agent_election_leader
// and zkwatch_agent_election_leader_info in election mode,
// zkwatch_agent_tasks in worker mode, _child_restarts_total where a command
// is supervised (register, lock and election).
func NewModeMetrics(reg prometheus.Registerer, mode string) (*Metrics, error) {
	m := newMetrics()
	cs := []prometheus.Collector{m.SessionExpirations}
	switch mode {
	case ModeRegister:
		cs = append(cs, m.Registered, m.Conflicts, m.ChildRestarts)
	case ModeLock:
		cs = append(cs, m.LockHeld, m.LockHeldInfo, m.ChildRestarts)
	case ModeElection:
		cs = append(cs, m.ElectionLeader, m.ElectionLeaderInfo, m.ChildRestarts)
	case ModeWorker:
		cs = append(cs, m.Registered, m.Conflicts, m.Tasks)
	default:
		return nil, fmt.Errorf("unknown agent mode %q", mode)
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func newMetrics() *Metrics {
	m := &Metrics{
		Registered: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zkwatch_agent_registered",
			Help: "1 while the agent's ephemeral node (member or worker) exists under its current ZooKeeper session.",
		}),
		ChildRestarts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "zkwatch_agent_child_restarts_total",
			Help: "Times the supervised command was restarted.",
		}),
		SessionExpirations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "zkwatch_agent_session_expirations_total",
			Help: "ZooKeeper session expirations seen by the agent.",
		}),
		LockHeld: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zkwatch_agent_lock_held",
			Help: "1 while the agent holds its lock (lock mode).",
		}),
		LockHeldInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "zkwatch_agent_lock_held_info",
			Help: "1 while the agent believes it holds the lock, from acquisition until its command has stopped, labelled with the ZooKeeper session (hex) that owns its lock node.",
		}, []string{"lock", "session"}),
		ElectionLeader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zkwatch_agent_election_leader",
			Help: "1 while the agent leads its election (election mode).",
		}),
		ElectionLeaderInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "zkwatch_agent_election_leader_info",
			Help: "1 while the agent believes it leads the election, from gaining leadership until its command has stopped, labelled with the ZooKeeper session (hex) that owns its latch node.",
		}, []string{"election", "session"}),
		Tasks: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "zkwatch_agent_tasks",
			Help: "Tasks of this worker by state: claimed (not started), running, done (completed by this worker since start).",
		}, []string{"state"}),
		Conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "zkwatch_agent_conflicts_total",
			Help: "Conflicts: member node owned by another live session, or a task claim lost to another worker (version mismatch).",
		}),
	}
	for _, s := range []string{TaskClaimed, TaskRunning, TaskDone} {
		m.Tasks.WithLabelValues(s)
	}
	return m
}
