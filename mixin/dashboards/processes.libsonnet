local g = import '../lib/dashboard.libsonnet';

{
  grafanaDashboards+:: {
    local c = $._config,
    local sel = 'job=~"$job", %s=~"$ensemble"' % c.dashboardEnsembleLabel,
    local gsel = sel + ', group=~"$group"',
    // Beliefs (split-brain check) come from the agents' or the
    // applications' jobs, chosen by variables of their own.
    local bsel = 'job=~"$belief_job", instance=~"$belief_instance"',
    local beliefs = '__name__=~"zkwatch_agent_lock_held_info|zkwatch_agent_election_leader_info"',
    local t(expr, legend='') = g.target(expr % { sel: sel, gsel: gsel, bsel: bsel }, legend),
    // splitBrain is one row per path and session: whether ZooKeeper says
    // the session holds (leads) it, how many processes with that session
    // believe they do, and how many of those beliefs ZooKeeper does not back
    // (the recording rule the mismatch alerts use). One row with all three
    // at 1 is agreement; two rows with believers are two holders.
    local splitBrain(kind, holder, belief, what) = g.table('Split-brain: %ss' % kind, [
      g.column(t('max by (%s, session) (%s{%%(sel)s})' % [kind, holder]), 'ZooKeeper says', mappings=g.valueMap([[1, what, 'green']])),
      g.column(t('count by (%s, session) (%s{%%(bsel)s} == 1)' % [kind, belief]), 'Processes believing'),
      // 0 for the beliefs ZooKeeper backs, so that agreement shows.
      g.column(t('sum by (%s, session) (%s_session:%s:unbacked{%%(bsel)s} or 0 * (%s{%%(bsel)s} == 1))' % [kind, kind, belief, belief]), 'Unbacked beliefs',
               mappings=g.valueMap([[0, 'none', 'green']])),
    ], labels=[[kind, std.asciiUpper(kind[0]) + kind[1:]], ['session', 'Session']],
    description='Per %s and ZooKeeper session: the session ZooKeeper says %s it (exporter), how many processes with that session believe they do (zkwatch_agent or the application), and how many of those beliefs ZooKeeper does not back. Agreement is one row with both; a believer on a row of its own, or two rows with believers, is a split brain.' % [kind, what]) { w:: 12 },
    local events(metric, s, by, legend) = g.target(g.events('%s{%s}' % [metric, s], by), legend),

    'zookeeper-processes.json': g.dashboard(
      'ZooKeeper / Processes',
      c.dashboardUIDPrefix + 'processes',
      c,
      extraVariables=[
        g.labelVariable('group', 'Group', 'zookeeper_group_members{%s}' % sel, 'group'),
        g.jobVariable('belief_job', 'Belief job', '{%s}' % beliefs),
        g.labelVariable('belief_instance', 'Belief instance', '{%s, job=~"$belief_job"}' % beliefs, 'instance'),
      ],
      description='Processes registered in ZooKeeper: groups, tasks, workers, locks, elections, config znodes and queues.',
      rows=[
        {
          title: 'Groups',
          panels: [
            g.table('Members', [
              g.column(t('max by (group, member) (zookeeper_group_member_up{%(gsel)s})'), 'Up', mappings=g.valueMap([[0, 'down', 'red'], [1, 'up', 'green']])),
              g.column(t('max by (group, member, host, ip) (zookeeper_group_member_info{%(gsel)s})')),
              g.column(t('max by (group, member) (time() - zookeeper_group_member_since_timestamp_seconds{%(gsel)s})'), 'Registered for', unit='s'),
            ], labels=[['group', 'Group'], ['member', 'Member'], ['host', 'Host'], ['ip', 'IP']],
            description='Every member of the selected groups: up, or down when an expected member is missing; where it runs (from its znode data) and how long its znode has existed.') { w:: 12 },
            g.timeseries('Members and expected size', [
              t('zookeeper_group_members{%(gsel)s}', '{{group}}'),
              t('zookeeper_group_expected_members{%(gsel)s}', '{{group}} expected'),
            ], description='Registered members of each group, and how many the watch configuration expects.') { w:: 6 },
            g.stat('View synced', [t('max by (root) (zookeeper_watch_synced{%(sel)s})', '{{root}}')],
                   description='While a view is not synced, process alerts on it are held back.',
                   mappings=g.valueMap([[0, 'NOT SYNCED', 'red'], [1, 'synced', 'green']])) { w:: 6 },
          ],
        },
        {
          title: 'Group changes',
          panels: [
            g.timeseries('Member up', [t('zookeeper_group_member_up{%(gsel)s}', '{{group}} {{member}}')],
                         description='1 while a member is registered, 0 while an expected member is missing.'),
            g.timeseries('Joins and leaves', [events('zookeeper_group_member_changes_total', gsel, 'group, change', '{{group}} {{change}}')], stack=true,
                         description='Members that joined or left each group in each interval, also across a scrape gap.'),
            g.timeseries('Seconds since last change', [t('time() - zookeeper_group_last_change_timestamp_seconds{%(gsel)s}', '{{group}}')], unit='s',
                         description='Time since a member last joined or left each group.'),
          ],
        },
        {
          title: 'Tasks',
          panels: [
            g.timeseries('Tasks by state', [t('zookeeper_tasks{%(sel)s}', '{{root}} {{state}}')], stack=true,
                         description='Tasks of each pool: unclaimed, claimed by a registered worker, orphaned (claimed by a worker that is gone), done.'),
            g.timeseries('Workers', [t('zookeeper_workers{%(sel)s}', '{{root}}')], description='Workers registered in each pool.'),
            g.timeseries('Tasks per worker', [t('zookeeper_worker_tasks{%(sel)s}', '{{root}} {{worker}}')], description='Tasks each worker has claimed.'),
            g.timeseries('Oldest unclaimed task', [t('zookeeper_task_oldest_unclaimed_seconds{%(sel)s}', '{{root}}')], unit='s',
                         description='How long the oldest unclaimed task of each pool has waited for a worker.'),
          ],
        },
        {
          title: 'Locks and elections',
          panels: [
            g.timeseries('Locks held', [t('zookeeper_lock_held{%(sel)s}', '{{lock}}')], description='1 while someone holds the lock.'),
            g.timeseries('Lock waiters', [t('zookeeper_lock_waiters{%(sel)s}', '{{lock}}')], description='Contenders queued behind the holder of each lock.'),
            g.timeseries('Lock held for', [t('zookeeper_lock_held_seconds{%(sel)s}', '{{lock}}')], unit='s', description='How long the current holder has held each lock.'),
            g.timeseries('Election candidates', [t('zookeeper_election_candidates{%(sel)s}', '{{election}}')], description='Candidates taking part in each application election.'),
            g.timeseries('Election has leader', [t('zookeeper_election_has_leader{%(sel)s}', '{{election}}')], description='1 while an application election has a leader.'),
            g.timeseries('Election leader changes', [events('zookeeper_election_leader_changes_total', sel, 'election', '{{election}}')],
                         description='Leader changes of each application election in each interval, also across a scrape gap.'),
          ],
        },
        {
          title: 'Split-brain',
          panels: [
            splitBrain('lock', 'zookeeper_lock_holder_info', 'zkwatch_agent_lock_held_info', 'holds'),
            splitBrain('election', 'zookeeper_election_leader_info', 'zkwatch_agent_election_leader_info', 'leads'),
          ],
        },
        {
          title: 'Config znodes and queues',
          panels: [
            g.timeseries('Znode exists', [t('zookeeper_znode_exists{%(sel)s}', '{{path}}')], description='1 while a watched configuration znode exists.'),
            g.timeseries('Znode data version', [t('zookeeper_znode_data_version{%(sel)s}', '{{path}}')], description='Data version of each watched znode; it goes up by one with every write.'),
            g.timeseries('Znode age', [t('time() - zookeeper_znode_mtime_seconds{%(sel)s}', '{{path}}')], unit='s', description='Seconds since the znode was last modified.'),
            g.timeseries('Znode changes', [events('zookeeper_znode_changes_total', sel, 'path', '{{path}}')],
                         description='Changes of each watched znode in each interval, also across a scrape gap.'),
            g.timeseries('Queue depth', [t('zookeeper_queue_depth{%(sel)s}', '{{queue}}')], description='Items waiting in each watched queue.'),
          ],
        },
      ],
    ),
  },
}
