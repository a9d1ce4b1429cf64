// The split-brain check (issue 25): what processes believe they hold or
// lead, against what ZooKeeper says. The beliefs come from other jobs than
// the exporter's, so these expressions group and join by the lock or
// election path (plus splitBrainLabels) and the session, not by the
// ensemble labels: a session id is issued by one ensemble.
// splitBrain holds the expressions, shared by the recording rules below
// and by alerts/splitbrain.libsonnet (which does not depend on the rules
// file being loaded).
{
  splitBrain:: {
    local c = $._config,
    // watched(kind, gate) is 1 per path the exporter watches of kind, while
    // its view of that path is complete.
    local watched(kind, gate) =
      'max by (%(by)s) (%(gate)s{%(zookeeperSelector)s} and on (%(ensembleBy)s, %(kind)s) label_replace(zookeeper_watch_synced{%(zookeeperSelector)s} == 1, "%(kind)s", "$1", "root", "(.*)"))'
      % (c { kind: kind, gate: gate, by: c[kind + 'By'] }),
    // unbacked keeps the beliefs whose session does not own the holder's
    // (leader's) node of a watched path; the believer's labels stay.
    local unbacked(kind, belief, holder, gate) = |||
      %(belief)s{%(beliefSelector)s} == 1
      unless on (%(by)s, session)
      %(holder)s{%(zookeeperSelector)s}
      and on (%(by)s)
      %(watched)s
    ||| % (c { belief: belief, holder: holder, by: c[kind + 'By'], watched: watched(kind, gate) }),

    lockBelievers: 'count by (%(lockBy)s) (zkwatch_agent_lock_held_info{%(beliefSelector)s} == 1)' % c,
    lockUnbacked: unbacked('lock', 'zkwatch_agent_lock_held_info', 'zookeeper_lock_holder_info', 'zookeeper_lock_held'),
    electionBelievers: 'count by (%(electionBy)s) (zkwatch_agent_election_leader_info{%(beliefSelector)s} == 1)' % c,
    electionUnbacked: unbacked('election', 'zkwatch_agent_election_leader_info', 'zookeeper_election_leader_info', 'zookeeper_election_has_leader'),
  },

  prometheusRules+:: {
    local s = $.splitBrain,
    groups+: [
      {
        name: 'zookeeper-splitbrain.rules',
        rules: [
          { record: 'lock:zkwatch_agent_lock_held_info:count', expr: s.lockBelievers },
          { record: 'lock_session:zkwatch_agent_lock_held_info:unbacked', expr: s.lockUnbacked },
          { record: 'election:zkwatch_agent_election_leader_info:count', expr: s.electionBelievers },
          { record: 'election_session:zkwatch_agent_election_leader_info:unbacked', expr: s.electionUnbacked },
        ],
      },
    ],
  },
}
