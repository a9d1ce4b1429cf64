local a = import '../lib/alert.libsonnet';

{
  prometheusAlerts+:: {
    local c = a.printable($._config),
    groups+: [
      {
        name: 'zookeeper-ensemble',
        rules: [
          a.alert(
            'ZooKeeperExporterDown',
            |||
              up{%(zookeeperSelector)s} == 0
            ||| % c,
            c.exporterDownFor,
            c.criticalSeverity,
            'Prometheus cannot scrape a ZooKeeper exporter.',
            'Prometheus has failed to scrape %(ensembleName)s for %(exporterDownFor)s; the ensemble behind it is not monitored.' % c,
          ),
          a.alert(
            'ZooKeeperScrapeFailing',
            |||
              zookeeper_scrape_collector_success{%(zookeeperSelector)s} == 0
              unless on (%(ensembleBy)s)
              max by (%(ensembleBy)s) (zookeeper_ensemble_members_up{%(zookeeperSelector)s}) == 0
            ||| % c,
            c.scrapeFailingFor,
            c.warningSeverity,
            'A zookeeper_exporter collector keeps failing.',
            'Collector {{ $labels.collector }} of %(ensembleName)s has failed every scrape for %(scrapeFailingFor)s.' % c,
          ),
          a.alert(
            'ZooKeeperMemberDown',
            |||
              zookeeper_up{%(zookeeperSelector)s} == 0
            ||| % c,
            c.memberDownFor,
            c.criticalSeverity,
            'A ZooKeeper server does not answer.',
            'ZooKeeper server {{ $labels.server }} of ensemble %(ensembleName)s has not answered for %(memberDownFor)s.' % c,
          ),
          a.alert(
            'ZooKeeperQuorumLost',
            |||
              max by (%(ensembleBy)s) (zookeeper_ensemble_has_quorum{%(zookeeperSelector)s}) == 0
            ||| % c,
            c.quorumLostFor,
            c.criticalSeverity,
            'A ZooKeeper ensemble has lost its quorum.',
            'Ensemble %(ensembleName)s has had no quorum for %(quorumLostFor)s: it serves no writes and clients lose their sessions.' % c,
          ),
          a.alert(
            'ZooKeeperQuorumAtRisk',
            |||
              max by (%(ensembleBy)s) (zookeeper_ensemble_voters_up{%(zookeeperSelector)s})
                == on (%(ensembleBy)s)
              max by (%(ensembleBy)s) (zookeeper_ensemble_quorum_size{%(zookeeperSelector)s})
              and on (%(ensembleBy)s)
              max by (%(ensembleBy)s) (zookeeper_ensemble_members{%(zookeeperSelector)s}) > 1
            ||| % c,
            c.quorumAtRiskFor,
            c.warningSeverity,
            'One more lost server breaks a ZooKeeper quorum.',
            'Ensemble %(ensembleName)s has exactly a quorum of {{ $value }} voting servers up: losing one more stops it.' % c,
          ),
          a.alert(
            'ZooKeeperNoLeader',
            |||
              max by (%(ensembleBy)s) (zookeeper_ensemble_leaders{%(zookeeperSelector)s}) == 0
            ||| % c,
            c.noLeaderFor,
            c.criticalSeverity,
            'A ZooKeeper ensemble has no leader.',
            'No server of ensemble %(ensembleName)s has been leader for %(noLeaderFor)s.' % c,
          ),
          a.alert(
            'ZooKeeperMultipleLeaders',
            |||
              max by (%(ensembleBy)s) (zookeeper_ensemble_leaders{%(zookeeperSelector)s}) > 1
            ||| % c,
            c.multipleLeadersFor,
            c.criticalSeverity,
            'A ZooKeeper ensemble has more than one leader.',
            'Ensemble %(ensembleName)s has reported {{ $value }} leaders for %(multipleLeadersFor)s: its members disagree about the ensemble (split configuration).' % c,
          ),
          a.alert(
            'ZooKeeperFollowerLagging',
            |||
              zookeeper_follower_zxid_lag{%(zookeeperSelector)s} > %(followerZxidLagThreshold)s
              or
              zookeeper_follower_epoch_behind{%(zookeeperSelector)s} > 0
            ||| % c,
            c.followerLaggingFor,
            c.warningSeverity,
            'A ZooKeeper follower is behind its leader.',
            'Follower {{ $labels.server }} of ensemble %(ensembleName)s has been behind the leader for %(followerLaggingFor)s (value {{ $value }}: zxid lag, or epochs behind).' % c,
          ),
          a.alert(
            'ZooKeeperFrequentLeaderElections',
            |||
              max by (%(ensembleBy)s) (increase(zookeeper_ensemble_leader_changes_total{%(zookeeperSelector)s}[%(leaderChangesWindow)s])) > %(leaderChangesThreshold)s
            ||| % c,
            null,
            c.warningSeverity,
            'A ZooKeeper ensemble keeps changing its leader.',
            'Ensemble %(ensembleName)s changed its leader {{ $value | humanize }} times in the last %(leaderChangesWindow)s.' % c,
          ),
          a.alert(
            'ZooKeeperHighRequestLatency',
            a.counterRatio(
              'rate',
              ['zookeeper_%slatency_seconds_sum{%s}' % [k, c.zookeeperSelector] for k in ['read', 'update']],
              ['zookeeper_%slatency_seconds_count{%s}' % [k, c.zookeeperSelector] for k in ['read', 'update']],
              '5m',
              c.ensembleBy + ', server',
            ) + '> %(avgLatencyThresholdSeconds)s\n' % c,
            c.latencyFor,
            c.warningSeverity,
            'A ZooKeeper server answers slowly.',
            'Average latency of the requests {{ $labels.server }} in ensemble %(ensembleName)s served in the last 5m is {{ $value | humanizeDuration }}.' % c,
          ),
          a.alert(
            'ZooKeeperOutstandingRequests',
            |||
              zookeeper_outstanding_requests{%(zookeeperSelector)s} > %(outstandingRequestsThreshold)s
            ||| % c,
            c.outstandingRequestsFor,
            c.warningSeverity,
            'Requests are piling up on a ZooKeeper server.',
            '{{ $labels.server }} in ensemble %(ensembleName)s has {{ $value }} outstanding requests.' % c,
          ),
          a.alert(
            'ZooKeeperPendingSyncs',
            |||
              zookeeper_pending_syncs{%(zookeeperSelector)s} > %(pendingSyncsThreshold)s
            ||| % c,
            c.pendingSyncsFor,
            c.warningSeverity,
            'A ZooKeeper leader has many pending syncs.',
            'Leader {{ $labels.server }} of ensemble %(ensembleName)s has {{ $value }} pending syncs.' % c,
          ),
          a.alert(
            'ZooKeeperFileDescriptorsNearLimit',
            |||
              zookeeper_open_file_descriptor_count{%(zookeeperSelector)s}
                / (zookeeper_max_file_descriptor_count{%(zookeeperSelector)s} > 0) > %(fileDescriptorsRatioThreshold)s
            ||| % c,
            c.capacityFor,
            c.warningSeverity,
            'A ZooKeeper server is running out of file descriptors.',
            '{{ $labels.server }} in ensemble %(ensembleName)s uses {{ $value | humanizePercentage }} of its file descriptors.' % c,
          ),
          a.alert(
            'ZooKeeperTooManyConnections',
            |||
              zookeeper_num_alive_connections{%(zookeeperSelector)s} > %(connectionsThreshold)s
            ||| % c,
            c.capacityFor,
            c.warningSeverity,
            'A ZooKeeper server has many client connections.',
            '{{ $labels.server }} in ensemble %(ensembleName)s has {{ $value }} client connections.' % c,
          ),
          a.alert(
            'ZooKeeperTooManyWatches',
            |||
              zookeeper_watch_count{%(zookeeperSelector)s} > %(watchesThreshold)s
            ||| % c,
            c.capacityFor,
            c.warningSeverity,
            'A ZooKeeper server holds many watches.',
            '{{ $labels.server }} in ensemble %(ensembleName)s holds {{ $value | humanize }} watches.' % c,
          ),
          a.alert(
            'ZooKeeperTooManyZnodes',
            |||
              max by (%(ensembleBy)s) (zookeeper_znode_count{%(zookeeperSelector)s}) > %(znodesThreshold)s
            ||| % c,
            c.capacityFor,
            c.warningSeverity,
            'A ZooKeeper ensemble stores many znodes.',
            'Ensemble %(ensembleName)s stores {{ $value | humanize }} znodes.' % c,
          ),
          a.alert(
            'ZooKeeperDataSizeLarge',
            |||
              max by (%(ensembleBy)s) (zookeeper_approximate_data_size_bytes{%(zookeeperSelector)s}) > %(dataSizeThresholdBytes)s
            ||| % c,
            c.capacityFor,
            c.warningSeverity,
            'A ZooKeeper ensemble stores much data.',
            'Ensemble %(ensembleName)s stores {{ $value | humanize1024 }}B of data.' % c,
          ),
        ],
      },
    ],
  },
}
