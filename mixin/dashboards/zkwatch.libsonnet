local g = import '../lib/dashboard.libsonnet';

{
  grafanaDashboards+:: {
    local c = $._config,
    local sel = 'job=~"$job", %s=~"$ensemble"' % c.dashboardEnsembleLabel,
    // The receiver's and the agents' jobs and instances are variables too,
    // found by the build_info metric each binary exports.
    local rsel = 'job=~"$receiver_job", instance=~"$receiver_instance"',
    local asel = 'job=~"$agent_job", instance=~"$agent_instance"',
    local t(expr, legend='') = g.target(expr % { sel: sel, rsel: rsel, asel: asel }, legend),
    local events(metric, s, by, legend) = g.target(g.events('%s{%s}' % [metric, s], by), legend),

    'zkwatch.json': g.dashboard(
      'ZooKeeper / zkwatch',
      c.dashboardUIDPrefix + 'self',
      c,
      extraVariables=[
        g.jobVariable('receiver_job', 'Receiver job', 'zkwatch_receiver_build_info'),
        g.labelVariable('receiver_instance', 'Receiver instance', 'zkwatch_receiver_build_info{job=~"$receiver_job"}', 'instance'),
        g.jobVariable('agent_job', 'Agent job', 'zkwatch_agent_build_info'),
        g.labelVariable('agent_instance', 'Agent instance', 'zkwatch_agent_build_info{job=~"$agent_job"}', 'instance'),
      ],
      description="zkwatch's own health: exporter scrapes and session, watch events, receiver notifications and restarts, agents.",
      rows=[
        {
          title: 'Exporter',
          panels: [
            g.timeseries('Collector duration', [t('zookeeper_scrape_collector_duration_seconds{%(sel)s}', '{{instance}} {{collector}}')], unit='s',
                         description='How long each collector of zookeeper_exporter took in the last scrape.'),
            g.timeseries('Collector success', [t('zookeeper_scrape_collector_success{%(sel)s}', '{{instance}} {{collector}}')],
                         description='1 when a collector succeeded in the last scrape, 0 when it failed (see the exporter log).'),
            g.table('Exporter build', [
              g.column(t('max by (job, instance, version, revision, goversion) (zookeeper_exporter_build_info{%(sel)s})')),
            ], labels=[['job', 'Job'], ['instance', 'Instance'], ['version', 'Version'], ['revision', 'Revision'], ['goversion', 'Go version']],
            description='Version, revision and Go version of every zookeeper_exporter.'),
            g.timeseries('Commands allowed', [t('min by (command) (zookeeper_command_allowed{%(sel)s})', '{{command}}')], description='Four-letter words the servers allow (0: not whitelisted).'),
          ],
        },
        {
          title: 'Exporter session and watches',
          panels: [
            g.timeseries('Session state', [t('zookeeper_exporter_session_state{%(sel)s} == 1', '{{instance}} {{state}}')],
                         description="The state of the exporter's ZooKeeper session for the watch collectors; only the current state is drawn."),
            g.timeseries('Session expirations and reconnects', [
              events('zookeeper_exporter_session_expirations_total', sel, 'instance', '{{instance}} expirations'),
              events('zookeeper_exporter_reconnects_total', sel, 'instance', '{{instance}} reconnects'),
            ], description="Expirations and reconnects of the exporter's watch session in each interval, also across a scrape gap. After an expiry the views resync."),
            g.timeseries('Watch events', [t('sum by (instance, type) (rate(zookeeper_exporter_watch_events_total{%(sel)s}[$__rate_interval]))', '{{instance}} {{type}}')], unit='ops', stack=true,
                         description='ZooKeeper watch events per second the exporter receives, by type.'),
            g.timeseries('Watch errors', [t('sum by (root, reason) (rate(zookeeper_watch_errors_total{%(sel)s}[$__rate_interval]))', '{{root}} {{reason}}')], unit='ops',
                         description='Failed reads of watched paths per second, by reason (e.g. no auth, no node).'),
            g.timeseries('Dropped watch members', [events('zookeeper_watch_dropped_members_total', sel, 'root', '{{root}}')],
                         description='Children of a watched path left out by --watch.max-members (or max_members), in each interval.'),
          ],
        },
        {
          title: 'Receiver',
          panels: [
            g.timeseries('Webhook requests', [t('sum by (code) (rate(zkwatch_receiver_webhook_requests_total{%(rsel)s}[$__rate_interval]))', '{{code}}')], unit='reqps',
                         description='Alertmanager webhook requests per second, by HTTP status code.'),
            g.timeseries('Notifications', [events('zkwatch_receiver_notifications_total', rsel, 'notifier, outcome', '{{notifier}} {{outcome}}')], stack=true,
                         description='Notifications sent, failed or given up in each interval, by notifier.'),
            g.timeseries('Restarts', [events('zkwatch_receiver_restarts_total', rsel, 'rule, outcome', '{{rule}} {{outcome}}')], stack=true,
                         description='Restart commands run by each restart rule in each interval, by outcome.'),
            g.timeseries('Incidents', [t('sum by (status) (zkwatch_receiver_incidents{%(rsel)s})', '{{status}}')], description='Incidents in the store by status.'),
            g.timeseries('Outbox pending', [t('zkwatch_receiver_outbox_pending{%(rsel)s}', '{{instance}}')], description='Notifications waiting in the outbox; a growing number means a notifier cannot deliver.'),
            g.timeseries('Dead letters', [t('zkwatch_receiver_dead_letters{%(rsel)s}', '{{instance}}')],
                         description='Messages given up after retry_max_attempts or retry_max_age, or refused with a 4xx: see /api/v1/dead-letters.'),
            g.timeseries('Replica connected to ZooKeeper', [t('zkwatch_receiver_ha_connected{%(rsel)s}', '{{instance}}')],
                         description='Replicas claim each restart and notification in ZooKeeper; without it restarts wait and notifications go out after --ha.notify.fail-open-after.'),
            g.timeseries('HA claims', [events('zkwatch_receiver_ha_claims_total', rsel, 'instance, result', '{{instance}} {{result}}')], stack=true,
                         description='Claims of restarts and notifications each replica made in ZooKeeper in each interval, by result (won, lost, pending, taken_over, unavailable, fail_open).'),
            g.stat('Config reloaded', [t('min(zkwatch_receiver_config_last_reload_successful{%(rsel)s})')],
                   description='FAILED while any receiver runs on an old configuration because the last reload failed.',
                   mappings=g.valueMap([[0, 'FAILED', 'red'], [1, 'OK', 'green']])),
          ],
        },
        {
          title: 'Agents',
          panels: [
            g.timeseries('Registered', [t('zkwatch_agent_registered{%(asel)s}', '{{instance}}')], description="1 while the agent's ephemeral znode exists under its current session."),
            g.timeseries('Child restarts', [events('zkwatch_agent_child_restarts_total', asel, 'instance', '{{instance}}')],
                         description='Restarts of the supervised command in each interval, also across a scrape gap.'),
            g.timeseries('Session expirations', [events('zkwatch_agent_session_expirations_total', asel, 'instance', '{{instance}}')],
                         description="Expirations of the agent's ZooKeeper session in each interval, also across a scrape gap; the agent registers again after each."),
            g.timeseries('Locks held', [t('zkwatch_agent_lock_held{%(asel)s}', '{{instance}}')], description='1 while the agent holds its lock (lock mode).'),
            g.timeseries('Tasks', [t('zkwatch_agent_tasks{%(asel)s}', '{{instance}} {{state}}')], stack=true,
                         description='Tasks of each worker agent: claimed, running, and done since it started (worker mode).'),
            g.timeseries('Conflicts', [events('zkwatch_agent_conflicts_total', asel, 'instance', '{{instance}}')],
                         description='Member znodes owned by another live session, or task claims lost to another worker, in each interval.'),
          ],
        },
      ],
    ),
  },
}
