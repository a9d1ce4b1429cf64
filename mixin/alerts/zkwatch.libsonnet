local a = import '../lib/alert.libsonnet';

{
  prometheusAlerts+:: {
    local c = a.printable($._config),
    groups+: [
      {
        name: 'zkwatch',
        rules: [
          a.alert(
            'ZooKeeperReceiverNotificationsFailing',
            |||
              sum by (job, instance, notifier) (increase(zkwatch_receiver_notifications_total{%(receiverSelector)s, outcome="failure"}[%(receiverFailureWindow)s])) > 0
            ||| % c,
            null,
            c.warningSeverity,
            'zkwatch_receiver cannot deliver notifications.',
            'Notifier {{ $labels.notifier }} of {{ $labels.instance }} gave up on {{ $value | humanize }} notifications in the last %(receiverFailureWindow)s; they are kept as dead letters (/api/v1/dead-letters).' % c,
          ),
          a.alert(
            'ZooKeeperReceiverOutboxBacklog',
            |||
              zkwatch_receiver_outbox_pending{%(receiverSelector)s} > %(receiverOutboxThreshold)s
            ||| % c,
            c.receiverOutboxFor,
            c.warningSeverity,
            'zkwatch_receiver has many notifications waiting.',
            '{{ $labels.instance }} has {{ $value }} notifications waiting to be sent.',
          ),
          a.alert(
            'ZooKeeperReceiverRestartFailed',
            |||
              sum by (job, instance, rule) (increase(zkwatch_receiver_restarts_total{%(receiverSelector)s, outcome="failure"}[%(receiverFailureWindow)s])) > 0
            ||| % c,
            null,
            c.warningSeverity,
            'A restart run by zkwatch_receiver failed.',
            'Restart rule {{ $labels.rule }} of {{ $labels.instance }} failed {{ $value | humanize }} times in the last %(receiverFailureWindow)s.' % c,
          ),
          a.alert(
            'ZooKeeperReceiverRestartsExhausted',
            |||
              sum by (job, instance, rule) (increase(zkwatch_receiver_restarts_total{%(receiverSelector)s, outcome="exhausted"}[%(receiverFailureWindow)s])) > 0
            ||| % c,
            null,
            c.criticalSeverity,
            'zkwatch_receiver gave up restarting a process.',
            'Restart rule {{ $labels.rule }} of {{ $labels.instance }} used up its attempts for an incident in the last %(receiverFailureWindow)s; the process needs a person.' % c,
          ),
          a.alert(
            'ZooKeeperReceiverConfigReloadFailed',
            |||
              zkwatch_receiver_config_last_reload_successful{%(receiverSelector)s} == 0
            ||| % c,
            c.receiverReloadFor,
            c.warningSeverity,
            'zkwatch_receiver failed to reload its configuration.',
            '{{ $labels.instance }} runs an older configuration: the last reload failed.',
          ),
          a.alert(
            'ZooKeeperReceiverReplicaDisconnected',
            |||
              zkwatch_receiver_ha_connected{%(receiverSelector)s} == 0
            ||| % c,
            c.receiverHADisconnectedFor,
            c.warningSeverity,
            'A zkwatch_receiver replica has lost ZooKeeper.',
            '{{ $labels.instance }} has had no ZooKeeper session for coordination for %(receiverHADisconnectedFor)s: its restarts wait, its notifications go out unclaimed (possible duplicates) after the fail-open wait.' % c,
          ),
          a.alert(
            'ZooKeeperReceiverMaintenanceTooLong',
            // One alert for all replicas: they share their windows.
            |||
              max without (instance) (zkwatch_receiver_maintenance_windows_past_max_duration{%(receiverSelector)s}) > 0
            ||| % c,
            '5m',
            c.warningSeverity,
            'A maintenance window was extended past its maximum duration.',
            '{{ $value }} maintenance window(s) of {{ $labels.job }} were extended past maintenance.max_duration, counted from their first start: restarts of what they match stay postponed.',
          ),
          a.alert(
            'ZooKeeperAgentNotRegistered',
            |||
              zkwatch_agent_registered{%(agentSelector)s} == 0
            ||| % c,
            c.agentNotRegisteredFor,
            c.warningSeverity,
            'A zkwatch_agent is not registered in ZooKeeper.',
            'zkwatch_agent {{ $labels.instance }} has not been registered for %(agentNotRegisteredFor)s.' % c,
          ),
          a.alert(
            'ZooKeeperAgentRegistrationConflict',
            |||
              increase(zkwatch_agent_conflicts_total{%(agentSelector)s}[15m]) > 0
            ||| % c,
            null,
            c.warningSeverity,
            'A zkwatch_agent found its member name taken.',
            'zkwatch_agent {{ $labels.instance }} found its znode owned by another live session.',
          ),
          a.alert(
            'ZooKeeperAgentChildRestarting',
            |||
              increase(zkwatch_agent_child_restarts_total{%(agentSelector)s}[%(agentChildRestartsWindow)s]) > %(agentChildRestartsThreshold)s
            ||| % c,
            null,
            c.warningSeverity,
            'A process supervised by zkwatch_agent keeps restarting.',
            'The child of zkwatch_agent {{ $labels.instance }} restarted {{ $value | humanize }} times in %(agentChildRestartsWindow)s.' % c,
          ),
        ],
      },
    ],
  },
}
