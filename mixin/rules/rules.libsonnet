// Recording rules for what the dashboards reuse: ensemble-level aggregates
// and rates. Names follow level:metric:operations, where the level
// "ensemble" stands for the configured ensembleLabels.
{
  prometheusRules+:: {
    local c = $._config,
    local rec(record, expr) = { record: record, expr: expr % c },
    groups+: [
      {
        name: 'zookeeper-ensemble.rules',
        rules: [
          rec('ensemble:zookeeper_up:sum', 'sum by (%(ensembleBy)s) (zookeeper_up{%(zookeeperSelector)s})'),
          rec('ensemble:zookeeper_server_is_leader:sum', 'sum by (%(ensembleBy)s) (zookeeper_server_is_leader{%(zookeeperSelector)s})'),
          rec('ensemble:zookeeper_follower_zxid_lag:max', 'max by (%(ensembleBy)s) (zookeeper_follower_zxid_lag{%(zookeeperSelector)s})'),
          rec('ensemble:zookeeper_avg_latency_seconds:max', 'max by (%(ensembleBy)s) (zookeeper_avg_latency_seconds{%(zookeeperSelector)s})'),
          rec('ensemble:zookeeper_packets_received:rate5m', 'sum by (%(ensembleBy)s) (rate(zookeeper_packets_received_total{%(zookeeperSelector)s}[5m]))'),
          rec('ensemble:zookeeper_packets_sent:rate5m', 'sum by (%(ensembleBy)s) (rate(zookeeper_packets_sent_total{%(zookeeperSelector)s}[5m]))'),
          rec('ensemble:zookeeper_num_alive_connections:sum', 'sum by (%(ensembleBy)s) (zookeeper_num_alive_connections{%(zookeeperSelector)s})'),
          rec('ensemble:zookeeper_leader_changes:increase1h', 'max by (%(ensembleBy)s) (increase(zookeeper_ensemble_leader_changes_total{%(zookeeperSelector)s}[1h]))'),
          rec('server:zookeeper_file_descriptors:ratio', 'zookeeper_open_file_descriptor_count{%(zookeeperSelector)s} / (zookeeper_max_file_descriptor_count{%(zookeeperSelector)s} > 0)'),
        ],
      },
      {
        name: 'zookeeper-processes.rules',
        rules: [
          rec('group:zookeeper_group_member_up:sum', 'sum by (%(ensembleBy)s, group) (zookeeper_group_member_up{%(zookeeperSelector)s})'),
          rec('group:zookeeper_group_member_changes:increase1h', 'sum by (%(ensembleBy)s, group, change) (increase(zookeeper_group_member_changes_total{%(zookeeperSelector)s}[1h]))'),
        ],
      },
    ],
  },
} + (import 'splitbrain.libsonnet')
