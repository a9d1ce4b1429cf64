local a = import '../lib/alert.libsonnet';
local g = import '../lib/dashboard.libsonnet';

{
  grafanaDashboards+:: {
    local c = $._config,
    local sel = 'job=~"$job", %s=~"$ensemble"' % c.dashboardEnsembleLabel,
    local by = c.ensembleBy,
    local ens = '{{%s}}' % c.dashboardEnsembleLabel,
    local vars = { sel: sel, by: by },
    local t(expr, legend='') = g.target(expr % vars, legend),
    // avg is the average of a summary per server over window, as the alerts
    // compute it: no result for a window without events or across a
    // restart (lib/alert.libsonnet's counterRatio).
    local avg(fn, summary, window) = t(a.counterRatio(fn, ['%s_sum{%%(sel)s}' % summary], ['%s_count{%%(sel)s}' % summary], window), '{{server}}'),

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
            g.stat('Members', [t('max by (%(by)s) (zookeeper_ensemble_members{%(sel)s})', ens)],
                   description='Members the exporter probes: its --zookeeper.servers, or the members of the leader\'s dynamic configuration.'),
            g.stat('Members up', [t('max by (%(by)s) (zookeeper_ensemble_members_up{%(sel)s})', ens)],
                   description='Members that answered the last probe. Fewer than Members: see the Servers table.'),
            g.stat('Quorum', [t('max by (%(by)s) (zookeeper_ensemble_has_quorum{%(sel)s})', ens)],
                   description='OK while enough voting members are up and one of them leads; LOST means the ensemble refuses writes.',
                   mappings=g.valueMap([[0, 'LOST', 'red'], [1, 'OK', 'green']])),
            g.stat('Leaders', [t('max by (%(by)s) (zookeeper_ensemble_leaders{%(sel)s})', ens)],
                   description='Exactly one is healthy: 0 means no leader, more than 1 a split ensemble.',
                   thresholds=[[2, 'red']], mappings=g.valueMap([[0, '0', 'red']])),
            g.stat('Quorum size', [t('max by (%(by)s) (zookeeper_ensemble_quorum_size{%(sel)s})', ens)], description='Voting members needed for a quorum.'),
            g.stat('Synced followers', [t('max by (%(by)s) (zookeeper_ensemble_synced_followers{%(sel)s})', ens)],
                   description='Voting followers in sync with the leader, as the leader reports; one less than the voting members up when all are in sync.'),
            g.stat('Leader changes (1h)', [t('ensemble:zookeeper_leader_changes:increase1h{%(sel)s}', ens)], thresholds=[[1, 'yellow'], [4, 'red']],
                   description='New leaders elected in the last hour. Each election stops writes for its duration.'),
          ],
        },
        {
          title: 'Servers',
          panels: [
            g.table('Servers', [
              g.column(t('max by (server, state) (zookeeper_server_state{%(sel)s} == 1)')),
              g.column(t('max by (server) (zookeeper_up{%(sel)s})'), 'Answers', mappings=g.valueMap([[0, 'no', 'red'], [1, 'yes', 'green']])),
              g.column(t('max by (server) (zookeeper_uptime_seconds{%(sel)s})'), 'Uptime', unit='s'),
              g.column(t('max by (server, version, server_id) (zookeeper_server_info{%(sel)s})')),
            ], labels=[['server', 'Server'], ['state', 'Role'], ['server_id', 'Server id'], ['version', 'Version']],
            description='One row per member: its role (leader, follower, observer, standalone, looking, read-only), whether it answers the exporter, how long it has run, its id and ZooKeeper version. A member that does not answer has no role.') { w:: 12 },
            g.timeseries('Servers up', [t('zookeeper_up{%(sel)s}', '{{server}}')], description='1 when the server answers the exporter, 0 when it does not.') { w:: 6 },
            g.timeseries('Leader', [t('zookeeper_server_is_leader{%(sel)s}', '{{server}}')],
                         description='1 for the member that leads (or runs standalone); the line moving to another member is a leader change.') { w:: 6 },
            g.timeseries('Uptime', [t('zookeeper_uptime_seconds{%(sel)s}', '{{server}}')], unit='s', description='Time since the server process started; a drop is a restart.') { w:: 6 },
            g.timeseries('JVM pauses', [
              t('rate(zookeeper_jvm_pause_time_seconds_sum{%(sel)s}[$__rate_interval])', '{{server}}'),
            ], unit='percentunit', description='Share of time the JVM was paused (GC or stalls, as ZooKeeper measures them).') { w:: 6 },
            g.timeseries('Time in fsync', [
              t('rate(zookeeper_fsynctime_seconds_sum{%(sel)s}[$__rate_interval])', '{{server}}'),
            ], unit='percentunit', description='Share of time the server spent in fsync of its transaction log: every write waits for it.') { w:: 6 },
            g.timeseries('Longest fsync', [t('zookeeper_fsynctime_max_seconds{%(sel)s}', '{{server}}')], unit='s',
                         description='The longest transaction log fsync since the server started (or its metrics were reset).') { w:: 6 },
          ],
        },
        {
          title: 'Replication',
          panels: [
            g.timeseries('Follower zxid lag', [t('zookeeper_follower_zxid_lag{%(sel)s}', '{{server}}')], description='Transactions a follower is behind the leader.'),
            g.timeseries('Followers an epoch behind', [t('zookeeper_follower_epoch_behind{%(sel)s}', '{{server}}')],
                         description='1 while a follower has not synced with the current leader, or is still in an older epoch.'),
            g.timeseries('Zxid counter', [t('zookeeper_zxid_counter{%(sel)s}', '{{server}}')],
                         description='Transaction counter of each member\'s last zxid; it climbs with writes and starts again at each new epoch.'),
            g.timeseries('Pending syncs', [t('zookeeper_pending_syncs{%(sel)s}', '{{server}}')],
                         description='Syncs the leader has yet to send to followers (leader only).'),
          ],
        },
        {
          title: 'Requests',
          panels: [
            g.timeseries('Average latency', [t('zookeeper_avg_latency_seconds{%(sel)s}', '{{server}}')], unit='s',
                         description='Average time the server took to answer a request, as ZooKeeper computes it since its statistics were last reset.'),
            g.timeseries('Maximum latency', [t('zookeeper_max_latency_seconds{%(sel)s}', '{{server}}')], unit='s',
                         description='Longest time the server took to answer a request since its statistics were last reset.'),
            g.timeseries('Outstanding requests', [t('zookeeper_outstanding_requests{%(sel)s}', '{{server}}')],
                         description='Requests queued in the server; a growing number means it cannot keep up.'),
            g.timeseries('Packets', [
              t('rate(zookeeper_packets_received_total{%(sel)s}[$__rate_interval])', '{{server}} received'),
              t('-rate(zookeeper_packets_sent_total{%(sel)s}[$__rate_interval])', '{{server}} sent'),
            ], unit='pps', description='Client packets per second: received above the axis, sent below.'),
          ],
        },
        {
          title: 'Data and clients',
          panels: [
            g.timeseries('Znodes', [t('zookeeper_znode_count{%(sel)s}', '{{server}}')], description='Znodes in the data tree of each member.'),
            g.timeseries('Ephemeral znodes', [t('zookeeper_ephemerals_count{%(sel)s}', '{{server}}')],
                         description='Ephemeral znodes, owned by client sessions; a drop is clients losing their sessions.'),
            g.timeseries('Data size', [t('zookeeper_approximate_data_size_bytes{%(sel)s}', '{{server}}')], unit='bytes',
                         description='Approximate size of the data tree (paths and data) held in memory.'),
            g.timeseries('Watches', [t('zookeeper_watch_count{%(sel)s}', '{{server}}')], description='Watches clients have set on each member.'),
            g.timeseries('Connections', [t('zookeeper_num_alive_connections{%(sel)s}', '{{server}}')], description='Open client connections of each member.'),
            g.timeseries('Sessions', [
              t('zookeeper_global_sessions{%(sel)s}', '{{server}} global'),
              t('zookeeper_local_sessions{%(sel)s}', '{{server}} local'),
            ], description='Client sessions: global ones are known to the whole ensemble, local ones only to the member the client is connected to.'),
            g.timeseries('File descriptors used', [t('server:zookeeper_file_descriptors:ratio{%(sel)s}', '{{server}}')], unit='percentunit',
                         description='Open file descriptors as a share of the process limit; at 100% the server refuses connections.'),
          ],
        },
        {
          title: 'Clients',
          panels: [
            g.table('Top clients', [
              g.column(t('max by (server, client) (zookeeper_top_client_connections{%(sel)s})'), 'Connections'),
              g.column(t('sum by (server, client) (rate(zookeeper_top_client_packets_received_total{%(sel)s}[$__rate_interval]))'), 'Received', unit='pps'),
              g.column(t('max by (server, client) (zookeeper_top_client_outstanding_requests{%(sel)s})'), 'Outstanding'),
              g.column(t('max by (server, client) (zookeeper_top_client_max_latency_seconds{%(sel)s})'), 'Max latency', unit='s'),
            ], labels=[['server', 'Server'], ['client', 'Client']],
            description='The client addresses with the most connections on each member (connections collector, --collector.connections.top-clients), the rest summed as "other": their connections, packets per second received, requests waiting for an answer and highest latency. ZooKeeperClientConnectionsShare fires when one address holds more than %s of a member\'s connections.' % c.clientConnectionsShareThreshold),
          ],
        },
        {
          title: 'JVM and disk',
          panels: [
            g.timeseries('Heap used', [t('zookeeper_jvm_memory_bytes_used{%(sel)s, area="heap"} / (zookeeper_jvm_memory_bytes_max{%(sel)s, area="heap"} > 0)', '{{server}}')],
                         unit='percentunit', description='Heap in use as a share of the maximum heap. Needs the Prometheus metrics provider with metricsProvider.exportJvmInfo=true.'),
            g.timeseries('GC time', [
              t('sum by (server) (rate(zookeeper_jvm_gc_collection_seconds_sum{%(sel)s}[$__rate_interval]))', '{{server}}'),
            ], unit='percentunit', description='Share of time in garbage collection, from the Prometheus metrics provider (JVM pauses of the default provider: Servers row).'),
            g.timeseries('Average fsync time', [avg('rate', 'zookeeper_fsynctime_seconds', '$__rate_interval')], unit='s', description='Average duration of the transaction log fsyncs in each interval; no line while a server writes nothing (no fsync to average) or across its restart.'),
            g.timeseries('Average snapshot time', [avg('increase', 'zookeeper_snapshottime_seconds', c.snapshotWindow)], unit='s', description='Average duration of the snapshots taken in the last %s, as ZooKeeperSlowSnapshots compares it; no line while a server took none or restarted in the window.' % c.snapshotWindow),
            g.timeseries('Average election time', [avg('increase', 'zookeeper_election_time_seconds', c.electionTimeWindow)], unit='s', description='Average duration of the leader elections of the last %s, as ZooKeeperSlowLeaderElection compares it; no line while there was none or the server restarted in the window.' % c.electionTimeWindow),
            g.timeseries('Read-only mode', [t('zookeeper_server_state{%(sel)s, state="read-only"}', '{{server}}')], description='1 while a server is cut off from the quorum and serves reads only.'),
          ],
        },
        {
          title: 'Rejections and security',
          panels: [
            g.timeseries('Connections rejected and dropped', [
              t('rate(zookeeper_connection_rejected_total{%(sel)s}[$__rate_interval])', '{{server}} rejected'),
              t('rate(zookeeper_connection_drop_total{%(sel)s}[$__rate_interval])', '{{server}} dropped'),
            ], unit='ops', description='Connections per second refused (e.g. maxClientCnxns) and dropped under load.'),
            g.timeseries('Throttled operations', [
              t('rate(zookeeper_throttled_ops_total{%(sel)s}[$__rate_interval])', '{{server}} throttled'),
              t('rate(zookeeper_request_throttle_wait_total{%(sel)s}[$__rate_interval])', '{{server}} waited'),
            ], unit='ops', description='Requests per second refused by the request throttler, and requests that had to wait for it.'),
            g.timeseries('Authentication failures', [
              t('rate(zookeeper_auth_failed_total{%(sel)s}[$__rate_interval])', '{{server}} clients'),
              t('rate(zookeeper_ensemble_auth_fail_total{%(sel)s}[$__rate_interval])', '{{server}} quorum peers'),
            ], unit='ops', description='Failed authentications per second, of clients and of quorum peers (quorum SASL).'),
            g.timeseries('Digest mismatches', [t('rate(zookeeper_digest_mismatches_total{%(sel)s}[$__rate_interval])', '{{server}}')], unit='ops',
                         description='Data tree digest mismatches between servers per second: the replicas disagree.'),
          ],
        },
        {
          title: 'Probing',
          panels: [
            g.timeseries('Probe duration', [t('zookeeper_probe_duration_seconds{%(sel)s}', '{{server}}')], unit='s',
                         description='How long the exporter\'s last probe of each member took; close to --zookeeper.timeout means the member is slow to answer.'),
            g.timeseries('Last seen', [t('time() - zookeeper_last_seen_timestamp_seconds{%(sel)s}', '{{server}}')], unit='s', description='Seconds since the server last answered.'),
          ],
        },
      ],
    ),
  },
}
