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
            g.stat('Quorum size', [t('max by (%(by)s) (zookeeper_ensemble_quorum_size{%(sel)s})', ens)], description='Voting members needed for a quorum.'),
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
            g.timeseries('Uptime', [t('zookeeper_uptime_seconds{%(sel)s}', '{{server}}')], unit='s', description='Time since the server process started; a drop is a restart.') { w:: 12 },
            g.timeseries('JVM pauses', [
              t('rate(zookeeper_jvm_pause_time_seconds_sum{%(sel)s}[$__rate_interval])', '{{server}}'),
            ], unit='percentunit', description='Share of time the JVM was paused (GC or stalls, as ZooKeeper measures them).') { w:: 6 },
            g.timeseries('Fsync time', [
              t('rate(zookeeper_fsynctime_seconds_sum{%(sel)s}[$__rate_interval])', '{{server}} fsync time per second'),
              t('zookeeper_fsynctime_max_seconds{%(sel)s}', '{{server}} longest'),
            ], unit='s', description='Time spent in fsync of the transaction log per second, and the longest fsync since the server started.') { w:: 6 },
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
            g.timeseries('Sessions', [
              t('zookeeper_global_sessions{%(sel)s}', '{{server}} global'),
              t('zookeeper_local_sessions{%(sel)s}', '{{server}} local'),
            ]),
            g.timeseries('File descriptors used', [t('server:zookeeper_file_descriptors:ratio{%(sel)s}', '{{server}}')], unit='percentunit'),
          ],
        },
        {
          title: 'JVM and disk',
          panels: [
            g.timeseries('Heap used', [t('zookeeper_jvm_memory_bytes_used{%(sel)s, area="heap"} / (zookeeper_jvm_memory_bytes_max{%(sel)s, area="heap"} > 0)', '{{server}}')],
                         unit='percentunit', description='Needs the Prometheus metrics provider with metricsProvider.exportJvmInfo=true.'),
            g.timeseries('GC time', [
              t('sum by (server) (rate(zookeeper_jvm_gc_collection_seconds_sum{%(sel)s}[$__rate_interval]))', '{{server}}'),
            ], unit='percentunit', description='Share of time in garbage collection, from the Prometheus metrics provider (JVM pauses of the default provider: Servers row).'),
            g.timeseries('Average fsync time', [t('increase(zookeeper_fsynctime_seconds_sum{%(sel)s}[1h]) / increase(zookeeper_fsynctime_seconds_count{%(sel)s}[1h])', '{{server}}')], unit='s', description='Over the last hour.'),
            g.timeseries('Average snapshot time', [t('zookeeper_snapshottime_seconds_sum{%(sel)s} / zookeeper_snapshottime_seconds_count{%(sel)s}', '{{server}}')], unit='s', description='Since the server started.'),
            g.timeseries('Average election time', [t('zookeeper_election_time_seconds_sum{%(sel)s} / zookeeper_election_time_seconds_count{%(sel)s}', '{{server}}')], unit='s', description='Since the server started.'),
            g.timeseries('Read-only mode', [t('zookeeper_server_state{%(sel)s, state="read-only"}', '{{server}}')], description='1 while a server is cut off from the quorum and serves reads only.'),
          ],
        },
        {
          title: 'Rejections and security',
          panels: [
            g.timeseries('Connections rejected and dropped', [
              t('rate(zookeeper_connection_rejected_total{%(sel)s}[$__rate_interval])', '{{server}} rejected'),
              t('rate(zookeeper_connection_drop_total{%(sel)s}[$__rate_interval])', '{{server}} dropped'),
            ], unit='ops', description='Connections refused (e.g. maxClientCnxns) and dropped under load.'),
            g.timeseries('Throttled operations', [
              t('rate(zookeeper_throttled_ops_total{%(sel)s}[$__rate_interval])', '{{server}} throttled'),
              t('rate(zookeeper_request_throttle_wait_total{%(sel)s}[$__rate_interval])', '{{server}} waited'),
            ], unit='ops'),
            g.timeseries('Authentication failures', [
              t('rate(zookeeper_auth_failed_total{%(sel)s}[$__rate_interval])', '{{server}} clients'),
              t('rate(zookeeper_ensemble_auth_fail_total{%(sel)s}[$__rate_interval])', '{{server}} quorum peers'),
            ], unit='ops'),
            g.timeseries('Digest mismatches', [t('rate(zookeeper_digest_mismatches_total{%(sel)s}[$__rate_interval])', '{{server}}')], unit='ops',
                         description='Data tree digest mismatches between servers: the replicas disagree.'),
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
