local g = import '../lib/dashboard.libsonnet';

{
  grafanaDashboards+:: {
    local c = $._config,
    local sel = 'job=~"$job", %s=~"$ensemble"' % c.dashboardEnsembleLabel,
    local gsel = sel + ', group=~"$group"',
    local t(expr, legend='') = g.target(expr % { sel: sel, gsel: gsel }, legend),
    local groupVar = {
      name: 'group',
      label: 'Group',
      type: 'query',
      datasource: { type: 'prometheus', uid: '${datasource}' },
      query: { query: 'label_values(zookeeper_group_members{%s}, group)' % sel, refId: 'group' },
      definition: 'label_values(zookeeper_group_members{%s}, group)' % sel,
      current: {},
      includeAll: true,
      multi: true,
      allValue: '.+',
      refresh: 2,
      sort: 1,
      hide: 0,
      regex: '',
    },

    'zookeeper-processes.json': g.dashboard(
      'ZooKeeper / Processes',
      c.dashboardUIDPrefix + 'processes',
      c,
      extraVariables=[groupVar],
      description='Processes registered in ZooKeeper: groups, tasks, workers, locks, elections, config znodes and queues.',
      rows=[
        {
          title: 'Groups',
          panels: [
            g.table('Members', [
              t('max by (group, member) (zookeeper_group_member_up{%(gsel)s})'),
              t('max by (group, member, host, ip) (zookeeper_group_member_info{%(gsel)s})'),
              t('max by (group, member) (time() - zookeeper_group_member_since_timestamp_seconds{%(gsel)s})'),
            ], description='Up (1) or down (0), where it runs and for how many seconds it has been registered.') { w:: 12 },
            g.timeseries('Members and expected size', [
              t('zookeeper_group_members{%(gsel)s}', '{{group}}'),
              t('zookeeper_group_expected_members{%(gsel)s}', '{{group}} expected'),
            ]) { w:: 6 },
            g.stat('View synced', [t('max by (root) (zookeeper_watch_synced{%(sel)s})', '{{root}}')],
                   description='While a view is not synced, process alerts on it are held back.',
                   mappings=g.valueMap([[0, 'NOT SYNCED', 'red'], [1, 'synced', 'green']])) { w:: 6 },
          ],
        },
        {
          title: 'Group changes',
          panels: [
            g.timeseries('Member up', [t('zookeeper_group_member_up{%(gsel)s}', '{{group}} {{member}}')]),
            g.timeseries('Joins and leaves', [t('sum by (group, change) (increase(zookeeper_group_member_changes_total{%(gsel)s}[$__rate_interval]))', '{{group}} {{change}}')], stack=true),
            g.timeseries('Seconds since last change', [t('time() - zookeeper_group_last_change_timestamp_seconds{%(gsel)s}', '{{group}}')], unit='s'),
          ],
        },
        {
          title: 'Tasks',
          panels: [
            g.timeseries('Tasks by state', [t('zookeeper_tasks{%(sel)s}', '{{root}} {{state}}')], stack=true),
            g.timeseries('Workers', [t('zookeeper_workers{%(sel)s}', '{{root}}')]),
            g.timeseries('Tasks per worker', [t('zookeeper_worker_tasks{%(sel)s}', '{{root}} {{worker}}')]),
            g.timeseries('Oldest unclaimed task', [t('zookeeper_task_oldest_unclaimed_seconds{%(sel)s}', '{{root}}')], unit='s'),
          ],
        },
        {
          title: 'Locks and elections',
          panels: [
            g.timeseries('Locks held', [t('zookeeper_lock_held{%(sel)s}', '{{lock}}')]),
            g.timeseries('Lock waiters', [t('zookeeper_lock_waiters{%(sel)s}', '{{lock}}')]),
            g.timeseries('Lock held for', [t('zookeeper_lock_held_seconds{%(sel)s}', '{{lock}}')], unit='s'),
            g.timeseries('Election candidates', [t('zookeeper_election_candidates{%(sel)s}', '{{election}}')]),
            g.timeseries('Election has leader', [t('zookeeper_election_has_leader{%(sel)s}', '{{election}}')]),
            g.timeseries('Election leader changes', [t('increase(zookeeper_election_leader_changes_total{%(sel)s}[$__rate_interval])', '{{election}}')]),
          ],
        },
        {
          title: 'Config znodes and queues',
          panels: [
            g.timeseries('Znode exists', [t('zookeeper_znode_exists{%(sel)s}', '{{path}}')]),
            g.timeseries('Znode data version', [t('zookeeper_znode_data_version{%(sel)s}', '{{path}}')]),
            g.timeseries('Znode age', [t('time() - zookeeper_znode_mtime_seconds{%(sel)s}', '{{path}}')], unit='s', description='Seconds since the znode was last modified.'),
            g.timeseries('Znode changes', [t('increase(zookeeper_znode_changes_total{%(sel)s}[$__rate_interval])', '{{path}}')]),
            g.timeseries('Queue depth', [t('zookeeper_queue_depth{%(sel)s}', '{{queue}}')]),
          ],
        },
      ],
    ),
  },
}
