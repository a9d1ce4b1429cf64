local a = import '../lib/alert.libsonnet';

{
  prometheusAlerts+:: {
    local c = a.printable($._config),
    // synced(label) keeps only the watched roots whose view is complete, with
    // root renamed to label so it joins the series of that root.
    local synced(label) = 'label_replace(zookeeper_watch_synced{%s} == 1, "%s", "$1", "root", "(.*)")' % [c.zookeeperSelector, label],
    groups+: [
      {
        name: 'zookeeper-processes',
        rules: [
          a.alert(
            'ZooKeeperProcessMemberDown',
            |||
              zookeeper_group_member_up{%(zookeeperSelector)s} == 0
              and on (%(ensembleBy)s, group)
              %(synced)s
            ||| % (c { synced: synced('group') }),
            c.processMemberDownFor,
            c.criticalSeverity,
            'A process registered in ZooKeeper is down.',
            'Member {{ $labels.member }} of group {{ $labels.group }} (%(ensembleName)s) has been missing for %(processMemberDownFor)s.' % c,
          ),
          a.alert(
            'ZooKeeperProcessGroupBelowExpected',
            |||
              zookeeper_group_members{%(zookeeperSelector)s}
                < on (%(ensembleBy)s, group)
              zookeeper_group_expected_members{%(zookeeperSelector)s}
              and on (%(ensembleBy)s, group)
              %(synced)s
            ||| % (c { synced: synced('group') }),
            c.processGroupBelowExpectedFor,
            c.warningSeverity,
            'A process group has fewer members than expected.',
            'Group {{ $labels.group }} (%(ensembleName)s) has only {{ $value }} members registered.' % c,
          ),
          a.alert(
            'ZooKeeperTasksOrphaned',
            |||
              zookeeper_tasks{%(zookeeperSelector)s, state="orphaned"} > 0
            ||| % c,
            c.tasksOrphanedFor,
            c.warningSeverity,
            'Tasks are claimed by workers that are gone.',
            '{{ $value }} tasks under {{ $labels.root }} (%(ensembleName)s) are claimed by workers that no longer exist.' % c,
          ),
          a.alert(
            'ZooKeeperTaskUnclaimedTooLong',
            |||
              zookeeper_task_oldest_unclaimed_seconds{%(zookeeperSelector)s} > %(taskUnclaimedThresholdSeconds)s
            ||| % c,
            null,
            c.warningSeverity,
            'A task has waited too long for a worker.',
            'The oldest unclaimed task under {{ $labels.root }} (%(ensembleName)s) has waited {{ $value | humanizeDuration }}.' % c,
          ),
          a.alert(
            'ZooKeeperLockHeldTooLong',
            |||
              zookeeper_lock_held_seconds{%(zookeeperSelector)s} > %(lockHeldThresholdSeconds)s
            ||| % c,
            null,
            c.warningSeverity,
            'A ZooKeeper lock has been held for a long time.',
            'Lock {{ $labels.lock }} (%(ensembleName)s) has been held for {{ $value | humanizeDuration }}.' % c,
          ),
          a.alert(
            'ZooKeeperElectionNoLeader',
            |||
              zookeeper_election_has_leader{%(zookeeperSelector)s} == 0
              and on (%(ensembleBy)s, election)
              %(synced)s
            ||| % (c { synced: synced('election') }),
            c.electionNoLeaderFor,
            c.warningSeverity,
            'An application election has no leader.',
            'Election {{ $labels.election }} (%(ensembleName)s) has had no leader for %(electionNoLeaderFor)s.' % c,
          ),
          a.alert(
            'ZooKeeperWatchedZnodeMissing',
            |||
              zookeeper_znode_exists{%(zookeeperSelector)s} == 0
              and on (%(ensembleBy)s, path)
              %(synced)s
            ||| % (c { synced: synced('path') }),
            c.znodeMissingFor,
            c.warningSeverity,
            'A watched znode does not exist.',
            'Znode {{ $labels.path }} (%(ensembleName)s) has been missing for %(znodeMissingFor)s.' % c,
          ),
          a.alert(
            'ZooKeeperQueueBacklog',
            |||
              zookeeper_queue_depth{%(zookeeperSelector)s} > %(queueDepthThreshold)s
            ||| % c,
            c.queueDepthFor,
            c.warningSeverity,
            'A ZooKeeper queue is growing.',
            'Queue {{ $labels.queue }} (%(ensembleName)s) holds {{ $value }} items.' % c,
          ),
          a.alert(
            'ZooKeeperWatchNotSynced',
            |||
              zookeeper_watch_synced{%(zookeeperSelector)s} == 0
            ||| % c,
            c.watchNotSyncedFor,
            c.warningSeverity,
            'The exporter has no complete view of a watched path.',
            'The view of {{ $labels.root }} in %(ensembleName)s has not been synced for %(watchNotSyncedFor)s; alerts on it are held back.' % c,
          ),
          a.alert(
            'ZooKeeperWatchErrors',
            |||
              sum by (%(ensembleBy)s, root) (rate(zookeeper_watch_errors_total{%(zookeeperSelector)s}[5m])) > 0
            ||| % c,
            c.watchErrorsFor,
            c.warningSeverity,
            'The exporter keeps failing to read a watched path.',
            'Reading {{ $labels.root }} in %(ensembleName)s has failed continuously for %(watchErrorsFor)s.' % c,
          ),
          a.alert(
            'ZooKeeperExporterSessionFlapping',
            |||
              sum by (%(ensembleBy)s) (
                label_replace(increase(zookeeper_exporter_session_expirations_total{%(zookeeperSelector)s}[%(sessionFlapWindow)s]), "event", "expiration", "", "")
                or
                label_replace(increase(zookeeper_exporter_reconnects_total{%(zookeeperSelector)s}[%(sessionFlapWindow)s]), "event", "reconnect", "", "")
              ) > %(sessionFlapThreshold)s
            ||| % c,
            null,
            c.warningSeverity,
            "The exporter's ZooKeeper session keeps breaking.",
            'The session of %(ensembleName)s expired or reconnected {{ $value | humanize }} times in %(sessionFlapWindow)s.' % c,
          ),
        ],
      },
    ],
  },
}
