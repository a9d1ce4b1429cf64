local g = import '../lib/dashboard.libsonnet';

{
  grafanaDashboards+:: {
    local c = $._config,
    local sel = 'job=~"$job", %s=~"$ensemble"' % c.dashboardEnsembleLabel,
    // The receiver's and the agents' jobs are variables too, found by the
    // build_info metric each binary exports.
    local t(expr, legend='') = g.target(expr % { sel: sel, rsel: 'job=~"$receiver_job"', asel: 'job=~"$agent_job"' }, legend),

    'zkwatch.json': g.dashboard(
      'ZooKeeper / zkwatch',
      c.dashboardUIDPrefix + 'self',
      c,
      extraVariables=[
        g.jobVariable('receiver_job', 'Receiver job', 'zkwatch_receiver_build_info'),
        g.jobVariable('agent_job', 'Agent job', 'zkwatch_agent_build_info'),
      ],
      description="zkwatch's own health: exporter scrapes and session, watch events, receiver notifications and restarts, agents.",
      rows=[
        {
          title: 'Exporter',
          panels: [
            g.timeseries('Collector duration', [t('zookeeper_scrape_collector_duration_seconds{%(sel)s}', '{{instance}} {{collector}}')], unit='s'),
            g.timeseries('Collector success', [t('zookeeper_scrape_collector_success{%(sel)s}', '{{instance}} {{collector}}')]),
            g.table('Exporter build', [t('max by (job, instance, version, revision, goversion) (zookeeper_exporter_build_info{%(sel)s})')]),
            g.timeseries('Commands allowed', [t('min by (command) (zookeeper_command_allowed{%(sel)s})', '{{command}}')], description='Four-letter words the servers allow (0: not whitelisted).'),
          ],
        },
        {
          title: 'Exporter session and watches',
          panels: [
            g.timeseries('Session state', [t('zookeeper_exporter_session_state{%(sel)s} == 1', '{{instance}} {{state}}')]),
            g.timeseries('Session expirations and reconnects', [
              t('increase(zookeeper_exporter_session_expirations_total{%(sel)s}[$__rate_interval])', '{{instance}} expirations'),
              t('increase(zookeeper_exporter_reconnects_total{%(sel)s}[$__rate_interval])', '{{instance}} reconnects'),
            ]),
            g.timeseries('Watch events', [t('sum by (instance, type) (rate(zookeeper_exporter_watch_events_total{%(sel)s}[$__rate_interval]))', '{{instance}} {{type}}')], unit='ops', stack=true),
            g.timeseries('Watch errors', [t('sum by (root, reason) (rate(zookeeper_watch_errors_total{%(sel)s}[$__rate_interval]))', '{{root}} {{reason}}')], unit='ops'),
            g.timeseries('Dropped watch members', [t('sum by (root) (increase(zookeeper_watch_dropped_members_total{%(sel)s}[$__rate_interval]))', '{{root}}')],
                         description='Children of a watched path left out by --watch.max-members (or max_members).'),
          ],
        },
        {
          title: 'Receiver',
          panels: [
            g.timeseries('Webhook requests', [t('sum by (code) (rate(zkwatch_receiver_webhook_requests_total{%(rsel)s}[$__rate_interval]))', '{{code}}')], unit='reqps'),
            g.timeseries('Notifications', [t('sum by (notifier, outcome) (increase(zkwatch_receiver_notifications_total{%(rsel)s}[$__rate_interval]))', '{{notifier}} {{outcome}}')], stack=true),
            g.timeseries('Restarts', [t('sum by (rule, outcome) (increase(zkwatch_receiver_restarts_total{%(rsel)s}[$__rate_interval]))', '{{rule}} {{outcome}}')], stack=true),
            g.timeseries('Incidents', [t('sum by (status) (zkwatch_receiver_incidents{%(rsel)s})', '{{status}}')]),
            g.timeseries('Outbox pending', [t('zkwatch_receiver_outbox_pending{%(rsel)s}', '{{instance}}')]),
            g.timeseries('Dead letters', [t('zkwatch_receiver_dead_letters{%(rsel)s}', '{{instance}}')],
                         description='Messages given up after retry_max_attempts or retry_max_age, or refused with a 4xx: see /api/v1/dead-letters.'),
            g.timeseries('Replica connected to ZooKeeper', [t('zkwatch_receiver_ha_connected{%(rsel)s}', '{{instance}}')],
                         description='Replicas claim each restart and notification in ZooKeeper; without it restarts wait and notifications go out after --ha.notify.fail-open-after.'),
            g.timeseries('HA claims', [t('sum by (instance, result) (increase(zkwatch_receiver_ha_claims_total{%(rsel)s}[$__rate_interval]))', '{{instance}} {{result}}')], stack=true),
            g.stat('Config reloaded', [t('min(zkwatch_receiver_config_last_reload_successful{%(rsel)s})')],
                   mappings=g.valueMap([[0, 'FAILED', 'red'], [1, 'OK', 'green']])),
          ],
        },
        {
          title: 'Agents',
          panels: [
            g.timeseries('Registered', [t('zkwatch_agent_registered{%(asel)s}', '{{instance}}')]),
            g.timeseries('Child restarts', [t('increase(zkwatch_agent_child_restarts_total{%(asel)s}[$__rate_interval])', '{{instance}}')]),
            g.timeseries('Session expirations', [t('increase(zkwatch_agent_session_expirations_total{%(asel)s}[$__rate_interval])', '{{instance}}')]),
            g.timeseries('Locks held', [t('zkwatch_agent_lock_held{%(asel)s}', '{{instance}}')]),
            g.timeseries('Tasks', [t('zkwatch_agent_tasks{%(asel)s}', '{{instance}} {{state}}')], stack=true),
            g.timeseries('Conflicts', [t('increase(zkwatch_agent_conflicts_total{%(asel)s}[$__rate_interval])', '{{instance}}')]),
          ],
        },
      ],
    ),
  },
}
