// Everything a user is expected to override lives here. Layer overrides with
//   (import 'mixin.libsonnet') + { _config+:: { zookeeperSelector: 'job="zk"' } }
{
  _config+:: {
    // Selector for the zookeeper_exporter's series (ensemble and watch collectors).
    // The default matches both the /metrics job and the /probe job of examples/prometheus.yml.
    zookeeperSelector: 'job=~"zookeeper.*"',
    // Selectors for zkwatch's own processes.
    receiverSelector: 'job="zkwatch-receiver"',
    agentSelector: 'job="zkwatch-agent"',
    // Selector for Prometheus' own metrics (prometheus_notifications_*):
    // Prometheus must scrape itself, as examples/prometheus.yml does.
    prometheusSelector: 'job="prometheus"',

    // Labels that identify one ensemble. Every ensemble-level expression
    // aggregates by them, so one Prometheus can watch many ensembles: with
    // /probe the instance label is the probed ensemble, with /metrics it is the
    // exporter serving a fixed ensemble.
    ensembleLabels: ['job', 'instance'],
    ensembleBy:: std.join(', ', self.ensembleLabels),
    // How alert descriptions name an ensemble (Go template over the labels).
    ensembleName:: std.join('/', ['{{ $labels.%s }}' % l for l in self.ensembleLabels]),
    // The label the dashboards' "ensemble" variable selects on.
    dashboardEnsembleLabel: 'instance',

    // Severities (only critical, warning and info are used).
    criticalSeverity: 'critical',
    warningSeverity: 'warning',

    // Availability: short "for" durations.
    memberDownFor: '1m',
    exporterDownFor: '5m',
    scrapeFailingFor: '10m',
    noLeaderFor: '1m',
    multipleLeadersFor: '1m',
    quorumLostFor: '1m',
    quorumAtRiskFor: '5m',
    processMemberDownFor: '1m',
    processGroupBelowExpectedFor: '5m',

    // Follower lag: zxid transactions behind the leader.
    followerZxidLagThreshold: 1000,
    followerLaggingFor: '5m',

    // Leader elections: more than this many leader changes in leaderChangesWindow.
    leaderChangesThreshold: 3,
    leaderChangesWindow: '1h',

    // Performance.
    avgLatencyThresholdSeconds: 0.1,
    latencyFor: '10m',
    outstandingRequestsThreshold: 10,
    outstandingRequestsFor: '10m',
    pendingSyncsThreshold: 10,
    pendingSyncsFor: '10m',

    // JVM and disk. The heap alert needs ZooKeeper's Prometheus metrics
    // provider with metricsProvider.exportJvmInfo=true.
    heapUsedRatioThreshold: 0.9,
    heapFor: '15m',
    gcTimeRatioThreshold: 0.1,  // share of wall time in GC pauses
    gcFor: '15m',
    fsyncAvgThresholdSeconds: 0.2,
    fsyncFor: '10m',
    snapshotAvgThresholdSeconds: 10,
    snapshotWindow: '1h',
    electionTimeThresholdSeconds: 5,
    electionTimeWindow: '1h',
    readOnlyFor: '1m',

    // Capacity: slow warnings.
    fileDescriptorsRatioThreshold: 0.8,
    connectionsThreshold: 1000,
    watchesThreshold: 1000000,
    znodesThreshold: 1000000,
    dataSizeThresholdBytes: 1024 * 1024 * 1024,
    capacityFor: '30m',

    // Split-brain check: beliefs that processes export
    // (zkwatch_agent_lock_held_info, zkwatch_agent_election_leader_info)
    // against the holders and leaders the exporter sees. Beliefs come from
    // zkwatch_agent and from applications (Curator), so from any job.
    beliefSelector: 'job!=""',
    // Labels, beside the lock or election path, that tell ensembles apart
    // on both sides (e.g. ['cluster']); none means one lock path names one
    // lock everywhere.
    splitBrainLabels: [],
    lockBy:: std.join(', ', ['lock'] + self.splitBrainLabels),
    electionBy:: std.join(', ', ['election'] + self.splitBrainLabels),
    // Longer than a scrape interval plus the rules' evaluation, the longest
    // a normal handover or fencing shows as a mismatch (docs/runbook.md).
    splitBrainFor: '2m',

    // Watched paths (tasks, locks, elections, queues, config znodes).
    tasksOrphanedFor: '10m',
    taskUnclaimedThresholdSeconds: 600,
    lockHeldThresholdSeconds: 3600,
    electionNoLeaderFor: '5m',
    znodeMissingFor: '5m',
    queueDepthThreshold: 1000,
    queueDepthFor: '15m',
    watchNotSyncedFor: '5m',
    watchErrorsFor: '15m',
    // Session expirations plus reconnects of the exporter's own session.
    sessionFlapThreshold: 3,
    sessionFlapWindow: '30m',

    // zkwatch_receiver and zkwatch_agent.
    receiverFailureWindow: '15m',
    receiverOutboxThreshold: 100,
    receiverOutboxFor: '15m',
    receiverReloadFor: '10m',
    // A replica without ZooKeeper postpones every restart.
    receiverHADisconnectedFor: '2m',
    agentNotRegisteredFor: '5m',
    agentChildRestartsThreshold: 3,
    agentChildRestartsWindow: '1h',

    // The alerting path. A replica or agent down for longer than a restart
    // takes (seconds), yet short enough that an outage of a minute or two
    // is not missed.
    receiverDownFor: '30s',
    agentDownFor: '30s',
    // Share of sends in 5m that failed to reach every Alertmanager: any
    // by default, so that an Alertmanager down for a minute is reported.
    alertmanagerErrorRatioThreshold: 0,
    alertmanagerUnreachableFor: '1m',
    alertmanagerNotDiscoveredFor: '5m',
    // The dead man's switch: an always-firing alert (severity none) that
    // examples/alertmanager.yml routes to zkwatch_receiver every
    // watchdogRepeatInterval (its repeat_interval), and whose absence the
    // receiver's watchdog (watching the same alert name) reports.
    watchdogAlertName: 'Watchdog',
    watchdogRepeatInterval: '1m',

    // runbook_url of every alert: this pattern % the lower-cased alert name.
    runbookURLPattern: 'https://github.com/zkwatch/zkwatch/blob/main/docs/runbook.md#%s',

    // Dashboards.
    dashboardTags: ['zookeeper', 'zkwatch'],
    dashboardRefresh: '30s',
    dashboardTimeFrom: 'now-6h',
    dashboardUIDPrefix: 'zkwatch-',

    // Load (alerts/load.libsonnet). One client address with more than this
    // share of a member's connections (connections collector, top clients),
    // on members with at least this many connections, so that a quiet
    // member with a handful of clients does not page.
    clientConnectionsShareThreshold: 0.5,
    clientConnectionsShareMinConnections: 50,
    clientConnectionsShareFor: '15m',
    // A watched znode's data above this share of jute.maxbuffer
    // (zookeeper_jute_maxbuffer_bytes, 1 MiB less one byte by default).
    znodeMaxBufferShare: 0.8,
    znodeNearMaxBufferFor: '5m',
    // A watched znode (or one of its tracked children) with more children.
    tooManyChildrenThreshold: 50000,
    tooManyChildrenFor: '15m',
  },
}
