// The zkwatch monitoring mixin: ZooKeeper ensembles, processes registered in
// ZooKeeper, and zkwatch's own receiver and agent.
local alertlib = import 'lib/alert.libsonnet';

local base =
  (import 'config.libsonnet') +
  (import 'alerts/alerts.libsonnet') +
  (import 'rules/rules.libsonnet') +
  (import 'dashboards/dashboards.libsonnet');

base {
  prometheusAlerts+:: {
    groups: alertlib.addRunbookLinks(super.groups, $._config.runbookURLPattern),
  },
}
