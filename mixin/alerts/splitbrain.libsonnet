local a = import '../lib/alert.libsonnet';

// Split-brain alerts (issue 25), on the expressions of
// rules/splitbrain.libsonnet.
{
  prometheusAlerts+:: {
    local c = a.printable($._config),
    local s = $.splitBrain,
    groups+: [
      {
        name: 'zookeeper-splitbrain',
        rules: [
          a.alert(
            'ZooKeeperLockHeldTwice',
            '%s > 1' % s.lockBelievers,
            c.splitBrainFor,
            c.criticalSeverity,
            'More than one process believes it holds the same ZooKeeper lock.',
            '{{ $value }} processes believe they hold lock {{ $labels.lock }}.',
          ),
          a.alert(
            'ZooKeeperLockHolderMismatch',
            s.lockUnbacked,
            c.splitBrainFor,
            c.criticalSeverity,
            'A process believes it holds a ZooKeeper lock that ZooKeeper gives to another session or to nobody.',
            '{{ $labels.instance }} believes it holds lock {{ $labels.lock }} in session {{ $labels.session }}, which does not own the holder node.',
          ),
          a.alert(
            'ZooKeeperElectionLedTwice',
            '%s > 1' % s.electionBelievers,
            c.splitBrainFor,
            c.criticalSeverity,
            'More than one process believes it leads the same election.',
            '{{ $value }} processes believe they lead election {{ $labels.election }}.',
          ),
          a.alert(
            'ZooKeeperElectionLeaderMismatch',
            s.electionUnbacked,
            c.splitBrainFor,
            c.criticalSeverity,
            'A process believes it leads an election that ZooKeeper gives to another session or to nobody.',
            '{{ $labels.instance }} believes it leads election {{ $labels.election }} in session {{ $labels.session }}, which does not own the leader node.',
          ),
        ],
      },
    ],
  },
}
