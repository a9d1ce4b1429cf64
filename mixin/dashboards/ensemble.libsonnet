local g = import '../lib/dashboard.libsonnet';

{
  grafanaDashboards+:: {
    local c = $._config,
    local sel = 'job=~"$job", %s=~"$ensemble"' % c.dashboardEnsembleLabel,
    local by = c.ensembleBy,
    local ens = '{{%s}}' % c.dashboardEnsembleLabel,
    local t(expr, legend='') = g.target(expr % { sel: sel, by: by }, legend),

    'zookeeper-ensemble.json': g.dashboard(
      'ZooKeeper / Ensemble',
      c.dashboardUIDPrefix + 'ensemble',
      c,
      description='Members, leader, quorum, replication, requests and capacity of ZooKeeper ensembles.',
      rows=[
        {
          title: 'Ensemble',
          height: 5,
          panels: [
            g.stat('Members', [t('max by (%(by)s) (zookeeper_ensemble_members{%(sel)s})', ens)]),
            g.stat('Members up', [t('max by (%(by)s) (zookeeper_ensemble_members_up{%(sel)s})', ens)]),
            g.stat('Quorum', [t('max by (%(by)s) (zookeeper_ensemble_has_quorum{%(sel)s})', ens)],
                   mappings=g.valueMap([[0, 'LOST', 'red'], [1, 'OK', 'green']])),
            g.stat('Leaders', [t('max by (%(by)s) (zookeeper_ensemble_leaders{%(sel)s})', ens)],
                   description='Exactly one is healthy: 0 means no leader, more than 1 a split ensemble.',
                   thresholds=[[2, 'red']], mappings=g.valueMap([[0, '0', 'red']])),
            g.stat('Synced followers', [t('max by (%(by)s) (zookeeper_ensemble_synced_followers{%(sel)s})', ens)]),
            g.stat('Leader changes (1h)', [t('ensemble:zookeeper_leader_changes:increase1h{%(sel)s}', ens)], thresholds=[[1, 'yellow'], [4, 'red']]),
          ],
        },
        {
          title: 'Servers',
          panels: [
            g.table('Servers', [
              t('max by (server) (zookeeper_server_state{%(sel)s} == 1)'),
              t('max by (server) (zookeeper_up{%(sel)s})'),
              t('max by (server, version, server_id) (zookeeper_server_info{%(sel)s})'),
            ], description='State, reachability and version of every member.') { w:: 12 },
            g.timeseries('Servers up', [t('zookeeper_up{%(sel)s}', '{{server}}')], description='1 when the server answers the exporter.') { w:: 6 },
            g.timeseries('Leader', [t('zookeeper_server_is_leader{%(sel)s}', '{{server}}')]) { w:: 6 },
          ],
        },
        {
          title: 'Replication',
          panels: [
            g.timeseries('Follower zxid lag', [t('zookeeper_follower_zxid_lag{%(sel)s}', '{{server}}')], description='Transactions a follower is behind the leader.'),
            g.timeseries('Followers an epoch behind', [t('zookeeper_follower_epoch_behind{%(sel)s}', '{{server}}')]),
            g.timeseries('Zxid counter', [t('zookeeper_zxid_counter{%(sel)s}', '{{server}}')]),
            g.timeseries('Pending syncs', [t('zookeeper_pending_syncs{%(sel)s}', '{{server}}')]),
          ],
        },
        {
          title: 'Requests',
          panels: [
            g.timeseries('Average latency', [t('zookeeper_avg_latency_seconds{%(sel)s}', '{{server}}')], unit='s'),
            g.timeseries('Maximum latency', [t('zookeeper_max_latency_seconds{%(sel)s}', '{{server}}')], unit='s'),
            g.timeseries('Outstanding requests', [t('zookeeper_outstanding_requests{%(sel)s}', '{{server}}')]),
            g.timeseries('Packets', [
              t('rate(zookeeper_packets_received_total{%(sel)s}[$__rate_interval])', '{{server}} received'),
              t('-rate(zookeeper_packets_sent_total{%(sel)s}[$__rate_interval])', '{{server}} sent'),
            ], unit='pps', description='Received above the axis, sent below.'),
          ],
        },
        {
          title: 'Data and clients',
          panels: [
            g.timeseries('Znodes', [t('zookeeper_znode_count{%(sel)s}', '{{server}}')]),
            g.timeseries('Ephemeral znodes', [t('zookeeper_ephemerals_count{%(sel)s}', '{{server}}')]),
            g.timeseries('Data size', [t('zookeeper_approximate_data_size_bytes{%(sel)s}', '{{server}}')], unit='bytes'),
            g.timeseries('Watches', [t('zookeeper_watch_count{%(sel)s}', '{{server}}')]),
            g.timeseries('Connections', [t('zookeeper_num_alive_connections{%(sel)s}', '{{server}}')]),
            g.timeseries('File descriptors used', [t('server:zookeeper_file_descriptors:ratio{%(sel)s}', '{{server}}')], unit='percentunit'),
          ],
        },
        {
          title: 'JVM and disk',
          panels: [
            g.timeseries('Heap used', [t('zookeeper_jvm_memory_bytes_used{%(sel)s, area="heap"} / (zookeeper_jvm_memory_bytes_max{%(sel)s, area="heap"} > 0)', '{{server}}')],
                         unit='percentunit', description='Needs the Prometheus metrics provider with metricsProvider.exportJvmInfo=true.'),
            g.timeseries('GC time', [
              t('sum by (server) (rate(zookeeper_jvm_gc_collection_seconds_sum{%(sel)s}[$__rate_interval]))', '{{server}} GC'),
              t('rate(zookeeper_jvm_pause_time_seconds_sum{%(sel)s}[$__rate_interval])', '{{server}} pauses'),
            ], unit='percentunit', description='Share of time in GC (metrics provider) or in JVM pauses (jvm.pause.monitor=true).'),
            g.timeseries('Average fsync time', [t('rate(zookeeper_fsynctime_seconds_sum{%(sel)s}[$__rate_interval]) / rate(zookeeper_fsynctime_seconds_count{%(sel)s}[$__rate_interval])', '{{server}}')], unit='s'),
            g.timeseries('Average snapshot time', [t('zookeeper_snapshottime_seconds_sum{%(sel)s} / zookeeper_snapshottime_seconds_count{%(sel)s}', '{{server}}')], unit='s', description='Since the server started.'),
            g.timeseries('Average election time', [t('zookeeper_election_time_seconds_sum{%(sel)s} / zookeeper_election_time_seconds_count{%(sel)s}', '{{server}}')], unit='s', description='Since the server started.'),
            g.timeseries('Read-only mode', [t('zookeeper_server_state{%(sel)s, state="read-only"}', '{{server}}')], description='1 while a server is cut off from the quorum and serves reads only.'),
          ],
        },
        {
          title: 'Probing',
          panels: [
            g.timeseries('Probe duration', [t('zookeeper_probe_duration_seconds{%(sel)s}', '{{server}}')], unit='s'),
            g.timeseries('Last seen', [t('time() - zookeeper_last_seen_timestamp_seconds{%(sel)s}', '{{server}}')], unit='s', description='Seconds since the server last answered.'),
          ],
        },
      ],
    ),
  },
}
