local a = import '../lib/alert.libsonnet';

// JVM and disk health of the servers. The heap alert and the per-collector
// GC time need ZooKeeper's Prometheus metrics provider
// (metricsProvider.exportJvmInfo); the rest work with the default provider.
{
  prometheusAlerts+:: {
    local c = a.printable($._config),
    // ratio is the average of a summary over window, per server (sum / count).
    local ratio(fn, summary, window) = a.counterRatio(
      fn, ['%s_sum{%s}' % [summary, c.zookeeperSelector]], ['%s_count{%s}' % [summary, c.zookeeperSelector]], window
    ),
    groups+: [
      {
        name: 'zookeeper-jvm-disk',
        rules: [
          a.alert(
            'ZooKeeperHeapNearlyFull',
            |||
              zookeeper_jvm_memory_bytes_used{%(zookeeperSelector)s, area="heap"}
                / (zookeeper_jvm_memory_bytes_max{%(zookeeperSelector)s, area="heap"} > 0) > %(heapUsedRatioThreshold)s
            ||| % c,
            c.heapFor,
            c.warningSeverity,
            'A ZooKeeper server is running out of heap.',
            '{{ $labels.server }} in ensemble %(ensembleName)s has used {{ $value | humanizePercentage }} of its maximum heap for %(heapFor)s.' % c,
          ),
          a.alert(
            'ZooKeeperGCTimeHigh',
            |||
              (
                sum by (%(ensembleBy)s, server) (rate(zookeeper_jvm_gc_collection_seconds_sum{%(zookeeperSelector)s}[5m]))
                or
                sum by (%(ensembleBy)s, server) (rate(zookeeper_jvm_pause_time_seconds_sum{%(zookeeperSelector)s}[5m]))
              ) > %(gcTimeRatioThreshold)s
            ||| % c,
            c.gcFor,
            c.warningSeverity,
            'A ZooKeeper server spends much of its time in GC pauses.',
            '{{ $labels.server }} in ensemble %(ensembleName)s has spent {{ $value | humanizePercentage }} of the time in GC pauses for %(gcFor)s.' % c,
          ),
          a.alert(
            'ZooKeeperSlowFsync',
            ratio('rate', 'zookeeper_fsynctime_seconds', '5m') + '> %(fsyncAvgThresholdSeconds)s\n' % c,
            c.fsyncFor,
            c.warningSeverity,
            'A ZooKeeper server syncs its transaction log slowly.',
            'Transaction log fsyncs of {{ $labels.server }} in ensemble %(ensembleName)s have taken {{ $value | humanizeDuration }} on average for %(fsyncFor)s.' % c,
          ),
          a.alert(
            'ZooKeeperSlowSnapshots',
            ratio('increase', 'zookeeper_snapshottime_seconds', c.snapshotWindow) + '> %(snapshotAvgThresholdSeconds)s\n' % c,
            null,
            c.warningSeverity,
            'A ZooKeeper server writes its snapshots slowly.',
            'Snapshots of {{ $labels.server }} in ensemble %(ensembleName)s took {{ $value | humanizeDuration }} on average over the last %(snapshotWindow)s.' % c,
          ),
          a.alert(
            'ZooKeeperSlowLeaderElection',
            ratio('increase', 'zookeeper_election_time_seconds', c.electionTimeWindow) + '> %(electionTimeThresholdSeconds)s\n' % c,
            null,
            c.warningSeverity,
            'ZooKeeper leader elections take long.',
            'Leader elections seen by {{ $labels.server }} in ensemble %(ensembleName)s took {{ $value | humanizeDuration }} on average over the last %(electionTimeWindow)s; writes stop while one runs.' % c,
          ),
          a.alert(
            'ZooKeeperReadOnlyMode',
            |||
              zookeeper_server_state{%(zookeeperSelector)s, state="read-only"} == 1
            ||| % c,
            c.readOnlyFor,
            c.warningSeverity,
            'A ZooKeeper server serves reads only.',
            '{{ $labels.server }} in ensemble %(ensembleName)s has been in read-only mode for %(readOnlyFor)s: it is cut off from the quorum and refuses writes.' % c,
          ),
        ],
      },
    ],
  },
}
