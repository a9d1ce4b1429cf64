local a = import '../lib/alert.libsonnet';

// The alerting path watching itself: the processes that carry alerts (the
// receiver replicas, the agents), Prometheus' link to Alertmanager, and a
// dead man's switch that fires always, so that the receiver's watchdog
// notices when alerts stop arriving from anywhere along the path.
{
  prometheusAlerts+:: {
    local c = a.printable($._config),
    groups+: [
      {
        name: 'zkwatch-alerting-path',
        rules: [
          a.alert(
            c.watchdogAlertName,
            'vector(1)\n',
            null,
            'none',
            'The alerting pipeline is alive.',
            'Always firing, so that its absence shows: Alertmanager routes it to zkwatch_receiver every %(watchdogRepeatInterval)s, whose watchdog raises the alarm when it stops arriving.' % c,
          ),
          a.alert(
            'ZooKeeperReceiverDown',
            |||
              up{%(receiverSelector)s} == 0
            ||| % c,
            c.receiverDownFor,
            c.warningSeverity,
            'Prometheus cannot scrape a zkwatch_receiver replica.',
            'zkwatch_receiver {{ $labels.instance }} has not answered scrapes for %(receiverDownFor)s: it neither notifies nor restarts; the other replicas carry on, if any.' % c,
          ),
          a.alert(
            'ZooKeeperAgentDown',
            |||
              up{%(agentSelector)s} == 0
            ||| % c,
            c.agentDownFor,
            c.warningSeverity,
            'Prometheus cannot scrape a zkwatch_agent.',
            'zkwatch_agent {{ $labels.instance }} has not answered scrapes for %(agentDownFor)s: the process it registers or supervises is not looked after.' % c,
          ),
          a.alert(
            'ZooKeeperAlertmanagerUnreachable',
            // The share of failed sends per Alertmanager, errors / (errors
            // + sent): Prometheus 2 counts failed sends in sent too, newer
            // releases count only the successful ones there, and a dead
            // Alertmanager would leave errors / sent without a denominator.
            // The smallest share is the one that reached none of them.
            local errors = 'prometheus_notifications_errors_total{%s}' % c.prometheusSelector;
            local ratio = a.counterRatio(
              'rate', [errors], [errors, 'prometheus_notifications_sent_total{%s}' % c.prometheusSelector], '5m',
            );
            'min without (alertmanager) (\n  %s)\n> %s\n' % [std.rstripChars(std.strReplace(ratio, '\n', '\n  '), ' '), c.alertmanagerErrorRatioThreshold],
            c.alertmanagerUnreachableFor,
            c.warningSeverity,
            'Prometheus fails to send alerts to any Alertmanager.',
            '{{ $value | humanizePercentage }} of the sends of Prometheus {{ $labels.instance }} in the last 5m reached no Alertmanager; notifications and restarts wait for them.',
          ),
          a.alert(
            'ZooKeeperAlertmanagerNotDiscovered',
            |||
              max_over_time(prometheus_notifications_alertmanagers_discovered{%(prometheusSelector)s}[5m]) < 1
            ||| % c,
            c.alertmanagerNotDiscoveredFor,
            c.warningSeverity,
            'Prometheus has no Alertmanager to send alerts to.',
            'Prometheus {{ $labels.instance }} has discovered no Alertmanager for %(alertmanagerNotDiscoveredFor)s: its alerts go nowhere.' % c,
          ),
        ],
      },
    ],
  },
}
